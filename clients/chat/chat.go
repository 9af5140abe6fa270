// Package chat is the reference client of the chat protocol (PROTOCOLS.md "chat", seed 000):
// interactive (stdin lines are sent, relays are shown as they arrive) or scripted (--send,
// --expect), with the welcome message, raw or lines framing and the join script of the
// nickname variants.
package chat

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sockspec/sockspec/clients/session"
	"github.com/sockspec/sockspec/wire"
)

// Framings.
const (
	FramingRaw   = "raw"   // a message is whatever one recv returned (the seed)
	FramingLines = "lines" // a message is a line ending in "\n"
)

// Seed defaults.
const (
	DefaultWelcome = "Welcome to this chatroom!"
	DefaultRelay   = "<{ip}> {msg}"
	DefaultLinger  = 500 * time.Millisecond
)

// Config is a chat session.
type Config struct {
	Addr     string
	Timeouts session.Timeouts // IO: each send, the welcome, the join, and each expected relay
	Framing  string           // FramingRaw (default) or FramingLines
	Welcome  string           // the bytes the server sends first; "" when it sends none
	Relay    string           // the relay format, to count relays in raw framing
	Ignore   string           // regular expression for server notices not counted as relays
	Join     string           // join script run right after connecting (see ParseJoin)
	Nick     string           // {nick} in the join script
	// Scripted mode (Send or Expect set): send each of Send, then wait for Expect relays,
	// or, when Expect is 0, show what arrives for Linger; stdin is not read.
	Send       []string
	Expect     int
	Linger     time.Duration // 0 means DefaultLinger
	MaxMessage int           // longest line shown in lines framing; 0 means 64 KiB
}

// DefaultConfig is the seed's profile (c199) on its port.
func DefaultConfig() Config {
	return Config{Addr: "127.0.0.1:8000", Framing: FramingRaw, Welcome: DefaultWelcome, Relay: DefaultRelay}
}

func (c Config) maxMessage() int {
	if c.MaxMessage > 0 {
		return c.MaxMessage
	}
	return wire.DefaultMaxLine
}

// ExpectError is a scripted session that ended before the expected relays arrived.
type ExpectError struct {
	Want, Got int
	Reason    string // e.g. "nothing more arrived within 2s"
}

func (e *ExpectError) Error() string {
	return fmt.Sprintf("expected %d relayed messages, got %d: %s", e.Want, e.Got, e.Reason)
}

// WelcomeError is a scripted session whose server sent something other than the welcome first.
type WelcomeError struct {
	Want string
	Got  []byte
}

func (e *WelcomeError) Error() string {
	return fmt.Sprintf("expected the welcome %s first, got %s", strconv.Quote(e.Want), wire.Quote(e.Got, 64))
}

// chunk is one read from the server, or the error that ended reading.
type chunk struct {
	b   []byte
	err error
}

// run is one running client.
type run struct {
	cfg    Config
	conn   *session.Conn
	in     <-chan chunk
	recv   *receiver
	stdout io.Writer
	stderr io.Writer
}

// Run connects and chats until the session ends: in interactive mode when stdin ends (exit
// status nil), the server closes (a line on stderr, nil) or ctx ends (nil); in scripted mode
// when the script is done. Errors are one line.
func Run(ctx context.Context, cfg Config, stdin io.Reader, stdout, stderr io.Writer) error {
	if cfg.Framing == "" {
		cfg.Framing = FramingRaw
	}
	if cfg.Framing != FramingRaw && cfg.Framing != FramingLines {
		return fmt.Errorf("framing must be raw or lines, not %q", cfg.Framing)
	}
	steps, err := ParseJoin(cfg.Join)
	if err != nil {
		return err
	}
	if usesNick(steps) && cfg.Nick == "" {
		return errors.New("the join script sends {nick}: give a nickname (--nick)")
	}
	recv, err := newReceiver(cfg, stdout)
	if err != nil {
		return err
	}
	conn, err := session.Dial(ctx, cfg.Addr, cfg.Timeouts)
	if err != nil {
		return err
	}
	in, stopReader := readChunks(conn.Net())
	defer func() {
		conn.Close()
		stopReader()
	}()
	r := &run{cfg: cfg, conn: conn, in: in, recv: recv, stdout: stdout, stderr: stderr}
	if err := r.join(ctx, steps); err != nil {
		return err
	}
	if len(cfg.Send) > 0 || cfg.Expect > 0 {
		return r.script(ctx)
	}
	return r.interactive(ctx, stdin)
}

