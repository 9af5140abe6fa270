package faulty

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"unicode/utf8"

	"github.com/sockspec/sockspec/servers/kit"
)

// Header64Bugs lists the broken header64 servers, by name, with the bug each carries. All speak
// the seed's profile (64-byte header, `!DISCONNECT`); reply mode none unless the bug says ack.
var Header64Bugs = map[string]string{
	"one-recv-header":         "reads the header with one recv(64) and trusts it to be whole",
	"one-recv-body":           "reads the body with one recv(n) and trusts it to be whole",
	"one-read-message":        "takes one recv(2048) for one message: the first 64 bytes the header, all the rest the body",
	"empty-body-closes":       "takes the empty recv(0) of a zero-length message for the client leaving, and closes",
	"ignores-token":           "compares the body's bytes with the token's text, so the token never matches",
	"busy-loop":               "the seed's `if msg_length:` without an else: spins on the empty recv() of a departed client",
	"no-validation":           "int() of the header unguarded: a bad or negative header kills the client's thread and leaves its socket open; a huge length is waited for",
	"bad-header-kills-server": "a bad header's ValueError escapes the handler and ends the whole server",
	"utf8-kills-thread":       "decode('utf-8') unguarded: a body that is not UTF-8 kills the thread and leaves its socket open",
	"ack-per-read":            "reply mode ack, but one ack per recv() instead of one per message",
	"sequential":              "serves one client at a time",
	"keeps-departed":          "never closes the socket of a client that left",
}

const (
	h64Size   = 64
	h64Token  = "!DISCONNECT"
	h64Ack    = "Msg received"
	h64Max    = 1 << 20
	h64Chunk  = 2048     // one-read-message's recv size
	framedCap = 64 << 10 // the largest single recv() of these servers: memory stays bounded
)

// Header64 is a seed-style header64 server (one thread per client) carrying one bug.
type Header64 struct {
	Bug   string
	Reply string // "none" or "ack"
}

// NewHeader64 returns the broken header64 server, or an error for an unknown bug.
func NewHeader64(bug string) (*Header64, error) {
	if _, ok := Header64Bugs[bug]; !ok {
		return nil, fmt.Errorf("no faulty header64 server %q", bug)
	}
	reply := "none"
	if bug == "ack-per-read" {
		reply = "ack"
	}
	return &Header64{Bug: bug, Reply: reply}, nil
}

// Serve implements kit.Server.
func (s *Header64) Serve(ctx context.Context, l kit.Listener) error {
	ctx, crash := context.WithCancel(ctx) // crash: the whole server goes down
	defer crash()
	model := kit.Model{Kind: "per-conn"}
	if s.Bug == "sequential" {
		model.Kind = "sequential"
	}
	return kit.ServeTCP(ctx, l.Stream, model, kit.Discard(), func(ctx context.Context, conn net.Conn) {
		if s.Bug == "ack-per-read" {
			s.ackPerRead(ctx, conn)
			return
		}
		s.handle(ctx, conn, crash)
	})
}

