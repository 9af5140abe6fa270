package httptime

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
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

var fixed = time.Date(2019, 2, 19, 15, 50, 44, 720747000, time.Local)

const fixedBody = "Hello From Server at 2019-02-19 15:50:44.720747"

// start serves cfg (with the fixed clock unless cfg.Now is set) on 127.0.0.1:0 until the
// test ends, checking that Serve returns nil within 2 s of the cancel.
func start(t *testing.T, cfg Config) string {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return fixed }
	}
	return servertest.Serve(t, func(log *slog.Logger) kit.Server { return New(cfg, log) }).Addr
}

// conn is a raw client connection with a reader for responses.
type conn struct {
	net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(ioTimeout))
	return &conn{Conn: c, r: bufio.NewReader(c)}
}

// do sends raw request bytes and reads one response to method.
func (c *conn) do(t *testing.T, method, raw string) (*http.Response, []byte) {
	t.Helper()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatalf("send %q: %v", raw, err)
	}
	resp, err := http.ReadResponse(c.r, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("request %q: no response: %v", raw, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("request %q: reading the body: %v", raw, err)
	}
	return resp, body
}

// expectClosed reads until the server closes the connection.
func (c *conn) expectClosed(t *testing.T) {
	t.Helper()
	rest, err := io.ReadAll(c.r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v (received %s)", ioTimeout, wire.Quote(rest, 80))
	}
}

func checkPage(t *testing.T, resp *http.Response, body []byte, want string) {
	t.Helper()
	if resp.StatusCode != 200 {
		t.Fatalf("status: expected 200, got %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type: expected %q, got %q", "text/plain; charset=utf-8", ct)
	}
	if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(want)) {
		t.Errorf("Content-Length: expected %d, got %q", len(want), cl)
	}
	if string(body) != want {
		t.Errorf("body: expected %q, got %q", want, body)
	}
}

