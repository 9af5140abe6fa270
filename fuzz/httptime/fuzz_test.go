// Package httptimefuzz feeds the reference httptime server, in-process on 127.0.0.1, with
// fuzzer-chosen sequences of pipelined requests cut into fuzzer-chosen segments and ended in a
// fuzzer-chosen way (half-close, close, reset). The fuzz input is a small program: each
// request is well-formed (method, path, version, Connection header, an extra header chosen by
// the fuzzer), malformed in its request line, or raw fuzzer bytes. For a half-closed session a
// model written here says what must come back: every well-formed request answered correctly
// (GET: 200 and the current time page with its exact Content-Length and
// `text/plain; charset=utf-8`; HEAD: the same head, no body; other methods: 405), the
// connection closed after HTTP/1.0 or `Connection: close`, and a malformed request line
// answered 400 and closed. After raw bytes anything may come, but the server must still close
// within the deadline. The server never panics and keeps its memory bounded.
package httptimefuzz

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockspec/sockspec/fuzz/internal/fuzznet"

	"github.com/sockspec/sockspec/servers/httptime"
	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/wire"
)

const (
	maxRequests = 6
	replyWait   = 5 * time.Second
	tolerance   = 2 * time.Second
	heapLimit   = 256 << 20 // the whole fuzz process, server included
	checkMemory = 256       // sessions between two heap readings
	bodyPrefix  = "Hello From Server at "
)

var (
	startOnce sync.Once
	addr      string
	startErr  error
)

func start() {
	srv, err := httptime.Protocol.New(map[string]string{"read_header_timeout": "10s"}, kit.Discard())
	if err != nil {
		startErr = err
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		startErr = err
		return
	}
	go srv.Serve(context.Background(), kit.Listener{Stream: ln})
	addr = ln.Addr().String()
}

// Kinds of request in a session.
const (
	wellFormed = iota
	malformed  // the request line is not METHOD SP PATH SP HTTP/1.x: 400 and a close
	raw        // fuzzer bytes: any answer, then the model stops
)

type request struct {
	kind       int
	method     string
	closeAfter bool // the server closes after its response (HTTP/1.0 without keep-alive, or Connection: close)
	bytes      []byte
}

var (
	methods       = []string{"GET", "HEAD", "GET", "DELETE", "POST", "PUT", "OPTIONS", "PATCH", "BREW", "get"}
	malformedHead = []string{
		"GARBAGE\r\n\r\n",
		"GET / HTTP/1.1 extra\r\nHost: fuzz\r\n\r\n",
		"GET / HTTX/1.1\r\nHost: fuzz\r\n\r\n",
		"/ HTTP/1.1\r\nHost: fuzz\r\n\r\n",
		"GET /a b HTTP/1.1\r\nHost: fuzz\r\n\r\n",
	}
	pathChars  = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/?=&"
	valueChars = pathChars + " :;,()"
)

// program reads the fuzz input a byte at a time; past its end every byte is 0.
type program struct{ b []byte }

func (p *program) more() bool { return len(p.b) > 0 }
func (p *program) next() byte {
	if len(p.b) == 0 {
		return 0
	}
	c := p.b[0]
	p.b = p.b[1:]
	return c
}
func (p *program) text(alphabet string, n int) string {
	var s strings.Builder
	for range n {
		s.WriteByte(alphabet[int(p.next())%len(alphabet)])
	}
	return s.String()
}

// build turns the fuzz input into requests.
func build(script []byte) []request {
	p := &program{script}
	var reqs []request
	for len(reqs) < maxRequests && p.more() {
		switch op := p.next() % 8; {
		case op == 5:
			reqs = append(reqs, request{kind: malformed, bytes: []byte(malformedHead[int(p.next())%len(malformedHead)])})
		case op == 6:
			n := int(p.next() % 64)
			line := p.b[:min(n, len(p.b))]
			p.b = p.b[len(line):]
			reqs = append(reqs, request{kind: raw, bytes: append(append([]byte(nil), line...), "\r\n\r\n"...)})
		default:
			m := methods[int(p.next())%len(methods)]
			path := "/" + p.text(pathChars, int(p.next()%16))
			v := p.next()
			version := "HTTP/1.1"
			if v&1 == 1 {
				version = "HTTP/1.0"
			}
			var b strings.Builder
			fmt.Fprintf(&b, "%s %s %s\r\n", m, path, version)
			if version == "HTTP/1.1" {
				b.WriteString("Host: fuzz\r\n")
			}
			connection := []string{"", "close", "keep-alive"}[int(v>>1)%3]
			if connection != "" {
				b.WriteString("Connection: " + connection + "\r\n")
			}
			if v&8 != 0 {
				b.WriteString("X-Fuzz: " + p.text(valueChars, int(p.next()%24)) + "\r\n")
			}
			if m == "POST" || m == "PUT" || m == "PATCH" {
				b.WriteString("Content-Length: 0\r\n")
			}
			b.WriteString("\r\n")
			closeAfter := connection == "close" || version == "HTTP/1.0" && connection != "keep-alive"
			reqs = append(reqs, request{kind: wellFormed, method: m, closeAfter: closeAfter, bytes: []byte(b.String())})
		}
	}
	return reqs
}

var pageTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$`)

// judge checks the responses in out against the requests, read between sent and got.
func judge(reqs []request, out []byte, sent, got time.Time) error {
	br := bufio.NewReader(bytes.NewReader(out))
	for i, r := range reqs {
		if r.kind == raw {
			return nil // anything may follow; the close was checked
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: r.method})
		if err != nil {
			return fmt.Errorf("request %d %q: no response: %v", i+1, r.bytes, err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("request %d %q: body: %v", i+1, r.bytes, err)
		}
		if r.kind == malformed {
			if resp.StatusCode != http.StatusBadRequest {
				return fmt.Errorf("request %d %q: status %d, want 400", i+1, r.bytes, resp.StatusCode)
			}
			return atEnd(br, i+1)
		}
		if err := checkResponse(r, resp, body, sent, got); err != nil {
			return fmt.Errorf("request %d %q: %v", i+1, r.bytes, err)
		}
		if r.closeAfter {
			return atEnd(br, i+1)
		}
	}
	return atEnd(br, len(reqs))
}

// atEnd fails when bytes follow the response that should have been the last.
func atEnd(br *bufio.Reader, n int) error {
	if rest, _ := io.ReadAll(br); len(rest) > 0 {
		return fmt.Errorf("after response %d the connection should have closed; got %s", n, wire.Quote(rest, 200))
	}
	return nil
}

func checkResponse(r request, resp *http.Response, body []byte, sent, got time.Time) error {
	switch r.method {
	case "GET", "HEAD":
	default:
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
			return fmt.Errorf("status %d, Allow %q: want 405 and Allow: GET, HEAD", resp.StatusCode, resp.Header.Get("Allow"))
		}
		return nil
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d, want 200", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		return fmt.Errorf("Content-Type %q", ct)
	}
	cl := resp.Header.Get("Content-Length")
	if r.method == "HEAD" {
		if cl != fmt.Sprint(len(bodyPrefix)+26) || len(body) > 0 {
			return fmt.Errorf("HEAD: Content-Length %q and a body of %d bytes", cl, len(body))
		}
		return nil
	}
	if cl != fmt.Sprint(len(body)) {
		return fmt.Errorf("Content-Length %q for a body of %d bytes", cl, len(body))
	}
	stamp, ok := strings.CutPrefix(string(body), bodyPrefix)
	if !ok || !pageTime.MatchString(stamp) {
		return fmt.Errorf("body %s", wire.Quote(body, 100))
	}
	at, err := time.ParseInLocation("2006-01-02 15:04:05", stamp, time.Local)
	if err != nil || at.Before(sent.Add(-tolerance)) || at.After(got.Add(tolerance)) {
		return fmt.Errorf("the time %q is not within 2 s of the clock", stamp)
	}
	return nil
}

var dialer = fuzznet.Dialer{Net: 3, Timeout: replyWait}

func dial() (*net.TCPConn, error) { return dialer.Dial(addr) }

func send(c *net.TCPConn, stream, cuts []byte) { fuzznet.Send(c, stream, cuts, replyWait) }

var heap = fuzznet.HeapCheck{Every: checkMemory, Limit: heapLimit}

func checkHeap(t *testing.T) { heap.Check(t) }

// FuzzHttptime: mode chooses the ending (half-close, close, reset); cuts the segment lengths;
// script the requests (see build).
func FuzzHttptime(f *testing.F) {
	f.Add(uint8(0), []byte{}, []byte{0, 0, 0, 0})                     // GET / HTTP/1.1
	f.Add(uint8(0), []byte{3}, []byte{0, 1, 2, 'a', 'b', 0, 0, 0, 0}) // HEAD /ab, then GET
	f.Add(uint8(0), []byte{1}, []byte{0, 3, 0, 0, 5, 0})              // DELETE, then GARBAGE
	f.Add(uint8(0), []byte{}, []byte{0, 0, 0, 1, 0, 0, 0, 0})         // HTTP/1.0 closes before the second
	f.Add(uint8(0), []byte{7}, []byte{0, 0, 0, 8, 10, 'x', 'y', 6, 5, 0xff, 'G', 'E', 'T'})
	f.Add(uint8(1), []byte{0}, []byte{0, 0, 3, 2})
	f.Add(uint8(2), []byte{}, []byte{6, 3, 'a', 'b', 'c'})
	f.Fuzz(func(t *testing.T, mode uint8, cuts, script []byte) {
		startOnce.Do(start)
		if startErr != nil {
			t.Fatal(startErr)
		}
		reqs := build(script)
		var stream []byte
		for _, r := range reqs {
			stream = append(stream, r.bytes...)
		}
		c, err := dial()
		if err != nil {
			t.Fatalf("the server no longer accepts connections: %v", err)
		}
		defer c.Close()
		sent := time.Now()
		send(c, stream, cuts)
		switch mode % 3 {
		case 1:
			c.Close()
			checkHeap(t)
			return
		case 2:
			c.SetLinger(0)
			c.Close()
			checkHeap(t)
			return
		}
		c.CloseWrite()
		c.SetReadDeadline(time.Now().Add(replyWait))
		out, err := io.ReadAll(io.LimitReader(c, 1<<20))
		got := time.Now()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("no close within %v after the half-close of %s; got %s", replyWait, wire.Quote(stream, 300), wire.Quote(out, 300))
		}
		if err := judge(reqs, out, sent, got); err != nil {
			t.Fatalf("%v\nsent %s\ngot %s", err, wire.Quote(stream, 600), wire.Quote(out, 600))
		}
		checkHeap(t)
	})
}
