package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sockspec/sockspec/conformance/engine"
	"github.com/sockspec/sockspec/conformance/profile"
	"github.com/sockspec/sockspec/conformance/result"
	"github.com/sockspec/sockspec/conformance/target"
	"github.com/sockspec/sockspec/scenarios"
	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/servers/registry"
)

var checkCmd = &command{
	name:    "check",
	summary: "check a server against PROTOCOLS.md, requirement by requirement",
	usage: `Usage: sockspec check PROTOCOL|all [--target HOST:PORT | --exec 'COMMAND ... {port} ...'] [flags]

Runs the conformance specs of PROTOCOL and reports one verdict per requirement ID of
PROTOCOLS.md. Without --target or --exec it checks sockspec's built-in reference server,
in-process. "all" checks every protocol's reference server and prints one line each.

--exec runs COMMAND through sh -c with {port} (and {host}) replaced by a free loopback port,
once per spec, and reads its CPU, descriptors and output. --target checks a running server
(specs that need the process are skipped unless --pid is given).

Exit status: 0 every MUST passed (and every SHOULD, with --strict); 1 otherwise;
2 usage or configuration error; 3 the target could not be started or reached.`,
}

func init() {
	checkCmd.run = runCheck
	register(checkCmd)
}

type checkFlags struct {
	target, exec, profile, labels, dir string
	pid                                int
	sets, reports                      multiFlag
	strict, verbose, reuse, noColor    bool
	seed                               int64
	scale                              float64
	startTimeout                       time.Duration
}

func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet(checkCmd, stderr)
	var f checkFlags
	fs.StringVar(&f.target, "target", "", "check a running server at HOST:PORT")
	fs.StringVar(&f.exec, "exec", "", "launch this command per spec; {port} and {host} are replaced")
	fs.StringVar(&f.dir, "dir", "", "working directory for --exec")
	fs.IntVar(&f.pid, "pid", 0, "with --target: the server's pid, for the CPU and descriptor checks")
	fs.StringVar(&f.profile, "profile", "", "a built-in profile name or a YAML profile file")
	fs.Var(&f.sets, "set", "override a profile knob: knob=value (repeatable)")
	fs.StringVar(&f.labels, "label-filter", "", "run only specs matching this Ginkgo label expression, e.g. 'must && !CHAT-LAT-1'")
	fs.BoolVar(&f.strict, "strict", false, "SHOULD failures fail the run too")
	fs.Int64Var(&f.seed, "seed", 0, "seed for every random choice (default: from the clock; printed in the report)")
	fs.Float64Var(&f.scale, "time-scale", 1, "multiply every timing threshold, for slow machines")
	fs.DurationVar(&f.startTimeout, "start-timeout", 10*time.Second, "how long a launched target may take to listen (scaled)")
	fs.Var(&f.reports, "report", "write a report: FORMAT=FILE with FORMAT json, junit or console (repeatable)")
	fs.BoolVar(&f.verbose, "verbose", false, "show Ginkgo's progress and full transcripts")
	fs.BoolVar(&f.reuse, "reuse-target", false, "keep one target for the whole run instead of a fresh one per spec")
	fs.BoolVar(&f.noColor, "no-color", false, "never colour the console output")
	pos, status := parseFlags(fs, args)
	if status >= 0 {
		return status
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "sockspec check: want exactly one PROTOCOL (one of %s, or all)\n", strings.Join(scenarios.Protocols(), ", "))
		return exitUsage
	}
	if f.target != "" && f.exec != "" {
		fmt.Fprintln(stderr, "sockspec check: give --target or --exec, not both")
		return exitUsage
	}
	if f.pid != 0 && f.target == "" {
		fmt.Fprintln(stderr, "sockspec check: --pid goes with --target")
		return exitUsage
	}
	if f.scale <= 0 {
		fmt.Fprintln(stderr, "sockspec check: --time-scale must be positive")
		return exitUsage
	}
	for _, r := range f.reports {
		if format, path, ok := strings.Cut(r, "="); !ok || path == "" || !validFormat(format) {
			fmt.Fprintf(stderr, "sockspec check: --report %q: want json=FILE, junit=FILE or console=FILE\n", r)
			return exitUsage
		}
	}
	if f.seed == 0 {
		f.seed = time.Now().UnixNano() % 1_000_000
	}
	color := !f.noColor && result.ColorEnabled(os.Stdout) && stdout == io.Writer(os.Stdout)

	protocols := pos
	if pos[0] == "all" {
		if f.target != "" || f.exec != "" {
			fmt.Fprintln(stderr, "sockspec check all: checks the built-in reference servers; give no --target or --exec")
			return exitUsage
		}
		protocols = scenarios.Protocols()
	}
	var runs []*result.Run
	start := time.Now()
	if len(protocols) == 1 {
		env, code := checkEnv(protocols[0], f, stderr)
		if code >= 0 {
			return code
		}
		suite, _ := scenarios.For(protocols[0])
		run := engine.Run(env, suite)
		runs = append(runs, run)
		result.WriteConsole(stdout, run, result.ConsoleOptions{Color: color, Verbose: f.verbose})
	} else {
		var code int
		runs, code = checkEach(protocols, args, stdout, stderr, color)
		if code >= 0 {
			return code
		}
	}
	if len(runs) > 1 {
		failed := 0
		for _, r := range runs {
			if r.ExitStatus(f.strict) != exitOK {
				failed++
			}
		}
		fmt.Fprintf(stdout, "all: %d protocols, %d passed, %d failed, in %.1fs\n",
			len(runs), len(runs)-failed, failed, time.Since(start).Seconds())
	}
	for _, r := range f.reports {
		format, path, _ := strings.Cut(r, "=")
		if err := result.WriteReport(format, path, f.strict, runs...); err != nil {
			fmt.Fprintf(stderr, "sockspec check: writing the %s report: %v\n", format, err)
			return exitFail
		}
	}
	worst := exitOK
	for _, r := range runs {
		worst = max(worst, r.ExitStatus(f.strict))
	}
	return worst
}

