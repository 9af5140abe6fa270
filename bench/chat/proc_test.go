//go:build linux

package chatbench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serverSpec is how to start one chat server under test.
type serverSpec struct {
	name string
	env  []string // added to the inherited environment
	argv []string
}

// servers builds cmd/chatserver from this tree ("go-chat") and adds those of CHATBENCH_SERVERS,
// keeping only those CHATBENCH_ONLY names when it is set.
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

// launch starts s with extra arguments, waits (at most 10 s) for its "listening on ADDR" line,
// and stops it when tb ends if it is still running then. A server that needs SIGKILL fails tb.
func launch(tb testing.TB, s serverSpec, args ...string) *proc {
	tb.Helper()
	cmd := exec.Command(s.argv[0], append(slices.Clone(s.argv[1:]), args...)...)
	cmd.Env = append(os.Environ(), s.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &firstLine{ready: make(chan struct{})}
	errs := &tailBuffer{max: 4 << 10}
	cmd.Stdout, cmd.Stderr = out, errs
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", s.name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(2 * time.Second):
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-exited
				tb.Errorf("%s did not exit within 2 s of SIGTERM\nstderr: %s", s.name, errs)
			}
		})
	}
	tb.Cleanup(stop)
	select {
	case <-out.ready:
	case <-exited:
		tb.Fatalf("%s exited during start-up: %v\nstderr: %s", s.name, cmd.ProcessState, errs)
	case <-time.After(10 * time.Second):
		tb.Fatalf("%s did not print its address within 10 s\nstderr: %s", s.name, errs)
	}
	addr, ok := strings.CutPrefix(out.line(), "listening on ")
	if !ok {
		tb.Fatalf("%s: want %q, got %q", s.name, "listening on ADDR", out.line())
	}
	return &proc{name: s.name, addr: addr, pid: cmd.Process.Pid, stop: stop}
}

// cpuSample is a moment's CPU accounting: the server's, this process's (the load generator),
// the whole machine's busy time, and the time the server's threads waited for a CPU.
type cpuSample struct {
	at                         time.Time
	server, client, busy, runq time.Duration
}

type cpuDelta struct {
	wall, server, client, busy, runq time.Duration
}

// clockTick is USER_HZ, the unit of /proc's CPU times: 100 on every Linux ABI Go supports.
const clockTick = 10 * time.Millisecond

func sample(pid int) cpuSample {
	s := cpuSample{at: time.Now(), server: procCPU(pid), busy: machineBusy(), runq: runQueueWait(pid)}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.client = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return s
}

func (s cpuSample) since(t cpuSample) cpuDelta {
	return cpuDelta{wall: s.at.Sub(t.at), server: s.server - t.server, client: s.client - t.client,
		busy: s.busy - t.busy, runq: s.runq - t.runq}
}

// otherCores is the CPU used meanwhile by everything but the server and the load generator,
// in cores (other work shares this machine).
func (d cpuDelta) otherCores() float64 {
	return max(0, (d.busy-d.server-d.client).Seconds()/d.wall.Seconds())
}

// procCPU is a process's utime+stime, all threads, from /proc/PID/stat.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces: fields are counted after its closing parenthesis.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 { // f[0] is field 3 (state); utime and stime are fields 14 and 15
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * clockTick
}

// runQueueWait is the time the process's threads spent runnable but waiting for a CPU (second
// field of /proc/PID/task/TID/schedstat), summed over its threads: how much the machine's
// other load delayed the server.
func runQueueWait(pid int) time.Duration {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) >= 2 {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			sum += n
		}
	}
	return time.Duration(sum)
}

// machineBusy is the time all CPUs spent not idle, from the first line of /proc/stat.
func machineBusy() time.Duration {
	fh, err := os.Open("/proc/stat")
	if err != nil {
		return 0
	}
	defer fh.Close()
	line, _ := bufio.NewReader(fh).ReadString('\n')
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i == 3 || i == 4 || i >= 7 { // idle, iowait; steal, guest and guest_nice are not ours
			continue
		}
		busy += n
	}
	return time.Duration(busy) * clockTick
}

// firstLine keeps a process's first stdout line and discards the rest.
type firstLine struct {
	mu    sync.Mutex
	buf   []byte
	done  bool
	ready chan struct{}
}

func (w *firstLine) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return len(p), nil
	}
	if i := bytes.IndexByte(p, '\n'); i >= 0 {
		w.buf = append(w.buf, p[:i]...)
		w.done = true
		close(w.ready)
	} else if len(w.buf) < 1024 {
		w.buf = append(w.buf, p...)
	}
	return len(p), nil
}

func (w *firstLine) line() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (w *tailBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) > w.max {
		w.buf = append(w.buf[:0], w.buf[len(w.buf)-w.max:]...)
	}
	return len(p), nil
}

func (w *tailBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}
