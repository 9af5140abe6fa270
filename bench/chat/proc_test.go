//go:build linux

package chatbench

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockspec/sockspec/bench/internal/benchproc"
)

// serverSpec is how to start one chat server under test.
type serverSpec struct {
	name string
	env  []string // added to the inherited environment
	argv []string
}

// servers builds cmd/chatserver from this tree ("go-chat") and the C yardstick cchat/chat.c
// ("c-epoll", when gcc is there), adds those of CHATBENCH_SERVERS, and keeps only those
// CHATBENCH_ONLY names when it is set.
func servers(tb testing.TB) []serverSpec {
	tb.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goTool); err != nil {
			tb.Skip("go tool not found: cannot build cmd/chatserver")
		}
	}
	bin := filepath.Join(tb.TempDir(), "chatserver")
	if out, err := exec.Command(goTool, "build", "-o", bin, "./cmd/chatserver").CombinedOutput(); err != nil {
		tb.Fatalf("go build ./cmd/chatserver: %v\n%s", err, out)
	}
	specs := []serverSpec{{name: "go-chat", argv: []string{bin}}}
	if cbin := buildC(tb, filepath.Join("cchat", "chat.c")); cbin != "" {
		specs = append(specs, serverSpec{name: "c-epoll", argv: []string{cbin}})
	}
	for _, entry := range strings.Split(os.Getenv("CHATBENCH_SERVERS"), ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		name, cmdline, ok := strings.Cut(entry, "=")
		words := strings.Fields(cmdline)
		s := serverSpec{name: strings.TrimSpace(name)}
		for len(words) > 0 && strings.Contains(words[0], "=") && !strings.Contains(words[0], "/") {
			s.env, words = append(s.env, words[0]), words[1:]
		}
		if !ok || s.name == "" || len(words) == 0 {
			tb.Fatalf("CHATBENCH_SERVERS: want name=[VAR=value ...] /path/to/binary [args], got %q", entry)
		}
		s.argv = words
		specs = append(specs, s)
	}
	if only := os.Getenv("CHATBENCH_ONLY"); only != "" {
		keep := strings.Split(only, ",")
		specs = slices.DeleteFunc(specs, func(s serverSpec) bool { return !slices.Contains(keep, s.name) })
		if len(specs) == 0 {
			tb.Fatalf("CHATBENCH_ONLY=%q matches no server", only)
		}
	}
	return specs
}

// buildC compiles one C program of this directory with gcc into a temporary directory and
// returns the binary's path, or "" when there is no gcc.
func buildC(tb testing.TB, src string) string {
	tb.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		return ""
	}
	bin := filepath.Join(tb.TempDir(), strings.TrimSuffix(filepath.Base(src), ".c"))
	if out, err := exec.Command(gcc, "-O2", "-Wall", "-o", bin, src).CombinedOutput(); err != nil {
		tb.Fatalf("gcc %s: %v\n%s", src, err, out)
	}
	return bin
}

// roundOrder alternates the order of the servers from one round to the next (A B, B A, ...),
// so that a change of the machine's load during a round hits each of them alike.
func roundOrder(specs []serverSpec, round int) []serverSpec {
	order := slices.Clone(specs)
	if round%2 == 1 {
		slices.Reverse(order)
	}
	return order
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// proc is a server running in its own process group.
type proc struct {
	name string
	addr string
	pid  int
	stop func() // stops the group; at most 2 s for a graceful exit, then SIGKILL
}

// launch starts s with extra arguments and waits for its "listening on ADDR" line.
func launch(tb testing.TB, s serverSpec, args ...string) *proc {
	tb.Helper()
	p := benchproc.Launch(tb, s.name, s.env, append(slices.Clone(s.argv), args...)...)
	return &proc{name: p.Name, addr: p.Addr, pid: p.PID, stop: p.Stop}
}

var sample = benchproc.Sample
