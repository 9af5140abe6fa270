package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/sockspec/sockspec/conformance/engine"
	"github.com/sockspec/sockspec/conformance/profile"
	"github.com/sockspec/sockspec/conformance/requirements"
	"github.com/sockspec/sockspec/scenarios"
)

var listCmd = &command{
	name:    "list",
	summary: "list the requirements of PROTOCOLS.md and the specs that check them",
	usage: `Usage: sockspec list [PROTOCOL]

Prints each requirement: ID, level, its one-line text, and the specs that check it.
Without PROTOCOL, lists every protocol.`,
}

func init() {
	listCmd.run = runList
	register(listCmd)
}

func runList(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet(listCmd, stderr)
	pos, status := parseFlags(fs, args)
	if status >= 0 {
		return status
	}
	protocols := requirements.Protocols()
	if len(pos) == 1 {
		protocols = pos
	} else if len(pos) > 1 {
		fmt.Fprintln(stderr, "sockspec list: at most one PROTOCOL")
		return exitUsage
	}
	for i, proto := range protocols {
		reqs := requirements.For(proto)
		if len(reqs) <= len(requirements.For("")) {
			fmt.Fprintf(stderr, "sockspec list: unknown protocol %q (one of %s)\n", proto, strings.Join(requirements.Protocols(), ", "))
			return exitUsage
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		fmt.Fprintf(stdout, "%s\n", proto)
		specs := specTitles(proto)
		for _, r := range reqs {
			launch := ""
			if r.LaunchOnly {
				launch = " (launched targets)"
			}
			fmt.Fprintf(stdout, "  %-15s %-6s %s%s\n", r.ID, strings.ToUpper(string(r.Level)), r.Text, launch)
			titles := specs(r.ID)
			if e := engine.EngineChecks(r.ID); e != "" {
				titles = append(titles, e)
			}
			if len(titles) == 0 {
				fmt.Fprintf(stdout, "  %-15s        - no spec yet\n", "")
			}
			for _, t := range titles {
				fmt.Fprintf(stdout, "  %-15s        - %s\n", "", t)
			}
		}
	}
	return exitOK
}

// specTitles registers a protocol's specs without running them and returns a lookup.
func specTitles(proto string) func(id string) []string {
	suite, ok := scenarios.For(proto)
	if !ok {
		return func(string) []string { return nil }
	}
	prof, _ := profile.Default(proto)
	env := engine.Preview(proto, prof, suite)
	return env.SpecsOf
}
