package http

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockspec/sockspec/clients/internal/fakeserver"
	"github.com/sockspec/sockspec/clients/session"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// seedResponse is what the seed's http.server sends (HTTP/1.0, its header spellings).
const seedBody = "Hello From Server at 2024-01-02 03:04:05.678901"

var seedResponse = "HTTP/1.0 200 OK\r\nServer: BaseHTTP/0.6 Python/3.11.7\r\nContent-type: text/plain; charset-utf-8\r\n" +
	fmt.Sprintf("Content-length: %d\r\n\r\n", len(seedBody)) + seedBody

// canned answers every request with resp (written at once, or one byte at a time), then
// closes.
func canned(t *testing.T, resp string, drip bool, requests chan<- string) string {
	return fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
		var req []byte
		buf := make([]byte, 4096)
		for !bytes.Contains(req, []byte("\r\n\r\n")) {
			n, err := c.Read(buf)
			req = append(req, buf[:n]...)
			if err != nil {
				return
			}
		}
		if requests != nil {
			requests <- string(req)
		}
		if drip {
			fakeserver.Drip(c, []byte(resp))
		} else {
			c.Write([]byte(resp))
		}
	})
}

func cfgFor(addr string) Config {
	cfg := DefaultConfig()
	cfg.Addr = addr
	cfg.Timeouts = session.Timeouts{Connect: time.Second, IO: 300 * time.Millisecond}
	return cfg
}

func TestSeedServer(t *testing.T) {
	requests := make(chan string, 2)
	addr := canned(t, seedResponse, false, requests)
	var out bytes.Buffer
	cfg := cfgFor(addr)
	cfg.Path = "/time"
	if err := Run(context.Background(), cfg, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if out.String() != seedBody {
		t.Errorf("printed %q", out.String())
	}
	if req := <-requests; !strings.HasPrefix(req, "GET /time HTTP/1.1\r\nHost: "+addr+"\r\n") {
		t.Errorf("request %q", req)
	}

	out.Reset()
	cfg.Include = true
	if err := Run(context.Background(), cfg, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if want := strings.ReplaceAll(seedResponse, "\r\n", "\n"); out.String() != want {
		t.Errorf("with -i printed %q, want the response verbatim %q", out.String(), want)
	}
}

func TestGoServer(t *testing.T) {
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		switch r.URL.Path {
		case "/missing":
			nethttp.Error(w, "no such page", nethttp.StatusNotFound)
		case "/chunked":
			w.Write([]byte("part one, "))
			w.(nethttp.Flusher).Flush()
			w.Write([]byte("part two"))
		default:
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Write([]byte("hello " + r.Method))
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	run := func(cfg Config) (string, error) {
		var out bytes.Buffer
		err := Run(context.Background(), cfg, &out, io.Discard)
		return out.String(), err
	}
	cfg := cfgFor(addr)
	if out, err := run(cfg); err != nil || out != "hello GET" {
		t.Errorf("GET: %q, %v", out, err)
	}
	cfg.Path = "/chunked"
	if out, err := run(cfg); err != nil || out != "part one, part two" {
		t.Errorf("chunked: %q, %v", out, err)
	}
	cfg.Path = "/missing"
	out, err := run(cfg)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 404 || err.Error() != addr+" answered 404 Not Found" || out != "no such page\n" {
		t.Errorf("404: printed %q, error %v", out, err)
	}
	cfg.Path = "/"
	cfg.Head = true
	out, err = run(cfg)
	if err != nil || !strings.HasPrefix(out, "HTTP/1.1 200 OK\n") || strings.Contains(out, "hello") || !strings.HasSuffix(out, "\n\n") {
		t.Errorf("HEAD: %q, %v", out, err)
	}
}

func TestMisbehavingServers(t *testing.T) {
	cases := []struct {
		name string
		addr string
		is   error
		says string
	}{
		{"refused", fakeserver.ClosedPort(t), session.ErrRefused, "connection refused"},
		{"never answers", fakeserver.TCP(t, fakeserver.Silent), session.ErrTimeout, "waiting for the response from 127.0.0.1:"},
		{"HTTP/0.9 style body only", canned(t, "<html>Bad request</html>\n\n", false, nil), nil, `is not valid HTTP/1.x`},
		{"closes inside the headers", canned(t, "HTTP/1.0 200 OK\r\nContent-Le", false, nil), nil, `closed the connection before the end of the headers (no blank line); it sent "HTTP/1.0 200 OK\r\nContent-Le"`},
		{"short body", canned(t, "HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nHello", false, nil), nil, "ended after 5 bytes, short of the 100 its Content-Length declares"},
		{"one byte at a time", canned(t, seedResponse, true, nil), nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Run(context.Background(), cfgFor(c.addr), &out, io.Discard)
			if c.says == "" {
				if err != nil || out.String() != seedBody {
					t.Errorf("printed %q, %v", out.String(), err)
				}
				return
			}
			if err == nil {
				t.Fatal("want an error")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %q is not %v", err, c.is)
			}
			if !strings.Contains(err.Error(), c.says) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q should be one line saying %q", err, c.says)
			}
		})
	}
}

func TestParseTarget(t *testing.T) {
	for _, c := range []struct{ in, addr, path string }{
		{"", "127.0.0.1:8080", "/"},
		{"/time?x=1", "127.0.0.1:8080", "/time?x=1"},
		{"http://[::1]:9000/a", "[::1]:9000", "/a"},
		{"http://localhost", "localhost:80", "/"},
	} {
		addr, path, err := ParseTarget(c.in, "127.0.0.1:8080")
		if err != nil || addr != c.addr || path != c.path {
			t.Errorf("ParseTarget(%q) = %q, %q, %v", c.in, addr, path, err)
		}
	}
	if _, _, err := ParseTarget("https://x/", ""); err == nil {
		t.Error("https: want an error")
	}
}
