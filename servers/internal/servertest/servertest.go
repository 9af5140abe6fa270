// Package servertest holds what the reference servers' end-to-end tests share: a server on
// 127.0.0.1:0 with its logs captured, stopped (within 2 s) and leak-checked at the end of the
// test, and client reads and writes that fail the test with what arrived.
package servertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockspec/sockspec/servers/kit"
)

// IOTimeout bounds every client read and write in these tests.
const IOTimeout = 5 * time.Second

// Server is a server serving in a goroutine.
type Server struct {
	Addr string
	Logs *LogBuffer
	Stop func() time.Duration // cancels Serve and returns how long it took to return
}

// Start serves newServer's server on 127.0.0.1:0. At the end of the test it stops the server
// (which must return within 2 s) and checks that no goroutine is left behind; so a test (or
// subtest) starts at most one server.
func Start(t testing.TB, newServer func(log *slog.Logger) kit.Server) *Server {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) }) // registered first: runs last
	return Serve(t, newServer)
}

// Serve is Start without the per-test leak check, for packages that check leaks once in
// TestMain (goleak.VerifyTestMain) or start several servers in one test.
func Serve(t testing.TB, newServer func(log *slog.Logger) kit.Server) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &LogBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	srv := newServer(log)
	go func() { done <- srv.Serve(ctx, kit.Listener{Stream: ln}) }()
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
	return &Server{Addr: ln.Addr().String(), Logs: logs, Stop: stop}
}

// Dial connects to addr; the connection is closed at the end of the test.
func Dial(t testing.TB, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, IOTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// Write writes b under IOTimeout.
func Write(t testing.TB, c net.Conn, b []byte) {
	t.Helper()
	c.SetWriteDeadline(time.Now().Add(IOTimeout))
	if _, err := c.Write(b); err != nil {
		t.Fatalf("write %d bytes: %v", len(b), err)
	}
}

// ReadN reads exactly n bytes within timeout.
func ReadN(t testing.TB, c net.Conn, n int, timeout time.Duration) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(timeout))
	b := make([]byte, n)
	if got, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read: want %d bytes within %v, got %d (%s): %v", n, timeout, got, Quote(b[:got]), err)
	}
	return b
}

// ReadToEOF reads until the server closes (EOF or reset) within timeout, at most max bytes.
func ReadToEOF(t testing.TB, c net.Conn, max int, timeout time.Duration) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(timeout))
	b, err := io.ReadAll(io.LimitReader(c, int64(max)+1))
	if err != nil && !IsReset(err) {
		t.Fatalf("want the server to close within %v; got %d bytes (%s) then %v", timeout, len(b), Quote(b), err)
	}
	if len(b) > max {
		t.Fatalf("want at most %d bytes before the close, got more: %s", max, Quote(b))
	}
	return b
}

// IsReset reports a close by RST, which counts as a close too.
func IsReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// IsTimeout reports a deadline that expired.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Quote shows bytes safely, cut after 80 of them.
func Quote(b []byte) string {
	if len(b) > 80 {
		return fmt.Sprintf("%q...(%d bytes)", b[:80], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// LogBuffer collects log output safely from many goroutines.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
