package datetime

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockspec/sockspec/servers/internal/servertest"
	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const ioTimeout = 2 * time.Second

// The exercise's own example: 2019-02-19 15:50:44.720747.
var fixed = time.Date(2019, 2, 19, 15, 50, 44, 720747000, time.Local)

type running struct {
	addr string
	logs *servertest.LogBuffer
}

// start serves cfg on 127.0.0.1:0 until the test ends, checking that Serve returns nil
// within 2 s of the cancel.
func start(t *testing.T, cfg Config) running {
	t.Helper()
	s := servertest.Serve(t, func(log *slog.Logger) kit.Server { return New(cfg, log) })
	return running{addr: s.Addr, logs: s.Logs}
}

func fixedClock(cfg Config) Config {
	cfg.Now = func() time.Time { return fixed }
	return cfg
}

// ask sends req on a new connection and returns everything the server sends before closing.
func ask(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatalf("send %q: %v", req, err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("request %q: got %s, then %v (want the reply and a close within %v)", req, wire.Quote(got, 80), err, ioTimeout)
	}
	return string(got)
}

func TestOptions(t *testing.T) {
	r := start(t, fixedClock(DefaultConfig()))
	for _, tc := range []struct{ req, want string }{
		{"Date", "2019-02-19"}, // the seed client: no newline
		{"Time", "15:50:44"},
		{"Date and Time", "2019-02-19 15:50:44.720747"},
		{"DateAndTime", "2019-02-19 15:50:44.720747"},
		{"Date\n", "2019-02-19"}, // nc
		{"Time\r\n", "15:50:44"},
		{"  Date and Time \n", "2019-02-19 15:50:44.720747"},
		{"DateAndTime\nDate\n", "2019-02-19 15:50:44.720747"}, // one request per connection
	} {
		if got := ask(t, r.addr, tc.req); got != tc.want {
			t.Errorf("request %q: expected %q, got %q", tc.req, tc.want, got)
		}
	}
}

func TestUnknownOption(t *testing.T) {
	r := start(t, fixedClock(DefaultConfig()))
	for _, tc := range []struct{ req, want string }{
		{"hello", "UNKNOWN OPTION: HELLO"},
		{"date", "UNKNOWN OPTION: DATE"}, // options are case-sensitive
		{"Date and time\n", "UNKNOWN OPTION: DATE AND TIME"},
		{"straße", "UNKNOWN OPTION: STRASSE"},
		{"-1", "UNKNOWN OPTION: -1"},
		{"\n", "UNKNOWN OPTION: "},
		{"ab\xffcd\n", "UNKNOWN OPTION: AB\xffCD"},
	} {
		if got := ask(t, r.addr, tc.req); got != tc.want {
			t.Errorf("request %q: expected %q, got %q", tc.req, tc.want, got)
		}
	}
}

func TestMicrosecondsAlwaysShown(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Now = func() time.Time { return time.Date(2024, 12, 31, 23, 59, 59, 0, time.Local) }
	r := start(t, cfg)
	if got := ask(t, r.addr, "DateAndTime"); got != "2024-12-31 23:59:59.000000" {
		t.Fatalf("expected %q, got %q", "2024-12-31 23:59:59.000000", got)
	}
}

// With the real clock the reply is the current local time (the oracle allows 2 s).
func TestRealClock(t *testing.T) {
	r := start(t, Config{})
	before := time.Now()
	got := ask(t, r.addr, "Date and Time\n")
	at, err := time.ParseInLocation(DateTimeLayout, got, time.Local)
	if err != nil {
		t.Fatalf("reply %q is not %s: %v", got, DateTimeLayout, err)
	}
	if d := at.Sub(before); d < -time.Millisecond || d > 2*time.Second {
		t.Fatalf("reply %q is %v away from the time of the request", got, d)
	}
}

