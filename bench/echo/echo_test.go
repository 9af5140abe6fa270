package echobench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// runLimit bounds one timed run, whatever b.N is: a server that stalls fails the benchmark
// instead of hanging it.
const runLimit = 2 * time.Minute

// BenchmarkEcho runs each case against the C yardstick and against both engines of
// servers/echo (engine=goroutines and engine=epoll), one after the other, so that all three
// see about the same load from the rest of the machine:
//
//   - rr64/conns=16, rr64/conns=128: closed-loop 64-byte request/response over that many
//     connections; reports req/s, server CPU µs per request (utime+stime from /proc/PID/stat),
//     the load generator's CPU µs per request, and the other load on the machine in cores.
//   - stream: one connection, 64 KiB writes while a second goroutine reads the echo; MB/s
//     counts one direction.
func BenchmarkEcho(b *testing.B) {
	servers := startServers(b)
	for _, conns := range []int{16, 128} {
		for _, sv := range servers {
			b.Run(fmt.Sprintf("rr64/conns=%d/%s", conns, sv.name), func(b *testing.B) {
				requestResponse(b, sv, conns, 64)
			})
		}
	}
	for _, sv := range servers {
		b.Run("stream/"+sv.name, func(b *testing.B) { stream(b, sv, 64<<10) })
	}
}

// TestServersEcho checks the harness: every server builds, starts and echoes correctly.
func TestServersEcho(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the benchmark's servers; skipped with -short")
	}
	for _, sv := range startServers(t) {
		t.Run(sv.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", sv.addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			want := make([]byte, 1<<20)
			for i := range want {
				want[i] = byte(i * 7)
			}
			go func() {
				c.Write(want)
				c.(*net.TCPConn).CloseWrite()
			}()
			got, err := io.ReadAll(c)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s: 1 MiB echo then EOF: got %d bytes, %v", sv.name, len(got), err)
			}
		})
	}
}

// server is an echo server running in its own process.
type server struct {
	name string
	addr string
	pid  int
}

// startServers builds and starts the C yardstick and servers/echo with each engine; they are
// stopped when tb ends. Without gcc or go the benchmark is skipped.
func startServers(tb testing.TB) []*server {
	tb.Helper()
	dir := tb.TempDir()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		tb.Skip("gcc not found: cannot build the C epoll yardstick (cecho/echo.c)")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goTool); err != nil {
			tb.Skip("go tool not found: cannot build cmd/echoserver")
		}
	}
	cecho := filepath.Join(dir, "cecho")
	build(tb, gcc, "-O2", "-Wall", "-o", cecho, filepath.Join("cecho", "echo.c"))
	goecho := filepath.Join(dir, "echoserver")
	build(tb, goTool, "build", "-o", goecho, "./cmd/echoserver")
	return []*server{
		launch(tb, "c-epoll", cecho),
		launch(tb, "go-goroutines", goecho, "-engine=goroutines"),
		launch(tb, "go-epoll", goecho, "-engine=epoll"),
	}
}

