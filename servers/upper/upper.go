// Package upper is the reference TCP upper-casing server (PROTOCOLS.md "upper", seed 004's
// TCP servers). It reproduces the seed's variants through knobs:
//
//   - mode=stream (default): each chunk read is answered with its upper-cased form until the
//     client closes; a multi-byte character split across reads is held back and upper-cased
//     whole; at the client's EOF any held bytes are sent and the server closes.
//   - mode=once: one read of up to 4096 bytes, one reply, close (the seed's first server).
//   - model=sequential | pool=N | per-conn: one client at a time, N at a time, or one
//     goroutine per client (the seed's sequential, pool-of-threads and thread-per-client
//     servers; per-conn also stands for its poll server).
//   - delay: a pause before each reply, as in the seed's slow variants (5 s there). It is a
//     feature for showing concurrency models, not synchronisation.
//
// Bytes that are not UTF-8 are answered, kept unchanged as wire.Upper documents (the seed's
// decode would raise and drop the client instead).
package upper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/wire"
)

// Defaults: the seed's values.
const (
	DefaultPort = 1235
	DefaultIdle = 5 * time.Minute
	// OnceRead is the size of the single read in mode once (the seed's recv(4096)).
	OnceRead = 4096
	// streamRead is the read size in mode stream; the reply to a read is at most three times
	// as long (the longest Unicode upper-case expansion).
	streamRead = 16 << 10
)

// Mode is the `mode` knob.
type Mode string

// Modes.
const (
	Stream Mode = "stream" // answer every chunk until the client closes
	Once   Mode = "once"   // one read, one reply, close
)

var knobs = []kit.Knob{
	{Name: "mode", Default: string(Stream), Help: "stream (answer each chunk until the client closes) | once (one read of up to 4096 bytes, one reply, close)"},
	{Name: "case", Default: "unicode", Help: "upper-casing rule: unicode (full mapping, as Python's str.upper: ß -> SS) | ascii (a-z only)"},
	{Name: "model", Default: "per-conn", Help: "concurrency model: sequential (one client at a time) | pool=N (N clients at a time) | per-conn (one goroutine per client)"},
	{Name: "delay", Default: "0s", Help: "pause before each reply, as the seed's slow variants (5s there); 0 = none"},
	{Name: "idle", Default: "5m", Help: "close a connection that sends nothing, or takes no reply, for this long; 0 = never"},
}

// Protocol is upper's descriptor for the CLI and the conformance engine.
var Protocol = kit.Protocol{
	Name:    "upper",
	Network: "tcp",
	Port:    DefaultPort,
	Summary: "TCP upper-casing: each chunk is answered upper-cased; sequential, pool or per-connection models (seed 004)",
	Knobs:   knobs,
	New:     kit.Constructor(ParseConfig, New),
}

// Config holds the knobs as typed values.
type Config struct {
	Mode  Mode          // stream or once
	Case  wire.Case     // upper-casing rule
	Model kit.Model     // concurrency model
	Delay time.Duration // pause before each reply
	Idle  time.Duration // idle timeout; 0 = none
}

// DefaultConfig is the seed's behaviour (its thread-per-client server).
func DefaultConfig() Config {
	return Config{Mode: Stream, Case: wire.Unicode, Model: kit.Model{Kind: "per-conn"}, Idle: DefaultIdle}
}

// ParseConfig reads knob values; missing knobs take their defaults. An unknown knob name is an
// error listing the valid ones; a bad value is a *kit.KnobError.
func ParseConfig(k map[string]string) (Config, error) {
	if err := (kit.Protocol{Name: "upper", Knobs: knobs}).CheckKnobs(k); err != nil {
		return Config{}, err
	}
	v := kit.NewValues(k)
	cfg := Config{
		Mode:  Mode(v.OneOf("mode", string(Stream), string(Stream), string(Once))),
		Delay: v.Duration("delay", 0),
		Idle:  v.Duration("idle", DefaultIdle),
	}
	cfg.Case, _ = wire.ParseCase(v.OneOf("case", "unicode", "unicode", "ascii"))
	if v.Err != nil {
		return Config{}, v.Err
	}
	model, err := kit.ParseModel(v.String("model", "per-conn"))
	if err != nil {
		return Config{}, err
	}
	cfg.Model = model
	return cfg, nil
}

