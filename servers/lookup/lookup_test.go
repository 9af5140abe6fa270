package lookup

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockspec/sockspec/servers/internal/servertest"
	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const ioTimeout = 2 * time.Second

type running struct {
	addr string
	logs *servertest.LogBuffer
}

// start serves knobs on 127.0.0.1:0 and stops the server when the test ends, checking that
// Serve returns nil within 2 s.
func start(t *testing.T, knobs map[string]string) running {
	t.Helper()
	cfg, err := ParseConfig(knobs)
	if err != nil {
		t.Fatalf("ParseConfig(%v): %v", knobs, err)
	}
	s := servertest.Serve(t, func(log *slog.Logger) kit.Server { return New(cfg, log) })
	return running{addr: s.Addr, logs: s.Logs}
}

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

func send(t *testing.T, c net.Conn, s string) {
	t.Helper()
	c.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := c.Write([]byte(s)); err != nil {
		t.Fatalf("send %q: %v", s, err)
	}
}

// expect reads exactly len(want) bytes and compares them.
func expect(t *testing.T, c net.Conn, want string) {
	t.Helper()
	got := make([]byte, len(want))
	c.SetReadDeadline(time.Now().Add(ioTimeout))
	n, err := io.ReadFull(c, got)
	if err != nil || string(got) != want {
		t.Fatalf("expected %q, got %s (read error: %v)", want, wire.Quote(got[:n], 80), err)
	}
}

// expectClosed reads until the server closes; it must send nothing more first.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(ioTimeout))
	rest, err := io.ReadAll(c)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection still open after %v (received %s)", ioTimeout, wire.Quote(rest, 80))
		}
	}
	if len(rest) > 0 {
		t.Fatalf("expected the server to close with nothing more, got %s", wire.Quote(rest, 80))
	}
}

func TestSeedClientNoNewline(t *testing.T) {
	r := start(t, nil)
	c := dial(t, r.addr)
	send(t, c, "John") // as the seed's client: no newline, then wait
	expect(t, c, "C45")
	// No newline came after C45: the next reply follows directly.
	send(t, c, "Adam\n")
	expect(t, c, "B23\n")
}

func TestAllNames(t *testing.T) {
	r := start(t, nil)
	c := dial(t, r.addr)
	for name, office := range map[string]string{"John": "C45", "Denise": "C44", "Phoebe": "D52", "Adam": "B23"} {
		send(t, c, name+"\n")
		expect(t, c, office+"\n")
	}
}

func TestCaseAndWhitespace(t *testing.T) {
	r := start(t, nil)
	c := dial(t, r.addr)
	for _, req := range []string{"john\n", "JOHN\n", "jOhN\n", "  John  \n", "John\r\n", "\tjohn \t\r\n"} {
		send(t, c, req)
		expect(t, c, "C45\n")
	}
}

func TestUnknownName(t *testing.T) {
	r := start(t, nil)
	c := dial(t, r.addr)
	for _, req := range []string{"Nobody\n", "\n", "Jo hn\n", "\xff\xfe\x00\n", "JOHNNY\n"} {
		send(t, c, req)
		expect(t, c, "UNKNOWN\n")
	}
	send(t, c, "Nobody")
	expect(t, c, "UNKNOWN")
	// LOOK-UNK-1: and others are still served.
	c2 := dial(t, r.addr)
	send(t, c2, "Denise\n")
	expect(t, c2, "C44\n")
}

func TestUnknownKnob(t *testing.T) {
	r := start(t, map[string]string{"unknown": "no such person"})
	c := dial(t, r.addr)
	send(t, c, "Zed\n")
	expect(t, c, "no such person\n")
}

func TestManyRequestsInOneRead(t *testing.T) {
	r := start(t, nil)
	c := dial(t, r.addr)
	send(t, c, "John\nAdam\nnobody\nDenise\nPhoebe")
	expect(t, c, "C45\nB23\nUNKNOWN\nC44\nD52")
}

