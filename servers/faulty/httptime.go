package faulty

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sockspec/sockspec/servers/kit"
)

// HttptimeBugs lists the broken httptime servers, by name, with the bug each carries.
var HttptimeBugs = map[string]string{
	"isoformat":            "writes the time with isoformat(): a T between date and time",
	"charset-typo":         "sends Content-Type `text/plain; charset-utf-8` (seed 002's typo)",
	"wrong-content-length": "sends a Content-Length that counts only the text before the time",
	"no-content-length":    "sends no Content-Length and ends the body by closing",
	"no-head":              "answers HEAD with 501, as BaseHTTPRequestHandler without do_HEAD",
	"head-with-body":       "answers HEAD with the body too",
	"any-method":           "answers 200 whatever the method, and to a malformed request line",
	"crash-on-bad-line":    "splits the request line into exactly three words: anything else ends the whole server",
	"sequential":           "serves one connection at a time: a slow client blocks everyone",
	"sequential-keepalive": "serves one connection at a time and keeps it open for more requests (HTTP/1.1)",
	"busy-loop":            "after the response, keeps calling recv() and spins on its empty reads once the client has gone",
	"keeps-departed":       "never closes a connection",
	"crashes-non-utf8":     "decodes the request as UTF-8 without a guard: bytes that are not UTF-8 end the whole server",
}

// Httptime is a socket-level student HTTP server for the time page (HTTP/1.0, one request
// per connection unless the bug says otherwise) carrying one bug.
type Httptime struct {
	Bug string
}

// NewHttptime returns the broken httptime server, or an error for an unknown bug.
func NewHttptime(bug string) (*Httptime, error) {
	if _, ok := HttptimeBugs[bug]; !ok {
		return nil, fmt.Errorf("no faulty httptime server %q", bug)
	}
	return &Httptime{Bug: bug}, nil
}

// Serve implements kit.Server.
func (s *Httptime) Serve(ctx context.Context, l kit.Listener) error {
	ctx, stop := context.WithCancel(ctx) // stop: the whole server ends, as an uncaught exception would
	defer stop()
	model := kit.Model{Kind: "per-conn"}
	if s.Bug == "sequential" || s.Bug == "sequential-keepalive" {
		model.Kind = "sequential"
	}
	return kit.ServeTCP(ctx, l.Stream, model, kit.Discard(), func(ctx context.Context, conn net.Conn) {
		s.handle(ctx, conn, stop)
	})
}

// httpMaxHead bounds a request head; a longer one ends the connection.
const httpMaxHead = 8 << 10

func (s *Httptime) handle(ctx context.Context, conn net.Conn, stop context.CancelFunc) {
	br := bufio.NewReaderSize(conn, 1024)
	for {
		lines, ok := s.readHead(br, stop)
		if !ok {
			s.afterClient(ctx, conn)
			return
		}
		words := strings.Fields(lines[0])
		if s.Bug == "crash-on-bad-line" && len(words) != 3 {
			stop() // ValueError from `method, path, version = line.split()`, uncaught
			return
		}
		valid := len(words) == 3 && strings.HasPrefix(words[2], "HTTP/1.")
		switch {
		case !valid && s.Bug != "any-method":
			httpWrite(conn, "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nbad request\n")
			return
		case s.Bug == "any-method", words[0] == "GET", words[0] == "HEAD" && s.Bug != "no-head":
			if !s.page(conn, len(words) > 0 && words[0] == "HEAD") {
				return
			}
		default:
			httpWrite(conn, "HTTP/1.0 501 Not Implemented\r\nContent-Type: text/plain\r\nContent-Length: 16\r\nConnection: close\r\n\r\nnot implemented\n")
			return
		}
		if s.Bug != "sequential-keepalive" {
			s.afterClient(ctx, conn)
			return
		}
	}
}

// readHead reads the request line and headers, up to the blank line.
func (s *Httptime) readHead(br *bufio.Reader, stop context.CancelFunc) ([]string, bool) {
	var lines []string
	size := 0
	for {
		line, err := br.ReadSlice('\n')
		if s.Bug == "crashes-non-utf8" && !utf8.Valid(line) {
			stop() // UnicodeDecodeError, uncaught
			return nil, false
		}
		size += len(line)
		if err != nil || size > httpMaxHead {
			return nil, false
		}
		text := strings.TrimRight(string(line), "\r\n")
		if text == "" {
			if len(lines) == 0 {
				continue // an empty line before the request line
			}
			return lines, true
		}
		lines = append(lines, text)
	}
}

// page writes the time page (its head only for HEAD); false when the write failed.
func (s *Httptime) page(conn net.Conn, head bool) bool {
	now := time.Now()
	body := "Hello From Server at " + now.Format("2006-01-02 15:04:05.000000")
	if s.Bug == "isoformat" {
		body = "Hello From Server at " + now.Format("2006-01-02T15:04:05.000000")
	}
	var b strings.Builder
	if s.Bug == "sequential-keepalive" {
		b.WriteString("HTTP/1.1 200 OK\r\n")
	} else {
		b.WriteString("HTTP/1.0 200 OK\r\n")
	}
	if s.Bug == "charset-typo" {
		b.WriteString("Content-Type: text/plain; charset-utf-8\r\n")
	} else {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	}
	switch s.Bug {
	case "no-content-length":
	case "wrong-content-length":
		b.WriteString("Content-Length: " + strconv.Itoa(len("Hello From Server at ")) + "\r\n")
	default:
		b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	if s.Bug != "sequential-keepalive" {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n")
	if !head || s.Bug == "head-with-body" {
		b.WriteString(body)
	}
	return httpWrite(conn, b.String())
}

// afterClient is what the server does once its response is out (or the client has gone).
func (s *Httptime) afterClient(ctx context.Context, conn net.Conn) {
	switch s.Bug {
	case "busy-loop":
		buf := make([]byte, 1024)
		for ctx.Err() == nil { // the bug: recv() returns b'' at once, forever
			conn.Read(buf)
		}
	case "keeps-departed":
		<-ctx.Done() // the bug: the socket is never closed
	}
}

func httpWrite(conn net.Conn, s string) bool {
	conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := conn.Write([]byte(s))
	return err == nil
}