// Server is a configured upper server.
type Server struct {
	cfg Config
	log *slog.Logger
}

// New returns a server; zero fields of cfg take their defaults and a nil log discards logs.
func New(cfg Config, log *slog.Logger) *Server {
	if cfg.Mode == "" {
		cfg.Mode = Stream
	}
	if cfg.Model.Kind == "" {
		cfg.Model.Kind = "per-conn"
	}
	if log == nil {
		log = kit.Discard()
	}
	return &Server{cfg: cfg, log: log}
}

// Serve serves l.Stream under the configured model until ctx ends; then it closes every
// connection and returns nil once all handlers have ended.
func (s *Server) Serve(ctx context.Context, l kit.Listener) error {
	if l.Stream == nil {
		return errors.New("upper: Serve needs a stream (TCP) listener")
	}
	s.log.Info("serving", "protocol", "upper", "addr", l.Stream.Addr().String(),
		"mode", string(s.cfg.Mode), "case", s.cfg.Case.String(), "model", s.cfg.Model.String(),
		"delay", s.cfg.Delay.String(), "idle", s.cfg.Idle.String())
	handle := s.stream
	if s.cfg.Mode == Once {
		handle = s.once
	}
	return kit.ServeTCP(ctx, l.Stream, s.cfg.Model, s.log, handle)
}

func (s *Server) stream(ctx context.Context, conn net.Conn) {
	remote := conn.RemoteAddr().String()
	in := kit.IdleReader{Conn: conn, Idle: s.cfg.Idle}
	up := wire.StreamUpper{Case: s.cfg.Case}
	buf := make([]byte, streamRead)
	var out []byte
	var replies int
	for {
		n, rerr := in.Read(buf)
		if n > 0 {
			out = up.Append(out[:0], buf[:n])
		}
		if errors.Is(rerr, io.EOF) && up.Held() > 0 {
			out = up.Flush(out) // the stream ended inside a character: send it as it came
		}
		if len(out) > 0 {
			if !s.pause(ctx) {
				return
			}
			if err := kit.WriteAll(conn, out, s.cfg.Idle); err != nil {
				s.ended(remote, replies, fmt.Errorf("write: %w", err))
				return
			}
			replies++
			out = out[:0]
		}
		if rerr != nil {
			s.ended(remote, replies, rerr)
			return
		}
	}
}

func (s *Server) once(ctx context.Context, conn net.Conn) {
	remote := conn.RemoteAddr().String()
	buf := make([]byte, OnceRead)
	n, err := kit.IdleReader{Conn: conn, Idle: s.cfg.Idle}.Read(buf)
	if n == 0 {
		s.ended(remote, 0, err)
		return
	}
	if !s.pause(ctx) {
		return
	}
	if err := kit.WriteAll(conn, wire.Upper(s.cfg.Case, buf[:n]), s.cfg.Idle); err != nil {
		s.ended(remote, 0, fmt.Errorf("write: %w", err))
		return
	}
	s.log.Debug("answered once: closing", "remote", remote, "bytes", n)
}

// pause waits the configured delay; false means shutdown came first.
func (s *Server) pause(ctx context.Context) bool {
	if s.cfg.Delay <= 0 {
		return true
	}
	t := time.NewTimer(s.cfg.Delay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// ended logs why a connection ended.
func (s *Server) ended(remote string, replies int, err error) {
	switch {
	case err == nil || errors.Is(err, io.EOF):
		s.log.Debug("client closed", "remote", remote, "replies", replies)
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.log.Info("idle timeout: closing", "remote", remote, "idle", s.cfg.Idle.String(), "replies", replies)
	case errors.Is(err, net.ErrClosed):
		s.log.Debug("closed by shutdown", "remote", remote, "replies", replies)
	default:
		s.log.Debug("connection lost", "remote", remote, "replies", replies, "err", err)
	}
}