func TestGetAnyPath(t *testing.T) {
	addr := start(t, Config{})
	c := dial(t, addr)
	for _, path := range []string{"/", "/index.html", "/a/b/c?x=1&y=%20", "/%ff"} {
		resp, body := c.do(t, "GET", "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
		checkPage(t, resp, body, fixedBody)
	}
	// HTTP/1.0, no Host.
	c10 := dial(t, addr)
	resp, body := c10.do(t, "GET", "GET / HTTP/1.0\r\n\r\n")
	checkPage(t, resp, body, fixedBody)
}

func TestWithNetHTTPClientAndRealClock(t *testing.T) {
	addr := start(t, Config{Now: time.Now})
	client := &http.Client{Timeout: ioTimeout, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	before := time.Now()
	resp, err := client.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	stamp, ok := strings.CutPrefix(string(body), BodyPrefix)
	if !ok {
		t.Fatalf("body %q does not start with %q", body, BodyPrefix)
	}
	at, err := time.ParseInLocation(TimeLayout, stamp, time.Local)
	if err != nil {
		t.Fatalf("body %q: the time is not %s: %v", body, TimeLayout, err)
	}
	if d := at.Sub(before); d < -time.Millisecond || d > 2*time.Second {
		t.Fatalf("body %q is %v away from the time of the request", body, d)
	}
	if resp.ContentLength != int64(len(body)) {
		t.Fatalf("Content-Length %d, body %d bytes", resp.ContentLength, len(body))
	}
}

func TestHeadHasNoBody(t *testing.T) {
	addr := start(t, Config{})
	c := dial(t, addr)
	resp, body := c.do(t, "HEAD", "HEAD /x HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ContentType || resp.Header.Get("Content-Length") != strconv.Itoa(len(fixedBody)) || len(body) != 0 {
		t.Fatalf("HEAD: got %s %v body %q; want 200 with GET's headers and no body", resp.Status, resp.Header, body)
	}
	// Had the HEAD response carried body bytes, this response would not parse.
	resp, body = c.do(t, "GET", "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	checkPage(t, resp, body, fixedBody)
}

func TestOtherMethods405(t *testing.T) {
	addr := start(t, Config{})
	c := dial(t, addr)
	for _, m := range []string{"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "BREW"} {
		resp, _ := c.do(t, m, m+" / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: expected 405 with Allow: GET, HEAD; got %s, Allow %q", m, resp.Status, resp.Header.Get("Allow"))
		}
	}
	// HTTP-METHOD-1: and the server survives.
	resp, body := c.do(t, "GET", "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	checkPage(t, resp, body, fixedBody)
}

func TestMalformedRequestLine400(t *testing.T) {
	addr := start(t, Config{})
	for _, raw := range []string{
		"GARBAGE\r\n\r\n",
		"GET\r\n\r\n",
		"GET / HTTP/1.1 extra\r\n\r\n",
		"\xff\xfe / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
	} {
		c := dial(t, addr)
		resp, _ := c.do(t, "GET", raw)
		if resp.StatusCode != 400 {
			t.Errorf("%q: expected 400, got %s", raw, resp.Status)
		}
		c.expectClosed(t)
	}
	c := dial(t, addr)
	resp, body := c.do(t, "GET", "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	checkPage(t, resp, body, fixedBody)
}

func TestHeaderTooLarge431(t *testing.T) {
	addr := start(t, Config{MaxHeaderBytes: 1 << 10})
	c := dial(t, addr)
	// net/http allows 4 KiB over MaxHeaderBytes before it refuses.
	resp, _ := c.do(t, "GET", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("b", 16<<10)+"\r\n\r\n")
	if resp.StatusCode != 431 {
		t.Fatalf("expected 431, got %s", resp.Status)
	}
}

// A declared 4 GiB body is never read: the reply comes at once and the connection closes.
func TestHugeDeclaredBody(t *testing.T) {
	addr := start(t, Config{})
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for _, m := range []string{"GET", "POST"} {
		c := dial(t, addr)
		resp, _ := c.do(t, m, m+" / HTTP/1.1\r\nHost: x\r\nContent-Length: 4294967296\r\n\r\nsome")
		if want := map[string]int{"GET": 200, "POST": 405}[m]; resp.StatusCode != want {
			t.Errorf("%s with a 4 GiB body: expected %d, got %s", m, want, resp.Status)
		}
		c.expectClosed(t)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 4<<20 {
		t.Errorf("heap grew by %d bytes", grew)
	}
}

// HTTP-SLOW-1: a client sending its headers slowly is disconnected after read_header_timeout
// and does not block others meanwhile.
func TestSlowHeaderClientTimesOut(t *testing.T) {
	addr := start(t, Config{ReadHeaderTimeout: 200 * time.Millisecond})
	slow := dial(t, addr)
	io.WriteString(slow, "GET / HTTP/1.1\r\nHo")
	other := dial(t, addr)
	resp, body := other.do(t, "GET", "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	checkPage(t, resp, body, fixedBody)
	started := time.Now()
	slow.expectClosed(t)
	t.Logf("slow client closed %v after the other's reply", time.Since(started))
}

func TestKeepAlive(t *testing.T) {
	addr := start(t, Config{})
	c := dial(t, addr)
	for range 3 {
		resp, body := c.do(t, "GET", "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		checkPage(t, resp, body, fixedBody)
	}
	// Pipelined.
	io.WriteString(c, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: x\r\n\r\n")
	for _, m := range []string{"GET", "HEAD"} {
		resp, err := http.ReadResponse(c.r, &http.Request{Method: m})
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("pipelined %s: %v %v", m, resp, err)
		}
		io.Copy(io.Discard, resp.Body)
	}
}

func TestIdleKeepAliveClosed(t *testing.T) {
	addr := start(t, Config{Idle: 100 * time.Millisecond})
	c := dial(t, addr)
	resp, body := c.do(t, "GET", "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	checkPage(t, resp, body, fixedBody)
	c.expectClosed(t)
}

// HTTP-CONC-1: 50 concurrent GETs all succeed.
func TestFiftyConcurrentGets(t *testing.T) {
	addr := start(t, Config{})
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Go(func() {
			c, err := net.DialTimeout("tcp", addr, ioTimeout)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(ioTimeout))
			fmt.Fprintf(c, "GET /%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", i)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				errs <- err
				return
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != 200 || string(body) != fixedBody {
				errs <- fmt.Errorf("client %d: %s %q %v", i, resp.Status, body, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestResetClients(t *testing.T) {
	addr := start(t, Config{})
	for _, raw := range []string{"", "GET / HT", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"} {
		c, err := net.DialTimeout("tcp", addr, ioTimeout)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, raw)
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}
	c := dial(t, addr)
	resp, body := c.do(t, "GET", "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	checkPage(t, resp, body, fixedBody)
}

func TestShutdownWithClientsConnected(t *testing.T) {
	srv := New(Config{ShutdownGrace: 300 * time.Millisecond}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, kit.Listener{Stream: ln}) }()
	idle := dial(t, ln.Addr().String())
	idle.do(t, "GET", "GET / HTTP/1.1\r\nHost: x\r\n\r\n") // a keep-alive connection, idle
	mid := dial(t, ln.Addr().String())
	io.WriteString(mid, "GET / HTTP/1.1\r\nHo") // one in the middle of its headers
	silent := dial(t, ln.Addr().String())       // and one that has sent nothing
	_ = silent
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
	for _, c := range []*conn{idle, mid, silent} {
		c.expectClosed(t)
	}
}

func TestParseConfig(t *testing.T) {
	cfg, err := ParseConfig(map[string]string{"read_header_timeout": "1s", "max_header_bytes": "8KiB", "idle": "0s"})
	if err != nil || cfg.ReadHeaderTimeout != time.Second || cfg.MaxHeaderBytes != 8192 || cfg.Idle != 0 || cfg.Now == nil {
		t.Fatalf("got %+v, %v", cfg, err)
	}
	for _, tc := range []struct{ knob, value string }{
		{"read_header_timeout", "0s"}, {"read_timeout", "x"}, {"write_timeout", "0"},
		{"max_header_bytes", "10"}, {"shutdown_grace", "-1s"},
	} {
		_, err := ParseConfig(map[string]string{tc.knob: tc.value})
		var ke *kit.KnobError
		if !errors.As(err, &ke) || ke.Knob != tc.knob {
			t.Errorf("%s=%q: got %v, want a *kit.KnobError", tc.knob, tc.value, err)
		}
	}
	if _, err := ParseConfig(map[string]string{"settle": "1s"}); err == nil || !strings.Contains(err.Error(), "idle, max_header_bytes, read_header_timeout") {
		t.Errorf("unknown knob: got %v", err)
	}
	if Protocol.Name != "httptime" || Protocol.Port != 8080 || Protocol.Network != "tcp" {
		t.Errorf("protocol: %+v", Protocol)
	}
	if _, err := Protocol.New(nil, nil); err != nil {
		t.Errorf("Protocol.New: %v", err)
	}
	if err := New(Config{}, nil).Serve(context.Background(), kit.Listener{}); err == nil {
		t.Error("Serve with no listener: want an error")
	}
}
