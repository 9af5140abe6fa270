package faulty

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/wire"
)

// UpperBugs lists the broken upper servers, by name, with the bug each carries.
var UpperBugs = map[string]string{
	"one-recv":          "reads once per connection (recv(4096)), answers and closes, whatever the profile's mode",
	"bytes-upper":       "upper-cases bytes, ASCII only, as Python's bytes.upper()",
	"go-toupper":        "uses simple case mapping, as Go's strings.ToUpper: ß stays ß",
	"split-replace":     "upper-cases each read on its own: the halves of a split character become U+FFFD",
	"dies-on-bad-utf8":  "the client's thread dies on bytes that are not UTF-8 and leaves its connection open",
	"crash-on-bad-utf8": "the whole server ends on bytes that are not UTF-8",
	"busy-loop":         "spins on the empty recv() of a client that closed, and never closes it",
	"closes-then-spins": "closes the socket of a client that closed, then spins on recv() errors",
	"no-close":          "never closes a departed client's socket: it closes when the next accept() replaces it",
	"leaks-sockets":     "never closes departed clients' sockets at all",
	"sequential":        "serves one client at a time",
	"pool-4":            "a pool of 4 threads each calling accept(), used up by clients that stay silent",
}

// Upper is a seed-004-style upper server (stream mode, Unicode case rule, a thread per
// client) carrying one bug.
type Upper struct {
	Bug string
}

// NewUpper returns the broken upper server, or an error for an unknown bug.
func NewUpper(bug string) (*Upper, error) {
	if _, ok := UpperBugs[bug]; !ok {
		return nil, fmt.Errorf("no faulty upper server %q", bug)
	}
	return &Upper{Bug: bug}, nil
}

// Serve implements kit.Server.
func (u *Upper) Serve(ctx context.Context, l kit.Listener) error {
	s := &upperEchoServer{model: modelOf(u.Bug), keepLast: u.Bug == "no-close", handle: u.handle}
	return s.serve(ctx, l.Stream)
}

func modelOf(bug string) string {
	if bug == "sequential" || bug == "pool-4" {
		return bug
	}
	return "per-client"
}

func (u *Upper) handle(ctx context.Context, s *upperEchoServer, c net.Conn) {
	buf := make([]byte, 4096)
	up := wire.StreamUpper{Case: wire.Unicode}
	var held []byte // go-toupper: an incomplete character carried to the next read
	for {
		n, err := c.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			var reply []byte
			switch u.Bug {
			case "bytes-upper":
				reply = wire.Upper(wire.ASCII, chunk)
			case "go-toupper":
				reply, held = simpleUpper(held, chunk)
			case "split-replace":
				reply = wire.Upper(wire.Unicode, []byte(strings.ToValidUTF8(string(chunk), "\uFFFD")))
			case "dies-on-bad-utf8":
				if !utf8.Valid(chunk) {
					return // the thread dies: nobody closes the socket
				}
				reply = wire.Upper(wire.Unicode, chunk)
			case "crash-on-bad-utf8":
				if !utf8.Valid(chunk) {
					s.crash()
					return
				}
				reply = wire.Upper(wire.Unicode, chunk)
			default:
				reply = up.Append(nil, chunk)
			}
			if len(reply) > 0 {
				if _, werr := c.Write(reply); werr != nil {
					s.close(c)
					return
				}
			}
			if u.Bug == "one-recv" {
				s.close(c)
				return
			}
		}
		if err == nil {
			continue
		}
		switch u.Bug {
		case "busy-loop":
			spin(ctx, c, buf)
			return
		case "closes-then-spins":
			s.close(c)
			spin(ctx, c, buf)
			return
		case "no-close", "leaks-sockets":
			return
		}
		if rest := append(up.Flush(nil), held...); len(rest) > 0 {
			c.Write(rest)
		}
		s.close(c)
		return
	}
}

// spin is the busy loop: read again and again although every read fails or returns nothing
// at once, until the server stops.
func spin(ctx context.Context, c net.Conn, buf []byte) {
	for ctx.Err() == nil {
		c.Read(buf)
	}
}

// simpleUpper maps each character with unicode.ToUpper (one character to one, as Go's
// strings.ToUpper), keeps bytes that are not UTF-8, and holds back an incomplete character at
// the end for the next read.
func simpleUpper(held, chunk []byte) (reply, rest []byte) {
	data := append(held, chunk...)
	cut := len(data)
	for k := 1; k <= utf8.UTFMax-1 && k <= len(data); k++ {
		if utf8.RuneStart(data[len(data)-k]) {
			if !utf8.FullRune(data[len(data)-k:]) {
				cut = len(data) - k
			}
			break
		}
	}
	for i := 0; i < cut; {
		r, size := utf8.DecodeRune(data[i:cut])
		if r == utf8.RuneError && size <= 1 {
			reply = append(reply, data[i])
			i++
			continue
		}
		reply = utf8.AppendRune(reply, unicode.ToUpper(r))
		i += size
	}
	return reply, append([]byte(nil), data[cut:]...)
}

// upperEchoServer is the student-style skeleton the faulty upper and echo servers share: an
// accept loop with a thread per client, or one client at a time, or a pool of 4 threads each
// calling accept(). The handler closes its client (with close) unless its bug says otherwise;
// every socket is closed when the server stops.
type upperEchoServer struct {
	model    string // "per-client", "sequential" or "pool-4"
	keepLast bool   // the accept loop's variable keeps the last client's socket open until the next accept
	handle   func(ctx context.Context, s *upperEchoServer, c net.Conn)

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	last  net.Conn // the most recently accepted client
	stop  context.CancelFunc
}

func (s *upperEchoServer) serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.conns = map[net.Conn]struct{}{}
	s.stop = cancel
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	}()
	var wg sync.WaitGroup
	switch s.model {
	case "sequential":
		for c := s.accept(ctx, ln); c != nil; c = s.accept(ctx, ln) {
			s.handle(ctx, s, c)
		}
	case "pool-4":
		for range 4 {
			wg.Go(func() {
				for c := s.accept(ctx, ln); c != nil; c = s.accept(ctx, ln) {
					s.handle(ctx, s, c)
				}
			})
		}
		wg.Wait() // the workers end when shutdown closes the listener and their clients
	default:
		for c := s.accept(ctx, ln); c != nil; c = s.accept(ctx, ln) {
			wg.Go(func() { s.handle(ctx, s, c) })
		}
	}
	cancel()
	wg.Wait()
	<-stopped
	return nil
}

// accept returns the next client, or nil once the listener is closed.
func (s *upperEchoServer) accept(ctx context.Context, ln net.Listener) net.Conn {
	c, err := ln.Accept()
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ctx.Err() != nil { // raced with shutdown
		c.Close()
		return nil
	}
	s.conns[c] = struct{}{}
	if s.keepLast && s.last != nil {
		s.last.Close() // the variable now names the new socket: the old one is collected
	}
	s.last = c
	return c
}

// close closes a client's socket.
func (s *upperEchoServer) close(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	c.Close()
}

// latest is the most recently accepted client.
func (s *upperEchoServer) latest() net.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// crash ends the whole server, as an uncaught exception ends a Python process.
func (s *upperEchoServer) crash() { s.stop() }
