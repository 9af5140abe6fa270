// Package header64 is the reference client of the length-header protocol (PROTOCOLS.md
// "header64", seed 001): each message goes out as a 64-byte header holding its length in
// ASCII decimal, space padded, then its bytes; the session ends with the disconnect token.
package header64

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/sockspec/sockspec/clients/internal/stdinlines"
	"github.com/sockspec/sockspec/clients/session"
	"github.com/sockspec/sockspec/wire"
)

// Reply modes (the server's `reply` knob). Replies are unframed, as in the seed's variants:
// ack is the ack text per message, echo the message itself; the token gets one too.
const (
	ReplyNone = "none"
	ReplyAck  = "ack"
	ReplyEcho = "echo"
)

// Seed defaults.
const (
	DefaultToken = "!DISCONNECT"
	DefaultAck   = "Msg received"
)

// Config is one header64 session.
type Config struct {
	Addr       string
	Timeouts   session.Timeouts
	HeaderSize int    // 0 means 64
	Token      string // sent last; "" sends none
	Reply      string // ReplyNone (default), ReplyAck or ReplyEcho
	Ack        string // the ack text, whose length is the reply's length in ack mode
	// Messages are sent in order; when nil, each stdin line is one message (without "\n").
	Messages []string
}

// DefaultConfig is the seed's client on the seed's port.
func DefaultConfig() Config {
	return Config{Addr: "127.0.0.1:5050", HeaderSize: wire.Header64Size, Token: DefaultToken, Reply: ReplyNone, Ack: DefaultAck}
}

// NoCloseError is a server that kept the connection open after the disconnect token.
type NoCloseError struct {
	Addr  string
	Token string
	Wait  string
}

func (e *NoCloseError) Error() string {
	return fmt.Sprintf("%s did not close the connection within %s after the disconnect token %q", e.Addr, e.Wait, e.Token)
}

// Run sends the messages, each followed by reading its reply in ack and echo modes (printed
// on stdout, one per line), then the token, and waits for the server to close.
func Run(ctx context.Context, cfg Config, stdin io.Reader, stdout, stderr io.Writer) error {
	switch cfg.Reply {
	case "":
		cfg.Reply = ReplyNone
	case ReplyNone, ReplyAck, ReplyEcho:
	default:
		return fmt.Errorf("reply mode must be none, ack or echo, not %q", cfg.Reply)
	}
	if cfg.Reply == ReplyAck && cfg.Ack == "" {
		return errors.New("reply mode ack needs the ack text (its length tells where a reply ends)")
	}
	conn, err := session.Dial(ctx, cfg.Addr, cfg.Timeouts)
	if err != nil {
		return err
	}
	defer conn.Close()
	c := &client{cfg: cfg, conn: conn, stdout: stdout}

	if err := stdinlines.Each(cfg.Messages, stdin, c.send); err != nil {
		return err
	}
	if cfg.Token == "" {
		return nil
	}
	if err := c.send([]byte(cfg.Token)); err != nil {
		return err
	}
	rest, err := conn.ReadUntilClose(1<<20, "the end of the connection after the disconnect token")
	if errors.Is(err, session.ErrTimeout) {
		return &NoCloseError{Addr: cfg.Addr, Token: cfg.Token, Wait: conn.Timeout().String()}
	}
	if err != nil && !errors.Is(err, session.ErrReset) {
		return err
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "note: %d more bytes after the last reply: %s\n", len(rest), wire.Quote(rest, 64))
	}
	return nil
}

type client struct {
	cfg    Config
	conn   *session.Conn
	stdout io.Writer
	n      int // messages sent
}

// send sends one framed message and, in ack or echo mode, reads and prints its reply.
func (c *client) send(msg []byte) error {
	c.n++
	what := session.Describe(c.n, msg)
	if string(msg) == c.cfg.Token {
		what = fmt.Sprintf("the disconnect token %q", c.cfg.Token)
	}
	frame, err := wire.AppendHeader(nil, c.cfg.HeaderSize, msg)
	if err != nil {
		return fmt.Errorf("%s: %v", what, err)
	}
	if err := c.conn.Send(frame, what); err != nil {
		return err
	}
	var want int
	switch c.cfg.Reply {
	case ReplyNone:
		return nil
	case ReplyAck:
		want = len(c.cfg.Ack)
	case ReplyEcho:
		want = len(msg)
	}
	reply, err := c.conn.ReadFull(want, fmt.Sprintf("the %s reply to %s", c.cfg.Reply, what))
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s\n", reply)
	return nil
}