// readChunks reads the connection in a goroutine. stop waits for it to end; the caller must
// close the connection first.
func readChunks(c net.Conn) (<-chan chunk, func()) {
	out := make(chan chunk, 8)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			buf := make([]byte, 4096)
			n, err := c.Read(buf)
			if n > 0 {
				select {
				case out <- chunk{b: buf[:n]}:
				case <-done:
					return
				}
			}
			if err != nil {
				select {
				case out <- chunk{err: err}:
				case <-done:
				}
				return
			}
		}
	})
	return out, func() {
		close(done)
		wg.Wait()
	}
}

// next waits for the next chunk for at most wait. A nil chunk means the wait passed.
func (r *run) next(ctx context.Context, wait time.Duration) (*chunk, error) {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case c := <-r.in:
		return &c, nil
	case <-t.C:
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// readErr turns the error that ended reading into a session error; EOF stays io.EOF.
func (r *run) readErr(err error, what string) error {
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	return session.Wrap("read", r.conn.Addr(), what, 0, nil, err)
}

// fill replaces {nick}, {ip} and {port} with the client's own.
func (r *run) fill(s string) string {
	ip, port := "", ""
	if ap, ok := r.conn.Net().LocalAddr().(*net.TCPAddr); ok {
		ip, port = ap.IP.String(), strconv.Itoa(ap.Port)
	}
	return strings.NewReplacer("{nick}", r.cfg.Nick, "{ip}", ip, "{port}", port).Replace(s)
}

// join runs the join script: each expect step waits (within the timeout) until the server
// has sent its text; what came with it is shown.
func (r *run) join(ctx context.Context, steps []Step) error {
	var got []byte
	for i, s := range steps {
		text := r.fill(s.Text)
		if !s.Expect {
			if err := r.conn.Send([]byte(text), fmt.Sprintf("join step %d (%s)", i+1, wire.Quote([]byte(text), 40))); err != nil {
				return err
			}
			continue
		}
		what := fmt.Sprintf("%s (join step %d)", strconv.Quote(text), i+1)
		deadline := time.Now().Add(r.conn.Timeout())
		for {
			if k := bytes.Index(got, []byte(text)); k >= 0 {
				seen := got[:k+len(text)]
				fmt.Fprintf(r.stdout, "%s\n", bytes.TrimRight(seen, "\r\n"))
				r.recv.sawInJoin(seen)
				got = got[k+len(text):]
				break
			}
			if len(got) > 64<<10 {
				return fmt.Errorf("waiting for %s: 64 KiB arrived without it: %s", what, wire.Quote(got, 64))
			}
			c, err := r.next(ctx, time.Until(deadline))
			switch {
			case err != nil:
				return err
			case c == nil:
				return session.Wrap("read", r.conn.Addr(), what, r.conn.Timeout(), got, errTimeout)
			case c.err != nil:
				return session.Wrap("read", r.conn.Addr(), what, 0, got, c.err)
			}
			got = append(got, c.b...)
		}
	}
	if len(got) > 0 {
		return r.recv.feed(got)
	}
	return nil
}

// errTimeout is a wait that passed; session.Wrap classifies it as a timeout.
var errTimeout = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string { return "timed out" }
func (timeoutError) Timeout() bool { return true }

// script runs the scripted mode.
func (r *run) script(ctx context.Context) error {
	wait := r.conn.Timeout()
	if !r.recv.welcomeDone {
		what := "the welcome " + strconv.Quote(r.cfg.Welcome)
		deadline := time.Now().Add(wait)
		for !r.recv.welcomeDone {
			c, err := r.next(ctx, time.Until(deadline))
			switch {
			case err != nil:
				return err
			case c == nil:
				return session.Wrap("read", r.conn.Addr(), what, wait, r.recv.head, errTimeout)
			case c.err != nil:
				return session.Wrap("read", r.conn.Addr(), what, 0, r.recv.head, c.err)
			}
			if err := r.recv.feed(c.b); err != nil {
				return err
			}
		}
	}
	if !r.recv.welcomeSeen && r.cfg.Welcome != "" {
		return &WelcomeError{Want: r.cfg.Welcome, Got: r.recv.firstBytes}
	}
	for i, m := range r.cfg.Send {
		b := []byte(m)
		if r.cfg.Framing == FramingLines {
			b = wire.AppendLine(nil, b)
		}
		if err := r.conn.Send(b, session.Describe(i+1, []byte(m))); err != nil {
			return err
		}
	}
	if r.cfg.Expect <= 0 {
		linger := r.cfg.Linger
		if linger <= 0 {
			linger = DefaultLinger
		}
		deadline := time.Now().Add(linger)
		for {
			c, err := r.next(ctx, time.Until(deadline))
			switch {
			case err != nil:
				return err
			case c == nil:
				r.recv.flush()
				return nil
			case c.err != nil:
				r.recv.flush()
				if err := r.readErr(c.err, "relayed messages"); err != io.EOF {
					return err
				}
				fmt.Fprintln(r.stderr, "the server closed the connection")
				return nil
			}
			if err := r.recv.feed(c.b); err != nil {
				return err
			}
		}
	}
	for r.recv.relays < r.cfg.Expect {
		c, err := r.next(ctx, wait)
		switch {
		case err != nil:
			return err
		case c == nil:
			r.recv.flush()
			return &ExpectError{Want: r.cfg.Expect, Got: r.recv.relays, Reason: fmt.Sprintf("nothing more arrived within %v", wait)}
		case c.err != nil:
			r.recv.flush()
			if err := r.readErr(c.err, "relayed messages"); err != io.EOF {
				return err
			}
			return &ExpectError{Want: r.cfg.Expect, Got: r.recv.relays, Reason: "the server closed the connection"}
		}
		if err := r.recv.feed(c.b); err != nil {
			return err
		}
	}
	return nil
}

// interactive sends stdin lines and shows what arrives, until one side ends.
func (r *run) interactive(ctx context.Context, stdin io.Reader) error {
	done := make(chan struct{})
	defer close(done)
	lines := readLines(stdin, r.cfg.maxMessage(), done)
	for {
		select {
		case <-ctx.Done():
			r.recv.flush()
			return nil
		case c := <-r.in:
			if c.err != nil {
				r.recv.flush()
				if err := r.readErr(c.err, "messages"); err != io.EOF {
					return err
				}
				fmt.Fprintln(r.stderr, "the server closed the connection")
				return nil
			}
			if err := r.recv.feed(c.b); err != nil {
				return err
			}
		case line, ok := <-lines:
			if !ok {
				r.recv.flush()
				return nil // stdin ended: leave
			}
			if r.cfg.Framing == FramingLines {
				line = append(line, '\n')
			}
			if err := r.conn.Send(line, "a message ("+wire.Quote(line, 40)+")"); err != nil {
				return err
			}
		}
	}
}

// readLines reads stdin lines (without their end of line) in a goroutine; the channel closes
// at EOF. A line longer than max is sent in pieces. The goroutine ends at stdin's EOF, or
// at the next line after done is closed: a terminal's read cannot be interrupted, so it may
// outlive Run until then.
func readLines(stdin io.Reader, max int, done <-chan struct{}) <-chan []byte {
	out := make(chan []byte)
	go func() {
		defer close(out)
		br := bufio.NewReaderSize(stdin, max)
		for {
			line, err := br.ReadSlice('\n')
			if len(line) > 0 {
				line = bytes.TrimSuffix(line, []byte("\n"))
				line = bytes.TrimSuffix(line, []byte("\r"))
				select {
				case out <- bytes.Clone(line):
				case <-done:
					return
				}
			}
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				return
			}
		}
	}()
	return out
}
