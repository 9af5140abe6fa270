package faulty

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"unicode/utf8"

	"github.com/sockspec/sockspec/servers/kit"
)

// EchoBugs lists the broken echo servers, by name, with the bug each carries.
var EchoBugs = map[string]string{
	"utf8-roundtrip": "decodes and re-encodes every read as UTF-8: bytes that are not UTF-8 become U+FFFD",
	"echo-once":      "echoes one recv(1024) and closes",
	"line-buffered":  "echoes complete lines only, and drops an unfinished last line when the client closes",
	"busy-loop":      "never checks for an empty recv(): once the client has closed it spins, sending nothing, and never closes",
	"no-close":       "never closes a departed client's socket: it closes when the next accept() replaces it",
	"leaks-sockets":  "never closes departed clients' sockets at all",
	"global-socket":  "echoes to the most recently accepted client (a global variable) instead of its own",
	"sequential":     "serves one client at a time",
	"pool-4":         "a pool of 4 threads each calling accept(), used up by clients that stay silent",
	"prints-decoded": "decodes each read to print it: bytes that are not UTF-8 end the whole server",
}

// Echo is a seed-003-style echo server (recv(1024), a thread per client) carrying one bug.
type Echo struct {
	Bug string
}

// NewEcho returns the broken echo server, or an error for an unknown bug.
func NewEcho(bug string) (*Echo, error) {
	if _, ok := EchoBugs[bug]; !ok {
		return nil, fmt.Errorf("no faulty echo server %q", bug)
	}
	return &Echo{Bug: bug}, nil
}

// Serve implements kit.Server.
func (e *Echo) Serve(ctx context.Context, l kit.Listener) error {
	s := &upperEchoServer{model: modelOf(e.Bug), keepLast: e.Bug == "no-close", handle: e.handle}
	return s.serve(ctx, l.Stream)
}

func (e *Echo) handle(ctx context.Context, s *upperEchoServer, c net.Conn) {
	buf := make([]byte, 1024)
	var line []byte // line-buffered: the unfinished line
	for {
		n, err := c.Read(buf)
		if e.Bug == "busy-loop" && err != nil {
			// The loop has no `if not data: break`: recv() returns b'' at once, send(b'') sends nothing.
			for ctx.Err() == nil {
				c.Read(buf)
				c.Write(nil)
			}
			return
		}
		if n > 0 {
			data := buf[:n]
			switch e.Bug {
			case "utf8-roundtrip":
				data = []byte(strings.ToValidUTF8(string(data), "\uFFFD"))
			case "line-buffered":
				line = append(line, data...)
				i := bytes.LastIndexByte(line, '\n')
				data = append([]byte(nil), line[:i+1]...)
				line = append(line[:0], line[i+1:]...)
			}
			to := c
			if e.Bug == "global-socket" {
				to = s.latest()
			}
			if e.Bug == "prints-decoded" && !utf8.Valid(data) {
				s.crash() // print(data.decode()) raised UnicodeDecodeError: nothing catches it
				return
			}
			if len(data) > 0 {
				if _, werr := to.Write(data); werr != nil {
					s.close(c)
					return
				}
			}
			if e.Bug == "echo-once" {
				s.close(c)
				return
			}
		}
		if err == nil {
			continue
		}
		if e.Bug == "no-close" || e.Bug == "leaks-sockets" {
			return
		}
		s.close(c)
		return
	}
}