func build(tb testing.TB, argv ...string) {
	tb.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		tb.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

// launch starts argv in its own process group, waits (at most 10 s) for its "listening on
// ADDR" line, and stops the whole group when tb ends.
func launch(tb testing.TB, name string, argv ...string) *server {
	tb.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &firstLine{ready: make(chan struct{})}
	errs := &tailBuffer{max: 4 << 10}
	cmd.Stdout, cmd.Stderr = out, errs
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(2 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
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
	return &server{name: name, addr: addr, pid: cmd.Process.Pid}
}

// requestResponse runs b.N closed-loop request/response exchanges of size bytes, shared out
// over conns connections.
func requestResponse(b *testing.B, sv *server, conns, size int) {
	cs := make([]net.Conn, conns)
	for i := range cs {
		c, err := net.DialTimeout("tcp", sv.addr, 5*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(runLimit))
		cs[i] = c
	}
	var left atomic.Int64
	var firstErr atomic.Value
	exchange := func(c net.Conn, n *atomic.Int64) {
		req := bytes.Repeat([]byte{'r'}, size)
		resp := make([]byte, size)
		for n.Add(-1) >= 0 {
			if _, err := c.Write(req); err != nil {
				firstErr.CompareAndSwap(nil, err)
				return
			}
			if _, err := io.ReadFull(c, resp); err != nil {
				firstErr.CompareAndSwap(nil, err)
				return
			}
			if !bytes.Equal(req, resp) {
				firstErr.CompareAndSwap(nil, fmt.Errorf("echo differs: sent %q, got %q", req, resp))
				return
			}
		}
	}
	run := func(n int64) {
		left.Store(n)
		var wg sync.WaitGroup
		for _, c := range cs {
			wg.Go(func() { exchange(c, &left) })
		}
		wg.Wait()
	}
	run(int64(conns)) // warm up: every connection accepted and served once

	before := sample(sv.pid)
	b.ResetTimer()
	run(int64(b.N))
	b.StopTimer()
	after := sample(sv.pid)
	if err := firstErr.Load(); err != nil {
		b.Fatalf("%s: %v", sv.name, err)
	}
	d := after.since(before)
	n := float64(b.N)
	b.ReportMetric(n/d.wall.Seconds(), "req/s")
	b.ReportMetric(d.server.Seconds()*1e6/n, "server-µs/req")
	b.ReportMetric(d.client.Seconds()*1e6/n, "client-µs/req")
	b.ReportMetric(d.otherCores(), "other-cores")
}

// stream writes b.N chunks on one connection while reading the echo concurrently, then
// half-closes and waits for the server's EOF.
func stream(b *testing.B, sv *server, chunk int) {
	c, err := net.DialTimeout("tcp", sv.addr, 5*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(runLimit))
	out := make([]byte, chunk)
	for i := range out {
		out[i] = byte(i % 251)
	}
	in := make([]byte, chunk)
	b.SetBytes(int64(chunk))

	before := sample(sv.pid)
	b.ResetTimer()
	wrote := make(chan error, 1)
	go func() {
		for range b.N {
			if _, err := c.Write(out); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- c.(*net.TCPConn).CloseWrite()
	}()
	var got int64
	for {
		n, err := c.Read(in)
		got += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatalf("%s: read after %d bytes: %v", sv.name, got, err)
		}
	}
	b.StopTimer()
	after := sample(sv.pid)
	if err := <-wrote; err != nil {
		b.Fatalf("%s: write: %v", sv.name, err)
	}
	if want := int64(b.N) * int64(chunk); got != want {
		b.Fatalf("%s: echoed %d bytes, want %d", sv.name, got, want)
	}
	d := after.since(before)
	mb := float64(got) / 1e6
	b.ReportMetric(d.server.Seconds()*1e6/mb, "server-µs/MB")
	b.ReportMetric(d.client.Seconds()*1e6/mb, "client-µs/MB")
	b.ReportMetric(d.otherCores(), "other-cores")
}

// cpuSample is a moment's CPU accounting: the server's, this process's (the load
// generator), and the whole machine's busy time.
type cpuSample struct {
	at                   time.Time
	server, client, busy time.Duration
}

type cpuDelta struct {
	wall, server, client, busy time.Duration
}

// clockTick is USER_HZ, the unit of /proc's CPU times: 100 on every Linux ABI Go supports.
const clockTick = 10 * time.Millisecond

func sample(pid int) cpuSample {
	s := cpuSample{at: time.Now(), server: procCPU(pid), busy: machineBusy()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.client = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return s
}

func (s cpuSample) since(t cpuSample) cpuDelta {
	return cpuDelta{wall: s.at.Sub(t.at), server: s.server - t.server, client: s.client - t.client, busy: s.busy - t.busy}
}

// otherCores is the CPU used meanwhile by everything but the server and the load generator,
// in cores (other helpers share this machine).
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