// handle is the student's loop. Returning closes the connection; framedDie leaves it open
// (a thread killed by an exception, its socket still referenced by the accept loop).
func (s *Header64) handle(ctx context.Context, conn net.Conn, crash context.CancelFunc) {
	// fail is an unhandled exception: which bugs let it kill the thread, or the server.
	fail := func() {
		switch s.Bug {
		case "one-recv-header", "one-recv-body", "one-read-message", "no-validation", "utf8-kills-thread":
			framedDie(ctx)
		case "bad-header-kills-server":
			crash()
		}
	}
	for {
		var header, body []byte
		var err error
		switch s.Bug {
		case "one-recv-header", "one-read-message":
			n := h64Size
			if s.Bug == "one-read-message" {
				n = h64Chunk
			}
			header, err = framedRecv(conn, n)
			if len(header) > h64Size {
				header, body = header[:h64Size], header[h64Size:]
			}
		default:
			header, err = framedRecvAll(conn, h64Size)
		}
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return // the connection broke (reset): the thread ends and closes it
		}
		if len(header) == 0 { // recv() returned b'': the client has gone
			switch s.Bug {
			case "busy-loop":
				for ctx.Err() == nil { // the bug: `if msg_length:` and try again, forever
					conn.Read(make([]byte, h64Size))
				}
				return
			case "keeps-departed":
				framedDie(ctx)
			}
			return
		}
		if err != nil { // left in the middle of a header: recvall's EOFError
			fail()
			return
		}
		n, perr := framedInt(header)
		if perr != nil {
			fail()
			return
		}
		if n < 0 { // recv(-5) raises ValueError
			fail()
			return
		}
		if n > h64Max && s.Bug != "no-validation" {
			return
		}
		if n == 0 && s.Bug == "empty-body-closes" {
			return // the bug: recv(0) returned b'', taken for the client leaving
		}
		switch s.Bug {
		case "one-read-message": // the body is whatever came with the header
		case "one-recv-body":
			body, err = framedRecv(conn, int(n))
		default:
			body, err = framedRecvAll(conn, n)
		}
		if err != nil {
			fail()
			return
		}
		if !utf8.Valid(body) {
			fail()
			return
		}
		if s.Bug != "ignores-token" && string(body) == h64Token {
			return
		}
	}
}

// ackPerRead parses messages right but sends one ack per recv() that completed any.
func (s *Header64) ackPerRead(ctx context.Context, conn net.Conn) {
	var buf []byte
	chunk := make([]byte, framedCap)
	for {
		k, err := conn.Read(chunk)
		if k == 0 || err != nil {
			return
		}
		buf = append(buf, chunk[:k]...)
		done, token := 0, false
		for len(buf) >= h64Size {
			n, perr := framedInt(buf[:h64Size])
			if perr != nil || n < 0 || n > h64Max {
				return
			}
			if int64(len(buf)-h64Size) < n {
				break
			}
			body := buf[h64Size : h64Size+n]
			token = token || string(body) == h64Token
			buf = buf[h64Size+n:]
			done++
		}
		if done > 0 {
			conn.Write([]byte(h64Ack)) // the bug: once per read, not once per message
		}
		if token || len(buf) > h64Size+h64Max {
			return
		}
		buf = append([]byte(nil), buf...) // keep the buffer small
	}
}

// framedInt is Python's int() of a header: surrounding whitespace allowed, a sign allowed.
func framedInt(b []byte) (int64, error) {
	return strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
}

// framedRecv is Python's sock.recv(n): ONE read of at most n bytes (capped to keep memory
// bounded); b"" (nil) when the client has gone.
func framedRecv(conn net.Conn, n int) ([]byte, error) {
	if n == 0 {
		return []byte{}, nil
	}
	buf := make([]byte, min(n, framedCap))
	k, err := conn.Read(buf)
	if k > 0 {
		return buf[:k], nil
	}
	if err == io.EOF {
		return nil, nil
	}
	return nil, err
}

// framedRecvAll is the seed's recvall: reads exactly n bytes. Nothing at all before the client
// left returns nil, nil; part of them returns io.ErrUnexpectedEOF (recvall's EOFError).
// Lengths beyond framedCap are read and dropped, so a huge declared length is waited for
// without being stored.
func framedRecvAll(conn net.Conn, n int64) ([]byte, error) {
	var out []byte
	if n <= framedCap {
		out = make([]byte, 0, n)
	}
	buf := make([]byte, min(n, framedCap))
	for got := int64(0); got < n; {
		k, err := conn.Read(buf[:min(int64(len(buf)), n-got)])
		got += int64(k)
		if n <= framedCap {
			out = append(out, buf[:k]...)
		}
		if err == io.EOF {
			if got == 0 {
				return nil, nil
			}
			return out, io.ErrUnexpectedEOF
		}
		if err != nil {
			return out, err
		}
	}
	if out == nil {
		out = []byte{}
	}
	return out, nil
}

// framedDie is a thread killed by an exception: it does nothing more, and its socket stays open
// until the server stops.
func framedDie(ctx context.Context) { <-ctx.Done() }
