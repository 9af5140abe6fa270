// Package header64 is the reference server of the length-header protocol (PROTOCOLS.md
// "header64", seed 001). A message is a fixed-size header (64 bytes) holding the body's length
// in ASCII decimal, right-padded with spaces, then the body, which must be UTF-8. The message
// equal to the disconnect token (`!DISCONNECT`) ends the session: the server closes.
//
// Reply modes: none (the seed: the server only reads), ack (a fixed text per message) and echo
// (the body). Replies are sent unframed, as the seed's variants do, and, as in those variants,
// every message gets one, the token included: its reply is the last thing sent before the close.
//
// Refusals (each closes that connection only, with a Warn log, and allocates nothing for the
// declared length): a header that is not a length (strictly: ASCII digits, then only spaces),
// a negative length, a length over max_length, and a body that is not UTF-8. The seed's
// decode('utf-8') raises on such a body and leaves the session dead but open; closing is the
// open refusal PROTOCOLS.md (HDR-UTF8-1) asks for.
package header64

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
	"unicode/utf8"

	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/wire"
)

// Defaults: the seed's values.
const (
	DefaultPort       = 5050
	DefaultHeaderSize = wire.Header64Size
	DefaultToken      = "!DISCONNECT"
	DefaultAck        = "Msg received"
	DefaultMaxLength  = wire.DefaultMaxHeaderLength
	DefaultIdle       = 5 * time.Minute
	readBuffer        = 32 << 10
	// bigBuffer: after a reply larger than this, the connection drops its reply buffer
	// rather than keeping a large one for the rest of its life.
	bigBuffer = 256 << 10
)

// ReplyMode is the `reply` knob.
type ReplyMode string

// Reply modes.
const (
	ReplyNone ReplyMode = "none" // read only (seed)
	ReplyAck  ReplyMode = "ack"  // the Ack text per message
	ReplyEcho ReplyMode = "echo" // the body per message
)

var knobs = []kit.Knob{
	{Name: "header_size", Default: "64", Help: "header length in bytes: ASCII decimal body length, right-padded with spaces (1 to 1024)"},
	{Name: "token", Default: DefaultToken, Help: "message that ends the session: the server closes the connection after it"},
	{Name: "reply", Default: string(ReplyNone), Help: "what the server sends per message, unframed: none | ack (the ack text) | echo (the body)"},
	{Name: "ack", Default: DefaultAck, Help: "text sent per message in reply mode ack"},
	{Name: "max_length", Default: "1MiB", Help: "largest body accepted; a longer declared length closes the connection before any body byte is stored (up to 1GiB)"},
	{Name: "idle", Default: "5m", Help: "close a connection that sends nothing, or takes no reply, for this long; 0 = never"},
}

// Protocol is header64's descriptor for the CLI and the conformance engine.
var Protocol = kit.Protocol{
	Name:    "header64",
	Network: "tcp",
	Port:    DefaultPort,
	Summary: "messages framed by a 64-byte ASCII length header; !DISCONNECT ends the session (seed 001)",
	Knobs:   knobs,
	New:     kit.Constructor(ParseConfig, New),
}

// Config holds the knobs as typed values.
type Config struct {
	HeaderSize int           // header length in bytes
	Token      string        // message that ends the session
	Reply      ReplyMode     // none, ack or echo
	Ack        string        // reply text in ack mode
	MaxLength  int64         // largest body accepted
	Idle       time.Duration // idle timeout; 0 = none
}

// DefaultConfig is the seed's behaviour.
func DefaultConfig() Config {
	return Config{
		HeaderSize: DefaultHeaderSize, Token: DefaultToken, Reply: ReplyNone, Ack: DefaultAck,
		MaxLength: DefaultMaxLength, Idle: DefaultIdle,
	}
}

// ParseConfig reads knob values; missing knobs take their defaults. An unknown knob name is an
// error listing the valid ones; a bad value is a *kit.KnobError.
func ParseConfig(k map[string]string) (Config, error) {
	if err := (kit.Protocol{Name: "header64", Knobs: knobs}).CheckKnobs(k); err != nil {
		return Config{}, err
	}
	v := kit.NewValues(k)
	cfg := Config{
		HeaderSize: int(v.Int("header_size", DefaultHeaderSize, 1, 1024)),
		Token:      v.String("token", DefaultToken),
		Reply:      ReplyMode(v.OneOf("reply", string(ReplyNone), string(ReplyNone), string(ReplyAck), string(ReplyEcho))),
		Ack:        v.String("ack", DefaultAck),
		MaxLength:  v.Int("max_length", DefaultMaxLength, 1, 1<<30),
		Idle:       v.Duration("idle", DefaultIdle),
	}
	if v.Err != nil {
		return Config{}, v.Err
	}
	if int64(len(cfg.Token)) > cfg.MaxLength {
		return Config{}, &kit.KnobError{Knob: "max_length", Value: k["max_length"],
			Want: fmt.Sprintf("at least the token's length (%d bytes)", len(cfg.Token))}
	}
	return cfg, nil
}