func TestOneByteAtATime(t *testing.T) {
	// A long settle time: the test's pauses between bytes must never end a request early.
	r := start(t, map[string]string{"settle": "10s"})
	c := dial(t, r.addr)
	c.SetNoDelay(true)
	for _, b := range []byte("Phoebe\njohn\n") {
		send(t, c, string(b))
	}
	expect(t, c, "D52\nC45\n")
}

func TestClientHalfCloseAnswersPending(t *testing.T) {
	r := start(t, map[string]string{"settle": "10s"})
	c := dial(t, r.addr)
	send(t, c, "Adam")
	c.CloseWrite() // EOF ends the request at once, without waiting to settle
	expect(t, c, "B23")
	expectClosed(t, c)
}

func TestOnePerConnection(t *testing.T) {
	r := start(t, map[string]string{"per_connection": "one"})
	for _, tc := range []struct{ send, want string }{
		{"John\n", "C45\n"},
		{"John", "C45"}, // the seed's client
		{"John\nAdam\n", "C45\n"},
		{"nobody\n", "UNKNOWN\n"},
	} {
		c := dial(t, r.addr)
		send(t, c, tc.send)
		expect(t, c, tc.want)
		expectClosed(t, c)
	}
}

func TestDirectoryFiles(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"book.csv":  "name,office\n# staff\nAlice, A1\n\"Smith, Bob\",B2\nstraße,S3\n",
		"book.json": `{"Alice": "A1", "Smith, Bob": "B2", "straße": "S3"}`,
		"book.txt":  ` {"Alice": "A1", "Smith, Bob": "B2", "straße": "S3"}`, // sniffed as JSON
		"book":      "Alice,A1\n\"Smith, Bob\",B2\nSTRASSE,S3\n",            // sniffed as CSV
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for name := range files {
		t.Run(name, func(t *testing.T) {
			r := start(t, map[string]string{"directory": filepath.Join(dir, name)})
			c := dial(t, r.addr)
			send(t, c, "alice\nSMITH, BOB\nStrasse\nJohn\n")
			expect(t, c, "A1\nB2\nS3\nUNKNOWN\n") // the seed's names are replaced
		})
	}
}

func TestDirectoryFileErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"dup.csv":      "John,C1\njohn,C2\n",
		"fields.csv":   "John,C1,extra\n",
		"empty.csv":    "# nothing\n",
		"noname.csv":   " ,C1\n",
		"nooffice.csv": "John, \n",
		"bad.json":     `{"John": 45}`,
		"array.json":   `[["John", "C45"]]`,
		"break.json":   `{"John": "C4\n5"}`,
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := ParseConfig(map[string]string{"directory": path})
		var ke *kit.KnobError
		if !errors.As(err, &ke) || ke.Knob != "directory" {
			t.Errorf("%s: got %v, want a *kit.KnobError for directory", name, err)
			continue
		}
		t.Logf("%s: %v", name, err)
	}
	_, err := ParseConfig(map[string]string{"directory": filepath.Join(dir, "missing.csv")})
	if err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: got %v", err)
	}
}

func TestParseConfig(t *testing.T) {
	cfg, err := ParseConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PerConnection != Many || cfg.Unknown != "UNKNOWN" || len(cfg.Directory) != 4 || cfg.Settle != 50*time.Millisecond {
		t.Fatalf("defaults: %+v", cfg)
	}
	for _, tc := range []struct{ knob, value string }{
		{"per_connection", "two"}, {"settle", "0s"}, {"settle", "soon"}, {"idle", "-1s"},
		{"max_line", "0"}, {"unknown", "a\nb"},
	} {
		_, err := ParseConfig(map[string]string{tc.knob: tc.value})
		var ke *kit.KnobError
		if !errors.As(err, &ke) || ke.Knob != tc.knob {
			t.Errorf("%s=%q: got %v, want a *kit.KnobError", tc.knob, tc.value, err)
		}
	}
	_, err = ParseConfig(map[string]string{"case": "ascii"})
	if err == nil || !strings.Contains(err.Error(), "directory, idle, max_line, per_connection, settle, unknown") {
		t.Errorf("unknown knob: got %v, want the valid knobs listed", err)
	}
	if Protocol.Name != "lookup" || Protocol.Port != 8084 || Protocol.Network != "tcp" {
		t.Errorf("protocol: %+v", Protocol)
	}
	if _, err := Protocol.New(map[string]string{"per_connection": "one"}, nil); err != nil {
		t.Errorf("Protocol.New: %v", err)
	}
}

