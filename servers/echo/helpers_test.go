package echo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockspec/sockspec/servers/kit"
)

// ioTimeout bounds every client read and write in these tests.
const ioTimeout = 5 * time.Second

// testServer is a server on 127.0.0.1:0, serving in a goroutine, with its logs captured.
type testServer struct {
	addr string
	logs *logBuffer
	stop func() time.Duration // cancels Serve and returns how long it took to return
}

// engine is a set of knobs choosing how the server serves connections; every end-to-end test
// runs once per engine (see engines).
type engine struct {
	name  string
	knobs map[string]string
}

// engines: the default, each engine by name, and the epoll engine with several loops (so that
// loops share the listener).
var engines = []engine{
	{"default", nil},
	{"goroutines", map[string]string{"engine": "goroutines"}},
	{"epoll", map[string]string{"engine": "epoll"}},
	{"epoll-3loops", map[string]string{"engine": "epoll", "loops": "3"}},
}

// eachEngine runs body as one subtest per engine.
func eachEngine(t *testing.T, body func(t *testing.T, e engine)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { body(t, e) })
	}
}

// start runs a server with the engine's knobs plus the given ones. At the end of the test it
// stops the server (which must return within 2 s) and checks that no goroutine is left behind;
// so a test (or subtest) starts at most one server.
func (e engine) start(t *testing.T, knobs map[string]string) *testServer {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) }) // registered first: runs last
	all := maps.Clone(e.knobs)
	if all == nil {
		all = map[string]string{}
	}
	maps.Copy(all, knobs)
	cfg, err := ParseConfig(all)
	if err != nil {
		t.Fatalf("ParseConfig(%v): %v", all, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(cfg, log).Serve(ctx, kit.Listener{Stream: ln}) }()
	var once sync.Once
	var took time.Duration
	stop := func() time.Duration {
		once.Do(func() {
			began := time.Now()
			cancel()
			select {
			case err := <-done:
				took = time.Since(began)
				if err != nil {
					t.Errorf("Serve returned %v, want nil", err)
				}
			case <-time.After(2 * time.Second):
				t.Fatalf("Serve did not return within 2 s of cancel; logs:\n%s", logs)
			}
		})
		return took
	}
	t.Cleanup(func() { stop() })
	return &testServer{addr: ln.Addr().String(), logs: logs, stop: stop}
}

// dial connects to addr; the connection is closed at the end of the test.
func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

func write(t *testing.T, c net.Conn, b []byte) {
	t.Helper()
	c.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := c.Write(b); err != nil {
		t.Fatalf("write %d bytes: %v", len(b), err)
	}
}

// readN reads exactly n bytes within timeout.
func readN(t *testing.T, c net.Conn, n int, timeout time.Duration) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(timeout))
	b := make([]byte, n)
	if got, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read: want %d bytes within %v, got %d (%s): %v", n, timeout, got, quote(b[:got]), err)
	}
	return b
}

// readToEOF reads until the server closes (EOF or reset) within timeout, at most max bytes.
func readToEOF(t *testing.T, c net.Conn, max int, timeout time.Duration) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(timeout))
	b, err := io.ReadAll(io.LimitReader(c, int64(max)+1))
	if err != nil && !isReset(err) {
		t.Fatalf("want the server to close within %v; got %d bytes (%s) then %v", timeout, len(b), quote(b), err)
	}
	if len(b) > max {
		t.Fatalf("want at most %d bytes before the close, got more: %s", max, quote(b))
	}
	return b
}

// isReset reports a close by RST, which counts as a close too.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// quote shows bytes safely, cut after 80 of them.
func quote(b []byte) string {
	if len(b) > 80 {
		return fmt.Sprintf("%q...(%d bytes)", b[:80], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// logBuffer collects log output safely from many goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