// Server is a configured header64 server.
type Server struct {
	cfg Config
	log *slog.Logger
}

// New returns a server; zero fields of cfg take their defaults and a nil log discards logs.
func New(cfg Config, log *slog.Logger) *Server {
	def := DefaultConfig()
	if cfg.HeaderSize <= 0 {
		cfg.HeaderSize = def.HeaderSize
	}
	if cfg.Reply == "" {
		cfg.Reply = def.Reply
	}
	if cfg.MaxLength <= 0 {
		cfg.MaxLength = def.MaxLength
	}
	if log == nil {
		log = kit.Discard()
	}
	return &Server{cfg: cfg, log: log}
}

// Serve serves l.Stream, one goroutine per connection, until ctx ends; then it closes every
// connection and returns nil once all their goroutines have ended.
func (s *Server) Serve(ctx context.Context, l kit.Listener) error {
	if l.Stream == nil {
		return errors.New("header64: Serve needs a stream (TCP) listener")
	}
	s.log.Info("serving", "protocol", "header64", "addr", l.Stream.Addr().String(),
		"header_size", s.cfg.HeaderSize, "token", s.cfg.Token, "reply", string(s.cfg.Reply),
		"max_length", s.cfg.MaxLength, "idle", s.cfg.Idle.String())
	return kit.ServeTCP(ctx, l.Stream, kit.Model{Kind: "per-conn"}, s.log, s.handle)
}

// Reasons Feed stops early.
var (
	errToken   = errors.New("disconnect token")
	errNotUTF8 = errors.New("body is not UTF-8")
)

func (s *Server) handle(ctx context.Context, conn net.Conn) {
	remote := conn.RemoteAddr().String()
	dec := &wire.HeaderDecoder{Size: s.cfg.HeaderSize, Max: s.cfg.MaxLength}
	in := kit.IdleReader{Conn: conn, Idle: s.cfg.Idle}
	buf := make([]byte, readBuffer)
	var (
		out      []byte // replies to the messages of one read, sent in one write
		messages int
		badBody  string // the refused body, quoted while it is valid
	)
	emit := func(msg []byte) error {
		messages++
		if !utf8.Valid(msg) {
			badBody = wire.Quote(msg, 80)
			return errNotUTF8
		}
		if s.log.Enabled(ctx, slog.LevelDebug) {
			s.log.Debug("message", "remote", remote, "length", len(msg), "body", wire.Quote(msg, 80))
		}
		switch s.cfg.Reply {
		case ReplyAck:
			out = append(out, s.cfg.Ack...)
		case ReplyEcho:
			out = append(out, msg...)
		}
		if string(msg) == s.cfg.Token {
			return errToken
		}
		return nil
	}
	for {
		n, rerr := in.Read(buf)
		if n > 0 {
			ferr := dec.Feed(buf[:n], emit)
			if len(out) > 0 {
				if err := kit.WriteAll(conn, out, s.cfg.Idle); err != nil {
					kit.LogEnd(s.log, remote, "messages", messages, dec.Pending(), s.cfg.Idle, fmt.Errorf("write: %w", err))
					return
				}
				if cap(out) > bigBuffer {
					out = nil
				} else {
					out = out[:0]
				}
			}
			switch {
			case ferr == nil:
			case errors.Is(ferr, errToken):
				s.log.Debug("disconnect token: closing", "remote", remote, "messages", messages)
				return
			case errors.Is(ferr, errNotUTF8):
				s.log.Warn("refused: body is not UTF-8; closing", "remote", remote,
					"message", messages, "body", badBody)
				return
			default: // *wire.HeaderError or *wire.LimitError
				s.log.Warn("refused: bad length header; closing", "remote", remote,
					"message", messages+1, "err", ferr.Error())
				return
			}
		}
		if rerr != nil {
			kit.LogEnd(s.log, remote, "messages", messages, dec.Pending(), s.cfg.Idle, rerr)
			return
		}
	}
}