func TestOverlongRequestCloses(t *testing.T) {
	r := start(t, nil)
	flood := bytes.Repeat([]byte("x"), 8<<20)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	c := dial(t, r.addr)
	// 8 MiB with no newline: the server must close after max_line (1 KiB), not buffer it.
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		c.SetWriteDeadline(time.Now().Add(ioTimeout))
		c.Write(flood)
	}()
	c.SetReadDeadline(time.Now().Add(ioTimeout))
	n, err := io.Copy(io.Discard, c)
	<-wrote
	if n != 0 || isTimeout(err) {
		t.Fatalf("expected a close with no reply, got %d bytes, %v", n, err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 4<<20 {
		t.Errorf("heap grew by %d bytes for one over-long request", grew)
	}
	if !strings.Contains(r.logs.String(), "longer than max_line") {
		t.Errorf("no Warn for the over-long request; logs:\n%s", r.logs)
	}
	c2 := dial(t, r.addr)
	send(t, c2, "john\n")
	expect(t, c2, "C45\n")
}

func TestOverlongLineWithNewline(t *testing.T) {
	r := start(t, map[string]string{"max_line": "8"})
	c := dial(t, r.addr)
	send(t, c, "12345678\n") // exactly max_line: answered
	expect(t, c, "UNKNOWN\n")
	send(t, c, "123456789\n")
	expectClosed(t, c)
}

func TestIdleTimeout(t *testing.T) {
	r := start(t, map[string]string{"idle": "100ms"})
	c := dial(t, r.addr)
	send(t, c, "john\n")
	expect(t, c, "C45\n")
	expectClosed(t, c)
}

func TestResetAndSilentClients(t *testing.T) {
	r := start(t, nil)
	for range 5 {
		c := dial(t, r.addr)
		c.Close() // connects, sends nothing, leaves
	}
	for range 5 {
		c := dial(t, r.addr)
		send(t, c, "Joh")
		c.SetLinger(0) // close with a reset mid-request
		c.Close()
	}
	c := dial(t, r.addr)
	send(t, c, "Adam\n")
	expect(t, c, "B23\n")
}

// LOOK-CONC-1: a connected client does not stop a second one being served.
func TestConcurrentClients(t *testing.T) {
	r := start(t, map[string]string{"settle": "10s"}) // "Jo" must wait for "hn\n", however slow the test

	first := dial(t, r.addr)
	send(t, first, "Jo") // holds a half request
	second := dial(t, r.addr)
	send(t, second, "Phoebe\n")
	expect(t, second, "D52\n")
	send(t, first, "hn\n")
	expect(t, first, "C45\n")
}

func TestShutdownWithClientsConnected(t *testing.T) {
	cfg := DefaultConfig()
	srv := New(cfg, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, kit.Listener{Stream: ln}) }()
	var conns []*net.TCPConn
	for range 5 {
		c := dial(t, ln.Addr().String())
		send(t, c, "john\n")
		expect(t, c, "C45\n")
		conns = append(conns, c)
	}
	send(t, conns[0], "half") // one in the middle of a request
	started := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Serve still running 2 s after cancel with clients connected")
	}
	t.Logf("Serve returned %v after cancel", time.Since(started))
	for _, c := range conns {
		expectClosed(t, c)
	}
}

func TestServeWithoutListener(t *testing.T) {
	if err := New(Config{}, nil).Serve(context.Background(), kit.Listener{}); err == nil {
		t.Fatal("Serve with no listener: want an error")
	}
}

func TestNameKey(t *testing.T) {
	for in, want := range map[string]string{"john": "JOHN", " John\r\n": "JOHN", "straße": "STRASSE", "\xffa": "\xffA"} {
		if got := NameKey([]byte(in)); got != want {
			t.Errorf("NameKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
