// Package session is what every TCP reference client shares: a connection dialled with a
// connect timeout, sends and reads each under a deadline, framed reads through the wire
// decoders, and failures turned into one-line errors a person can act on.
package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sockspec/sockspec/wire"
)

// The kinds of failure, matched with errors.Is on an *Error.
var (
	ErrRefused = errors.New("connection refused")
	ErrTimeout = errors.New("timed out")
	ErrClosed  = errors.New("connection closed by the server")
	ErrReset   = errors.New("connection reset by the server")
)

// quoteMax bounds how many bytes of a reply an error message shows.
const quoteMax = 64

// Error is a failed connect, send or read, with what was going on.
type Error struct {
	Op   string        // "connect", "send" or "read"
	Addr string        // the server's address
	What string        // what was sent or awaited, e.g. `the reply to "Hi"`
	Kind error         // ErrRefused, ErrTimeout, ErrClosed, ErrReset, or nil
	Got  []byte        // the start of an incomplete reply (bounded)
	N    int           // the length of the incomplete reply
	Wait time.Duration // the deadline that passed, for timeouts
	Err  error         // the underlying error
}

func (e *Error) Error() string {
	var b strings.Builder
	switch e.Op {
	case "connect":
		fmt.Fprintf(&b, "connect to %s: ", e.Addr)
	case "send":
		fmt.Fprintf(&b, "send %s to %s: ", e.What, e.Addr)
	default:
		fmt.Fprintf(&b, "waiting for %s from %s: ", e.What, e.Addr)
	}
	switch {
	case e.Op == "connect" && e.Kind == ErrRefused:
		b.WriteString("connection refused (is a server listening there?)")
	case e.Op == "connect" && e.Kind == ErrTimeout:
		fmt.Fprintf(&b, "no answer within %v", e.Wait)
	case e.Op == "send" && e.Kind == ErrTimeout:
		fmt.Fprintf(&b, "the server did not take the bytes within %v (is it reading?)", e.Wait)
	case e.Kind == ErrTimeout && len(e.Got) == 0:
		fmt.Fprintf(&b, "nothing arrived within %v", e.Wait)
	case e.Kind == ErrTimeout:
		fmt.Fprintf(&b, "only %d bytes arrived within %v: %s", e.N, e.Wait, wire.Quote(e.Got, quoteMax))
	case e.Kind == ErrClosed && e.Op == "send":
		b.WriteString("the server had closed the connection")
	case e.Kind == ErrClosed && len(e.Got) == 0:
		b.WriteString("the server closed the connection without sending it")
	case e.Kind == ErrClosed:
		fmt.Fprintf(&b, "the server closed the connection in the middle of it, after %d bytes: %s", e.N, wire.Quote(e.Got, quoteMax))
	case e.Kind == ErrReset:
		b.WriteString("connection reset by the server")
	case errors.Is(e.Err, wire.ErrMalformed):
		fmt.Fprintf(&b, "bad frame: %v", e.Err)
	case errors.Is(e.Err, wire.ErrTooLong):
		fmt.Fprintf(&b, "too long: %v", e.Err)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString(e.Kind.Error())
	}
	return b.String()
}

// Unwrap lets errors.Is match both the kind and the underlying error.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Wrap classifies err (from a connect, send or read on addr) into an *Error. got holds the
// bytes of an incomplete reply, if any (it is copied and bounded).
func Wrap(op, addr, what string, wait time.Duration, got []byte, err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	e := &Error{Op: op, Addr: addr, What: what, Wait: wait, Err: err, N: len(got)}
	if len(got) > 0 {
		e.Got = bytes.Clone(got[:min(len(got), 4*quoteMax)])
	}
	var te interface{ Timeout() bool }
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.EPIPE):
		e.Kind = ErrClosed
	case errors.Is(err, syscall.ECONNREFUSED):
		e.Kind = ErrRefused
	case errors.Is(err, syscall.ECONNRESET):
		e.Kind = ErrReset
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &te) && te.Timeout():
		e.Kind = ErrTimeout
	}
	return e
}

