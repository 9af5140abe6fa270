package main

import (
	"fmt"
	"io"

	"github.com/sockspec/sockspec/conformance/profile"
)

var profileCmd = &command{
	name:    "profile",
	summary: "show the effective profile (knob values) of a protocol",
	usage: `Usage: sockspec profile show PROTOCOL [--profile NAME|FILE] [--set knob=value ...]

Prints the effective profile as YAML, the form a profile file takes: the seed's defaults,
then the named built-in profile or the file, then the --set overrides.`,
}

func init() {
	profileCmd.run = runProfile
	register(profileCmd)
}

func runProfile(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet(profileCmd, stderr)
	source := fs.String("profile", "", "a built-in profile name or a YAML profile file")
	var sets multiFlag
	fs.Var(&sets, "set", "override a knob: knob=value (repeatable)")
	pos, status := parseFlags(fs, args)
	if status >= 0 {
		return status
	}
	if len(pos) != 2 || pos[0] != "show" {
		fmt.Fprintln(stderr, "sockspec profile: want `profile show PROTOCOL`")
		return exitUsage
	}
	m, err := parseSets(sets)
	if err != nil {
		fmt.Fprintf(stderr, "sockspec profile: %v\n", err)
		return exitUsage
	}
	p, err := profile.Load(pos[1], *source, m)
	if err != nil {
		fmt.Fprintf(stderr, "sockspec profile: %v\n", err)
		return exitUsage
	}
	fmt.Fprint(stdout, p.String())
	return exitOK
}