func validFormat(f string) bool { return f == "json" || f == "junit" || f == "console" }

// checkEnv builds the run's environment for one protocol; code >= 0 means stop with it.
func checkEnv(proto string, f checkFlags, stderr io.Writer) (*engine.Env, int) {
	if _, ok := scenarios.For(proto); !ok {
		fmt.Fprintf(stderr, "sockspec check: no conformance suite for %q (suites: %s)\n", proto, strings.Join(scenarios.Protocols(), ", "))
		return nil, exitUsage
	}
	sets, err := parseSets(f.sets)
	if err != nil {
		fmt.Fprintf(stderr, "sockspec check: %v\n", err)
		return nil, exitUsage
	}
	prof, err := profile.Load(proto, f.profile, sets)
	if err != nil {
		fmt.Fprintf(stderr, "sockspec check: %v\n", err)
		return nil, exitUsage
	}
	p, _ := registry.Lookup(proto)
	env := &engine.Env{
		Protocol: proto, Profile: prof, TimeScale: f.scale, Seed: f.seed, ReuseTarget: f.reuse,
		LabelFilter: f.labels, Verbose: f.verbose, Log: stderr, Version: versionString(),
	}
	switch {
	case f.exec != "":
		env.Starter = engine.Exec{Spec: target.Spec{
			Command: f.exec, Network: p.Network, Dir: f.dir,
			StartTimeout: time.Duration(float64(f.startTimeout) * f.scale),
			Probe:        udpProbe(proto),
		}}
	case f.target != "":
		if _, _, err := net.SplitHostPort(f.target); err != nil {
			fmt.Fprintf(stderr, "sockspec check: --target %q: want HOST:PORT\n", f.target)
			return nil, exitUsage
		}
		env.Starter = engine.Remote{Address: f.target, Network: p.Network, PID: f.pid}
	default:
		srv, err := p.New(serverKnobs(p, prof), kit.Discard())
		if err != nil {
			fmt.Fprintf(stderr, "sockspec check: the profile does not configure the reference server: %v\n", err)
			return nil, exitUsage
		}
		env.Starter = engine.InProcess{
			Name:    "built-in reference " + proto + " server",
			Network: p.Network,
			Serve: func(ctx context.Context, ln net.Listener, pc net.PacketConn) error {
				return srv.Serve(ctx, kit.Listener{Stream: ln, Packet: pc})
			},
		}
	}
	return env, -1
}