// Timeouts are a client's deadlines.
type Timeouts struct {
	Connect time.Duration // dialling; 0 means 5 s
	IO      time.Duration // each send, and each awaited reply as a whole; 0 means 10 s
}

func (t Timeouts) connect() time.Duration {
	if t.Connect > 0 {
		return t.Connect
	}
	return 5 * time.Second
}

func (t Timeouts) io() time.Duration {
	if t.IO > 0 {
		return t.IO
	}
	return 10 * time.Second
}

// Conn is a TCP connection to a server under test, every operation under a deadline.
type Conn struct {
	c     net.Conn
	addr  string
	t     Timeouts
	stop  func() bool
	ctx   context.Context
	buf   []byte
	queue [][]byte // messages decoded but not returned yet
	later error    // a decoding error met after messages that are still queued
	extra []byte   // raw bytes read but not consumed
}

// Dial connects to addr ("host:port", IPv4 or IPv6) within t.Connect. Cancelling ctx closes
// the connection, which ends any operation in progress.
func Dial(ctx context.Context, addr string, t Timeouts) (*Conn, error) {
	d := net.Dialer{Timeout: t.connect()}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, Wrap("connect", addr, "", t.connect(), nil, err)
	}
	return newConn(ctx, c, addr, t), nil
}

func newConn(ctx context.Context, c net.Conn, addr string, t Timeouts) *Conn {
	return &Conn{c: c, addr: addr, t: t, ctx: ctx, stop: context.AfterFunc(ctx, func() { c.Close() })}
}

// Addr is the server's address as given to Dial.
func (c *Conn) Addr() string { return c.addr }

// Net is the underlying connection, for clients that read and write concurrently.
func (c *Conn) Net() net.Conn { return c.c }

// Timeout is the send and reply deadline.
func (c *Conn) Timeout() time.Duration { return c.t.io() }

// Close closes the connection.
func (c *Conn) Close() error {
	c.stop()
	return c.c.Close()
}

// CloseWrite half-closes the connection: the server reads EOF, and can still answer.
func (c *Conn) CloseWrite() error {
	if cw, ok := c.c.(interface{ CloseWrite() error }); ok {
		return c.fail("send", "the end of our input (half-close)", nil, cw.CloseWrite())
	}
	return nil
}

// fail wraps err, or returns ctx's error when the caller cancelled.
func (c *Conn) fail(op, what string, got []byte, err error) error {
	if err == nil {
		return nil
	}
	if c.ctx.Err() != nil {
		return c.ctx.Err()
	}
	return Wrap(op, c.addr, what, c.t.io(), got, err)
}

// Send writes b within the timeout. what names it in errors, e.g. `message 2 ("Hi")`.
func (c *Conn) Send(b []byte, what string) error {
	c.c.SetWriteDeadline(time.Now().Add(c.t.io()))
	_, err := c.c.Write(b)
	return c.fail("send", what, nil, err)
}

// read reads once into the connection's buffer.
func (c *Conn) read() ([]byte, error) {
	if len(c.extra) > 0 {
		p := c.extra
		c.extra = nil
		return p, nil
	}
	if c.buf == nil {
		c.buf = make([]byte, 32<<10)
	}
	n, err := c.c.Read(c.buf)
	return c.buf[:n], err
}

