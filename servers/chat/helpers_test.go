package chat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/wire"
)

// ioTimeout bounds every client read and write in the tests.
const ioTimeout = 5 * time.Second

// testServer is a chat server on 127.0.0.1:0 for one test. Cleanup cancels it, checks that
// Serve returns within 2 s, and that no goroutine is left behind.
type testServer struct {
	t      *testing.T
	addr   string
	cancel context.CancelFunc
	done   chan error
	logs   *logRecorder
	joined chan struct{} // a token each time a client joins the room
}

func startServer(t *testing.T, knobs map[string]string) *testServer {
	t.Helper()
	cfg, err := ParseConfig(knobs)
	if err != nil {
		t.Fatalf("ParseConfig(%v): %v", knobs, err)
	}
	return startConfig(t, cfg)
}

func startConfig(t *testing.T, cfg Config) *testServer {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) }) // runs last: after the server and clients closed
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logRecorder{t: t}
	s := &testServer{t: t, addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1), logs: logs,
		joined: make(chan struct{}, 1000)}
	srv := New(cfg, slog.New(logs))
	srv.joinedHook = func(*client) {
		select {
		case s.joined <- struct{}{}:
		default:
		}
	}
	go func() { s.done <- srv.Serve(ctx, kit.Listener{Stream: ln}) }()
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// stop cancels the server and waits (at most 2 s) for Serve to return.
func (s *testServer) stop() error {
	s.cancel()
	select {
	case err, ok := <-s.done:
		if ok {
			close(s.done)
		}
		if err != nil {
			return errors.New("Serve returned " + err.Error())
		}
		return nil
	case <-time.After(2 * time.Second):
		return errors.New("Serve did not return within 2 s of cancelling its context")
	}
}

// tclient is one test client.
type tclient struct {
	t    *testing.T
	conn *net.TCPConn
	name string
}

// dial connects from the loopback address ip ("" for 127.0.0.1).
func (s *testServer) dial(ip string) *tclient {
	return s.dialWith(net.Dialer{}, ip)
}

func (s *testServer) dialWith(d net.Dialer, ip string) *tclient {
	s.t.Helper()
	if ip == "" {
		ip = "127.0.0.1"
	}
	d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(ip)}
	d.Timeout = ioTimeout
	conn, err := d.Dial("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("dial %s from %s: %v", s.addr, ip, err)
	}
	c := &tclient{t: s.t, conn: conn.(*net.TCPConn), name: conn.LocalAddr().String()}
	s.t.Cleanup(func() { c.conn.Close() })
	return c
}

// port is the client's local port (what {port} shows).
func (c *tclient) port() string {
	_, p, _ := net.SplitHostPort(c.name)
	return p
}

func (c *tclient) send(s string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := c.conn.Write([]byte(s)); err != nil {
		c.t.Fatalf("%s: write %s: %v", c.name, wire.Quote([]byte(s), 60), err)
	}
}

// readN reads exactly n bytes.
func (c *tclient) readN(n int) []byte {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(ioTimeout))
	b := make([]byte, n)
	if got, err := io.ReadFull(c.conn, b); err != nil {
		c.t.Fatalf("%s: reading %d bytes: got %d (%s), then %v", c.name, n, got, wire.Quote(b[:got], 120), err)
	}
	return b
}

// expect reads len(want) bytes and compares them with want.
func (c *tclient) expect(want string) {
	c.t.Helper()
	if got := c.readN(len(want)); string(got) != want {
		c.t.Fatalf("%s: expected %s, got %s", c.name, wire.Quote([]byte(want), 120), wire.Quote(got, 120))
	}
}

// readLine reads up to and including "\n" (byte by byte: tests read little).
func (c *tclient) readLine() string {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(ioTimeout))
	var line []byte
	b := make([]byte, 1)
	for len(line) < 1<<20 {
		if _, err := c.conn.Read(b); err != nil {
			c.t.Fatalf("%s: reading a line: got %s, then %v", c.name, wire.Quote(line, 120), err)
		}
		line = append(line, b[0])
		if b[0] == '\n' {
			return string(line)
		}
	}
	c.t.Fatalf("%s: no newline in 1 MiB", c.name)
	return ""
}

// expectClosed reads (discarding) until the server closes the connection: EOF or a reset,
// within 2 s plus the time to drain what is buffered.
func (c *tclient) expectClosed(within time.Duration) {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(within))
	buf := make([]byte, 64<<10)
	for {
		_, err := c.conn.Read(buf)
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			return
		}
		c.t.Fatalf("%s: expected the server to close the connection within %v, got %v", c.name, within, err)
	}
}

// reset closes the connection with an RST.
func (c *tclient) reset() {
	c.conn.SetLinger(0)
	c.conn.Close()
}

// logRecorder is a slog handler that keeps messages (to assert on Warn/Info events) and
// forwards them to the test log.
type logRecorder struct {
	t       *testing.T
	mu      sync.Mutex
	msgs    []string
	changed chan struct{} // closed and replaced on each message
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	l.mu.Lock()
	l.msgs = append(l.msgs, b.String())
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	l.mu.Unlock()
	return nil
}

// waitFor waits until a message starting with prefix is logged; false after timeout.
func (l *logRecorder) waitFor(prefix string, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		for _, m := range l.msgs {
			if strings.HasPrefix(m, prefix) {
				l.mu.Unlock()
				return true
			}
		}
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			return false
		}
	}
}

// has reports whether a logged message starts with prefix (e.g. "WARN closed a client").
func (l *logRecorder) has(prefix string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.msgs {
		if strings.HasPrefix(m, prefix) {
			return true
		}
	}
	return false
}

func (l *logRecorder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.msgs, "\n")
}

// rawPayloads splits a raw-framing stream of relays "<ip> chunk" (chunks hold no '<') into
// the bytes relayed per sender ip, in order.
func rawPayloads(stream []byte) map[string][]byte {
	out := map[string][]byte{}
	for _, relay := range bytes.Split(stream, []byte("<"))[1:] {
		ip, chunk, _ := bytes.Cut(relay, []byte("> "))
		out[string(ip)] = append(out[string(ip)], chunk...)
	}
	return out
}

// readRawUntil reads a raw-framing stream until done(payloads) holds, under the deadline.
func (c *tclient) readRawUntil(done func(map[string][]byte) bool) map[string][]byte {
	c.t.Helper()
	p, err := c.readRaw(done)
	if err != nil {
		c.t.Fatal(err)
	}
	return p
}

// readRaw is readRawUntil for other goroutines than the test's.
func (c *tclient) readRaw(done func(map[string][]byte) bool) (map[string][]byte, error) {
	c.conn.SetReadDeadline(time.Now().Add(ioTimeout))
	var stream []byte
	buf := make([]byte, 64<<10)
	for {
		p := rawPayloads(stream)
		if done(p) {
			return p, nil
		}
		n, err := c.conn.Read(buf)
		stream = append(stream, buf[:n]...)
		if err != nil {
			return nil, fmt.Errorf("%s: reading relays: got %s, then %v", c.name, wire.Quote(stream, 200), err)
		}
	}
}