// serverKnobs passes the profile's knob values that the reference server takes, so that
// `check --set framing=lines` configures the checker and the built-in server alike.
func serverKnobs(p kit.Protocol, prof profile.Profile) map[string]string {
	defaults := map[string]string{}
	if knobs, ok := profile.Knobs(prof.Protocol); ok {
		for _, k := range knobs {
			defaults[k.Name] = k.Default
		}
	}
	out := map[string]string{}
	for _, k := range p.Knobs {
		// An empty value that is also the default means "the server's own default"
		// (max_message, directory); an empty welcome set on purpose means none.
		if v, ok := prof.Values[k.Name]; ok && (v != "" || defaults[k.Name] != "") {
			out[k.Name] = v
		}
	}
	return out
}

// udpProbe is the readiness datagram of a UDP protocol.
func udpProbe(proto string) []byte {
	if proto == "udp-upper" || proto == "udp-pong" {
		return []byte("ready?")
	}
	return nil
}

// checkEach checks several protocols, each in its own sockspec process (Ginkgo runs one suite
// per process, and separate processes keep one protocol's load out of another's CPU figures),
// a few at a time, and prints one summary line per protocol in order.
func checkEach(protocols, args []string, stdout, stderr io.Writer, color bool) ([]*result.Run, int) {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "sockspec check: cannot find my own executable: %v\n", err)
		return nil, exitUsage
	}
	dir, err := os.MkdirTemp("", "sockspec-check-")
	if err != nil {
		fmt.Fprintf(stderr, "sockspec check: %v\n", err)
		return nil, exitFail
	}
	defer os.RemoveAll(dir)
	// The same flags for each protocol, minus the positional "all" and the reports.
	var common []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "all":
		case a == "--report" || a == "-report":
			i++
		case strings.HasPrefix(a, "--report=") || strings.HasPrefix(a, "-report="):
		default:
			common = append(common, a)
		}
	}
	runs := make([]*result.Run, len(protocols))
	sem := make(chan struct{}, 3)
	var wg sync.WaitGroup
	for i, proto := range protocols {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			runs[i] = checkChild(self, dir, proto, common)
		})
	}
	wg.Wait()
	for _, r := range runs {
		result.WriteSummaryLine(stdout, r, color)
		if r.Error != "" {
			fmt.Fprintf(stdout, "  %s\n", firstLineOf(r.Error))
		}
	}
	return runs, -1
}

// checkChild runs `sockspec check PROTO` in a child process and reads its JSON report.
func checkChild(self, dir, proto string, flags []string) *result.Run {
	report := filepath.Join(dir, proto+".json")
	cmd := exec.Command(self, append([]string{"check", proto, "--report", "json=" + report, "--no-color"}, flags...)...)
	cmd.Env = append(os.Environ(), "SOCKSPEC_AS_MAIN=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	r := &result.Run{Protocol: proto}
	b, err := os.ReadFile(report)
	if err == nil {
		err = json.Unmarshal(b, r)
	}
	if err != nil {
		r.Error = fmt.Sprintf("the check of %s wrote no report (%v, %v): %s", proto, runErr, err, tail(out.String(), 400))
	}
	return r
}

func firstLineOf(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