func TestOneByteAtATime(t *testing.T) {
	cfg := fixedClock(DefaultConfig())
	cfg.Settle = 10 * time.Second // the pauses between bytes must never end the request
	r := start(t, cfg)
	c, err := net.DialTimeout("tcp", r.addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(ioTimeout))
	for _, b := range []byte("Time\n") {
		if _, err := c.Write([]byte{b}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "15:50:44" {
		t.Fatalf("expected %q then a close, got %q, %v", "15:50:44", got, err)
	}
}

func TestHalfCloseEndsRequest(t *testing.T) {
	cfg := fixedClock(DefaultConfig())
	cfg.Settle = 10 * time.Second
	r := start(t, cfg)
	c, err := net.DialTimeout("tcp", r.addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(ioTimeout))
	c.Write([]byte("Date"))
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "2019-02-19" {
		t.Fatalf("expected %q then a close, got %q, %v", "2019-02-19", got, err)
	}
}

func TestOverlongRequestCloses(t *testing.T) {
	r := start(t, DefaultConfig())
	flood := bytes.Repeat([]byte("x"), 8<<20)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	c, err := net.DialTimeout("tcp", r.addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(ioTimeout))
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		c.Write(flood)
	}()
	n, err := io.Copy(io.Discard, c)
	<-wrote
	var ne net.Error
	if n != 0 || errors.As(err, &ne) && ne.Timeout() {
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
	if got := ask(t, r.addr, "Date"); len(got) != len(DateLayout) {
		t.Errorf("after the over-long request: got %q", got)
	}
}

func TestIdleAndSilentClients(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Idle = 100 * time.Millisecond
	r := start(t, cfg)
	for range 5 { // connect and leave, or reset
		c, err := net.DialTimeout("tcp", r.addr, ioTimeout)
		if err != nil {
			t.Fatal(err)
		}
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}
	c, err := net.DialTimeout("tcp", r.addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(ioTimeout))
	got, err := io.ReadAll(c) // sends nothing: closed after idle, with no reply
	if err != nil || len(got) != 0 {
		t.Fatalf("silent client: expected a close with nothing sent, got %q, %v", got, err)
	}
}

// DT-CONC-1: concurrent clients are all answered.
func TestConcurrentClients(t *testing.T) {
	r := start(t, fixedClock(DefaultConfig()))
	var wg sync.WaitGroup
	errs := make(chan string, 20)
	for range 20 {
		wg.Go(func() {
			c, err := net.DialTimeout("tcp", r.addr, ioTimeout)
			if err != nil {
				errs <- err.Error()
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(ioTimeout))
			c.Write([]byte("Time\n"))
			got, err := io.ReadAll(c)
			if err != nil || string(got) != "15:50:44" {
				errs <- string(got)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("a concurrent client failed: %q", e)
	}
}

func TestShutdownWithClientsConnected(t *testing.T) {
	srv := New(DefaultConfig(), nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, kit.Listener{Stream: ln}) }()
	var conns []net.Conn
	for i := range 5 {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), ioTimeout)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if i%2 == 0 {
			c.Write([]byte("Dat")) // mid-request
		}
		conns = append(conns, c)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Serve still running 2 s after cancel with clients connected")
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(ioTimeout))
		if _, err := io.ReadAll(c); err != nil && !errors.Is(err, net.ErrClosed) {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("a client was not closed at shutdown")
			}
		}
	}
}

func TestParseConfig(t *testing.T) {
	cfg, err := ParseConfig(map[string]string{"settle": "200ms", "idle": "0s", "max_line": "2KiB"})
	if err != nil || cfg.Settle != 200*time.Millisecond || cfg.Idle != 0 || cfg.MaxLine != 2048 || cfg.Now == nil {
		t.Fatalf("got %+v, %v", cfg, err)
	}
	for _, tc := range []struct{ knob, value string }{{"settle", "0"}, {"idle", "x"}, {"max_line", "-1"}} {
		_, err := ParseConfig(map[string]string{tc.knob: tc.value})
		var ke *kit.KnobError
		if !errors.As(err, &ke) || ke.Knob != tc.knob {
			t.Errorf("%s=%q: got %v, want a *kit.KnobError", tc.knob, tc.value, err)
		}
	}
	if _, err := ParseConfig(map[string]string{"per_connection": "one"}); err == nil || !strings.Contains(err.Error(), "idle, max_line, settle") {
		t.Errorf("unknown knob: got %v", err)
	}
	if Protocol.Name != "datetime" || Protocol.Port != 8085 || Protocol.Network != "tcp" {
		t.Errorf("protocol: %+v", Protocol)
	}
	if _, err := Protocol.New(nil, nil); err != nil {
		t.Errorf("Protocol.New: %v", err)
	}
	if err := New(Config{}, nil).Serve(context.Background(), kit.Listener{}); err == nil {
		t.Error("Serve with no listener: want an error")
	}
}
