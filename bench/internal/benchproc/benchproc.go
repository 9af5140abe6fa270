//go:build linux

// Package benchproc runs a benchmark's server in a process of its own and reads the CPU
// accounting (server, load generator, machine) that the benchmarks report.
package benchproc

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Proc is a server running in its own process group.
type Proc struct {
	Name string
	Addr string
	PID  int
	Stop func() // stops the group; at most 2 s for a graceful exit, then SIGKILL

	stderr *tailBuffer
}

// Stderr is the last 4 KiB the server wrote on its standard error, for failure messages.
func (p *Proc) Stderr() string { return p.stderr.String() }

// Launch starts argv (with env added to the inherited environment) in its own process group,
// waits (at most 10 s) for its "listening on ADDR" line, and stops it when tb ends if it is
// still running then. A server that needs SIGKILL fails tb.
func Launch(tb testing.TB, name string, env []string, argv ...string) *Proc {
	tb.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &firstLine{ready: make(chan struct{})}
	errs := &tailBuffer{max: 4 << 10}
	cmd.Stdout, cmd.Stderr = out, errs
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", name, err)
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
				tb.Errorf("%s did not exit within 2 s of SIGTERM\nstderr: %s", name, errs)
			}
		})
	}
	tb.Cleanup(stop)
	select {
	case <-out.ready:
	case <-exited:
		tb.Fatalf("%s exited during start-up: %v\nstderr: %s", name, cmd.ProcessState, errs)
	case <-time.After(10 * time.Second):
		tb.Fatalf("%s did not print its address within 10 s\nstderr: %s", name, errs)
	}
	addr, ok := strings.CutPrefix(out.line(), "listening on ")
	if !ok {
		tb.Fatalf("%s: want %q, got %q", name, "listening on ADDR", out.line())
	}
	return &Proc{Name: name, Addr: addr, PID: cmd.Process.Pid, Stop: stop, stderr: errs}
}

// cpuSample is a moment's CPU accounting: the server's, this process's (the load generator),
// the whole machine's busy time, and the time the server's threads waited for a CPU.
type CPUSample struct {
	at                         time.Time
	server, client, busy, runq time.Duration
}

// CPUDelta is the CPU accounting between two samples.
type CPUDelta struct {
	Wall, Server, Client, Busy, RunQ time.Duration
}

// clockTick is USER_HZ, the unit of /proc's CPU times: 100 on every Linux ABI Go supports.
const clockTick = 10 * time.Millisecond

// Sample reads the CPU accounting of process pid, of this process and of the machine.
func Sample(pid int) CPUSample {
	s := CPUSample{at: time.Now(), server: procCPU(pid), busy: machineBusy(), runq: runQueueWait(pid)}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.client = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return s
}

// Since is the accounting from t to s.
func (s CPUSample) Since(t CPUSample) CPUDelta {
	return CPUDelta{Wall: s.at.Sub(t.at), Server: s.server - t.server, Client: s.client - t.client,
		Busy: s.busy - t.busy, RunQ: s.runq - t.runq}
}

// OtherCores is the CPU used meanwhile by everything but the server and the load generator,
// in cores (other work shares this machine).
func (d CPUDelta) OtherCores() float64 {
	return max(0, (d.Busy-d.Server-d.Client).Seconds()/d.Wall.Seconds())
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
