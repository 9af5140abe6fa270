// Command sockspec serves, speaks, checks and fuzzes the socket protocols of PROTOCOLS.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one subcommand. Each lives in its own file and registers itself in init.
type command struct {
	name    string
	summary string
	usage   string // the full help text of `sockspec help NAME`
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// Exit statuses (ARCHITECTURE.md decision 8).
const (
	exitOK          = 0
	exitFail        = 1
	exitUsage       = 2
	exitUnreachable = 3
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printHelp(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-version", "--version":
		name = "version"
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "sockspec: unknown command %q\n\n", name)
		printHelp(stderr)
		return exitUsage
	}
	return c.run(args[1:], stdout, stderr)
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "sockspec serves, speaks, checks and fuzzes socket protocols.")
	fmt.Fprintln(w, "\nUsage: sockspec COMMAND [arguments]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun `sockspec help COMMAND` for a command's arguments.")
}

func init() {
	register(&command{
		name:    "help",
		summary: "explain sockspec or one of its commands",
		usage:   "Usage: sockspec help [COMMAND]",
		run: func(args []string, stdout, stderr io.Writer) int {
			if len(args) == 0 {
				printHelp(stdout)
				return exitOK
			}
			c, ok := commands[args[0]]
			if !ok {
				fmt.Fprintf(stderr, "sockspec help: unknown command %q\n", args[0])
				return exitUsage
			}
			fmt.Fprintln(stdout, strings.TrimSpace(c.usage))
			return exitOK
		},
	})
}

// newFlagSet returns a FlagSet for a subcommand that prints its usage on -h and reports
// errors to stderr. Never use flag.CommandLine: Ginkgo registers its own flags there.
func newFlagSet(c *command, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("sockspec "+c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, strings.TrimSpace(c.usage))
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and returns the exit status to use when parsing stopped the run
// (-h: 0; a bad flag: 2), or -1 to go on. Flags may come before or after positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) (positional []string, status int) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK
			}
			return nil, exitUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, -1
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), -1
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// parseSets turns repeated `--set knob=value` into a map.
func parseSets(sets []string) (map[string]string, error) {
	m := map[string]string{}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--set %q: want knob=value", s)
		}
		m[k] = v
	}
	return m, nil
}