// ReadMessage returns the next message that dec decodes from the connection; the whole
// message must arrive within the timeout. Use one decoder per connection: messages decoded
// beyond the one returned are kept for the next call.
func (c *Conn) ReadMessage(dec wire.Decoder, what string) ([]byte, error) {
	if len(c.queue) > 0 {
		m := c.queue[0]
		c.queue = c.queue[1:]
		return m, nil
	}
	if c.later != nil {
		return nil, c.later
	}
	c.c.SetReadDeadline(time.Now().Add(c.t.io()))
	var partial []byte // a bounded copy of the incomplete frame, for errors
	for len(c.queue) == 0 {
		p, err := c.read()
		if len(p) > 0 {
			if len(partial) < 4*quoteMax {
				partial = append(partial, p[:min(len(p), 4*quoteMax)]...)
			}
			ferr := dec.Feed(p, func(m []byte) error {
				c.queue = append(c.queue, bytes.Clone(m))
				return nil
			})
			if ferr != nil {
				ferr = Wrap("read", c.addr, what, c.t.io(), nil, ferr)
				if len(c.queue) == 0 {
					return nil, ferr
				}
				c.later = ferr
				break
			}
			if dec.Pending() == 0 {
				partial = partial[:0]
			}
		}
		if err != nil && len(c.queue) == 0 {
			if dec.Pending() == 0 {
				partial = nil
			}
			err = c.fail("read", what, partial, err)
			if e, ok := err.(*Error); ok && len(partial) > 0 {
				e.N = dec.Pending() // partial is only the start
			}
			return nil, err
		}
	}
	m := c.queue[0]
	c.queue = c.queue[1:]
	return m, nil
}

// ReadFull reads exactly n bytes (an unframed reply of known length) within the timeout.
func (c *Conn) ReadFull(n int, what string) ([]byte, error) {
	c.c.SetReadDeadline(time.Now().Add(c.t.io()))
	got := make([]byte, 0, min(n, 1<<20))
	for len(got) < n {
		p, err := c.read()
		take := min(len(p), n-len(got))
		got = append(got, p[:take]...)
		if take < len(p) {
			c.extra = bytes.Clone(p[take:])
		}
		if err != nil && len(got) < n {
			return nil, c.fail("read", what, got, err)
		}
	}
	return got, nil
}

// ReadUntilClose reads until the server closes the connection, within the timeout, keeping
// at most max bytes (more is an error).
func (c *Conn) ReadUntilClose(max int, what string) ([]byte, error) {
	c.c.SetReadDeadline(time.Now().Add(c.t.io()))
	var got []byte
	for {
		p, err := c.read()
		if len(got)+len(p) > max {
			return nil, Wrap("read", c.addr, what, 0, nil, &wire.LimitError{Length: int64(len(got) + len(p)), Limit: int64(max)})
		}
		got = append(got, p...)
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return nil, c.fail("read", what, got, err)
		}
	}
}

// ReadReply reads an unframed reply: the bytes that arrive until they end with a newline,
// the server closes, or the server, having sent something, stays quiet for settle. It is how a client
// reads a protocol without framing (the seeds' recv(1024)) without cutting a reply that
// comes in pieces. Everything must arrive within the timeout; more than max bytes is an
// error. closed reports whether the server closed the connection.
func (c *Conn) ReadReply(max int, settle time.Duration, what string) (reply []byte, closed bool, err error) {
	deadline := time.Now().Add(c.t.io())
	c.c.SetReadDeadline(deadline)
	var got []byte
	for {
		p, rerr := c.read()
		if len(got)+len(p) > max {
			return nil, false, Wrap("read", c.addr, what, 0, nil, &wire.LimitError{Length: int64(len(got) + len(p)), Limit: int64(max)})
		}
		got = append(got, p...)
		switch {
		case errors.Is(rerr, io.EOF) && len(got) > 0:
			return got, true, nil
		case rerr != nil && len(got) > 0 && errors.Is(rerr, os.ErrDeadlineExceeded):
			return got, false, nil // quiet for settle (or out of time): that is the reply
		case rerr != nil:
			return nil, errors.Is(rerr, io.EOF), c.fail("read", what, got, rerr)
		case len(got) > 0 && got[len(got)-1] == '\n':
			return got, false, nil
		case len(got) > 0:
			c.c.SetReadDeadline(minTime(deadline, time.Now().Add(settle)))
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Describe names message i (from 1) of a client's messages for errors: `message 2 ("Hi")`.
func Describe(i int, msg []byte) string {
	return "message " + strconv.Itoa(i) + " (" + wire.Quote(msg, 40) + ")"
}
