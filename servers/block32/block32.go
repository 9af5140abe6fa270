// Package block32 is the reference server of the 4-byte length-prefixed block protocol
// (PROTOCOLS.md "block32", seed 004's recvall / Struct('!I') server). A request is an unsigned
// 32-bit big-endian length and that many bytes; the reply is a block in the same framing
// holding the request upper-cased (knob `case`). By default the server answers one block per
// connection and closes, as the seed does; per_connection=many answers every block until the
// client closes.
//
// Bytes that are not UTF-8 are answered, kept unchanged as wire.Upper documents (the seed's
// decode would raise instead). A declared length over max_length closes the connection at
// once, with a Warn log, before any byte of the body is stored.
package block32

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"time"

	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/wire"
)

// Defaults: the seed's values.
const (
	DefaultPort      = 1241
	DefaultMaxLength = wire.DefaultMaxBlock
	DefaultIdle      = 5 * time.Minute
	readBuffer       = 32 << 10
	// bigBuffer: after a reply larger than this, the connection drops its reply buffer
	// rather than keeping a large one for the rest of its life.
	bigBuffer = 256 << 10
)

// PerConnection is the `per_connection` knob.
type PerConnection string

// Values of per_connection.
const (
	One  PerConnection = "one"  // reply to one block, then close (seed)
	Many PerConnection = "many" // reply to every block until the client closes
)

var knobs = []kit.Knob{
	{Name: "per_connection", Default: string(One), Help: "blocks answered per connection: one (reply, then close) | many (until the client closes)"},
	{Name: "case", Default: "unicode", Help: "upper-casing rule: unicode (full mapping, as Python's str.upper: ß -> SS) | ascii (a-z only)"},
	{Name: "max_length", Default: "16MiB", Help: "largest block accepted; a longer declared length closes the connection before any byte is stored (up to 4GiB-1)"},
	{Name: "idle", Default: "5m", Help: "close a connection that sends nothing, or takes no reply, for this long; 0 = never"},
}

// Protocol is block32's descriptor for the CLI and the conformance engine.
var Protocol = kit.Protocol{
	Name:    "block32",
	Network: "tcp",
	Port:    DefaultPort,
	Summary: "blocks framed by a 4-byte big-endian length; the reply block is the request upper-cased (seed 004)",
	Knobs:   knobs,
	New:     kit.Constructor(ParseConfig, New),
}

// Config holds the knobs as typed values.
type Config struct {
	PerConnection PerConnection // one or many
	Case          wire.Case     // upper-casing rule
	MaxLength     int64         // largest block accepted
	Idle          time.Duration // idle timeout; 0 = none
}

// DefaultConfig is the seed's behaviour.
func DefaultConfig() Config {
	return Config{PerConnection: One, Case: wire.Unicode, MaxLength: DefaultMaxLength, Idle: DefaultIdle}
}

// ParseConfig reads knob values; missing knobs take their defaults. An unknown knob name is an
// error listing the valid ones; a bad value is a *kit.KnobError.
func ParseConfig(k map[string]string) (Config, error) {
	if err := (kit.Protocol{Name: "block32", Knobs: knobs}).CheckKnobs(k); err != nil {
		return Config{}, err
	}
	v := kit.NewValues(k)
	cfg := Config{
		PerConnection: PerConnection(v.OneOf("per_connection", string(One), string(One), string(Many))),
		MaxLength:     v.Int("max_length", DefaultMaxLength, 1, math.MaxUint32),
		Idle:          v.Duration("idle", DefaultIdle),
	}
	cfg.Case, _ = wire.ParseCase(v.OneOf("case", "unicode", "unicode", "ascii"))
	if v.Err != nil {
		return Config{}, v.Err
	}
	return cfg, nil
}

// Server is a configured block32 server.
type Server struct {
	cfg Config
	log *slog.Logger
}

// New returns a server; zero fields of cfg take their defaults and a nil log discards logs.
func New(cfg Config, log *slog.Logger) *Server {
	if cfg.PerConnection == "" {
		cfg.PerConnection = One
	}
	if cfg.MaxLength <= 0 {
		cfg.MaxLength = DefaultMaxLength
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
		return errors.New("block32: Serve needs a stream (TCP) listener")
	}
	s.log.Info("serving", "protocol", "block32", "addr", l.Stream.Addr().String(),
		"per_connection", string(s.cfg.PerConnection), "case", s.cfg.Case.String(),
		"max_length", s.cfg.MaxLength, "idle", s.cfg.Idle.String())
	return kit.ServeTCP(ctx, l.Stream, kit.Model{Kind: "per-conn"}, s.log, s.handle)
}

// Reasons Feed stops early.
var (
	errDone     = errors.New("one block answered")
	errTooLarge = errors.New("upper-cased reply is longer than a block can say")
)

func (s *Server) handle(ctx context.Context, conn net.Conn) {
	remote := conn.RemoteAddr().String()
	dec := &wire.BlockDecoder{Max: s.cfg.MaxLength}
	in := kit.IdleReader{Conn: conn, Idle: s.cfg.Idle}
	buf := make([]byte, readBuffer)
	var (
		out    []byte // reply blocks to the requests of one read, sent in one write
		blocks int
	)
	emit := func(msg []byte) error {
		blocks++
		if s.log.Enabled(ctx, slog.LevelDebug) {
			s.log.Debug("block", "remote", remote, "length", len(msg), "body", wire.Quote(msg, 80))
		}
		start := len(out)
		out = append(out, 0, 0, 0, 0)
		out = wire.AppendUpper(s.cfg.Case, out, msg)
		n := len(out) - start - 4
		if int64(n) > math.MaxUint32 { // unicode upper-casing can lengthen text
			out = out[:start]
			return errTooLarge
		}
		binary.BigEndian.PutUint32(out[start:], uint32(n))
		if s.cfg.PerConnection == One {
			return errDone
		}
		return nil
	}
	for {
		n, rerr := in.Read(buf)
		if n > 0 {
			ferr := dec.Feed(buf[:n], emit)
			if len(out) > 0 {
				if err := kit.WriteAll(conn, out, s.cfg.Idle); err != nil {
					kit.LogEnd(s.log, remote, "blocks", blocks, dec.Pending(), s.cfg.Idle, fmt.Errorf("write: %w", err))
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
			case errors.Is(ferr, errDone):
				s.log.Debug("block answered: closing", "remote", remote)
				return
			case errors.Is(ferr, errTooLarge):
				s.log.Warn("refused: reply too long for a block; closing", "remote", remote, "block", blocks)
				return
			default: // *wire.LimitError
				s.log.Warn("refused: block over max_length; closing", "remote", remote,
					"block", blocks+1, "err", ferr.Error())
				return
			}
		}
		if rerr != nil {
			kit.LogEnd(s.log, remote, "blocks", blocks, dec.Pending(), s.cfg.Idle, rerr)
			return
		}
	}
}
