// Package echo is the reference TCP echo server (PROTOCOLS.md "echo", seed 003): every byte
// received is sent back unchanged, in order. When the client half-closes, everything it sent
// has already been echoed, so the server closes at once.
//
// Two engines serve the connections (knob engine):
//   - "epoll", the default (Linux; elsewhere it falls back to goroutines): event loops on
//     locked OS threads over raw epoll, in the shape of the C yardstick of bench/echo. Measured
//     there, it used 13-28% less CPU per 64-byte request than goroutines (still more than the
//     C server) and streamed at least as fast.
//   - "goroutines": one goroutine per connection running a plain read/write loop over a
//     reused buffer (io.Copy between TCP connections goes through splice and a pipe, and was
//     slower for echo).
package echo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/sockspec/sockspec/servers/kit"
)

// Defaults (the seed's port; the seed reads 1024 bytes at a time, a larger buffer is faster).
const (
	DefaultPort   = 8000
	DefaultBuffer = 64 << 10
	DefaultIdle   = 5 * time.Minute
	DefaultEngine = EngineEpoll
	// firstBuffer is the read buffer a connection starts with; it grows to Buffer when reads
	// fill it, so many idle or chatty clients do not each hold a full-size buffer.
	firstBuffer = 4 << 10
)

// Engines: how connections are served.
const (
	EngineGoroutines = "goroutines" // one goroutine per connection
	EngineEpoll      = "epoll"      // event loops over raw epoll (Linux; elsewhere goroutines)
)

// maxLoops bounds the loops knob.
const maxLoops = 256

var knobs = []kit.Knob{
	{Name: "buffer", Default: "64KiB", Help: "read buffer size: the largest piece one read takes and one write sends back (1 to 16MiB); one per connection (goroutines) or one per loop plus one per connection whose echo is backed up (epoll)"},
	{Name: "idle", Default: "5m", Help: "close a connection that neither sends nor takes a byte for this long; 0 = never"},
	{Name: "engine", Default: DefaultEngine, Help: "goroutines (one per connection) or epoll (event loops on locked threads over raw epoll; Linux only, goroutines elsewhere)"},
	{Name: "loops", Default: "auto", Help: "engine=epoll: number of event loops, 1 to 256; auto = one per two CPUs (GOMAXPROCS/2, at least 1)"},
}

// Protocol is the echo protocol's descriptor for the CLI and the conformance engine.
var Protocol = kit.Protocol{
	Name:    "echo",
	Network: "tcp",
	Port:    DefaultPort,
	Summary: "TCP echo: every byte received is sent back unchanged, in order (seed 003)",
	Knobs:   knobs,
	New:     kit.Constructor(ParseConfig, New),
}

// Config holds the knobs as typed values.
type Config struct {
	Buffer int           // read buffer size in bytes
	Idle   time.Duration // idle timeout; 0 = none
	Engine string        // EngineGoroutines or EngineEpoll; "" = DefaultEngine
	Loops  int           // engine=epoll: event loops; 0 = auto
}

// DefaultConfig is the seed's behaviour.
func DefaultConfig() Config {
	return Config{Buffer: DefaultBuffer, Idle: DefaultIdle, Engine: DefaultEngine}
}

// ParseConfig reads knob values; missing knobs take their defaults. An unknown knob name is an
// error listing the valid ones; a bad value is a *kit.KnobError.
func ParseConfig(k map[string]string) (Config, error) {
	if err := (kit.Protocol{Name: "echo", Knobs: knobs}).CheckKnobs(k); err != nil {
		return Config{}, err
	}
	v := kit.NewValues(k)
	cfg := Config{
		Buffer: int(v.Int("buffer", DefaultBuffer, 1, 16<<20)),
		Idle:   v.Duration("idle", DefaultIdle),
		Engine: v.OneOf("engine", DefaultEngine, EngineGoroutines, EngineEpoll),
	}
	if s, ok := k["loops"]; ok && s != "auto" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLoops {
			return Config{}, &kit.KnobError{Knob: "loops", Value: s, Want: "auto or a number of event loops from 1 to " + strconv.Itoa(maxLoops)}
		}
		cfg.Loops = n
	}
	return cfg, v.Err
}

// Server is a configured echo server.
type Server struct {
	cfg Config
	log *slog.Logger
}

// New returns a server; a nil log discards logs, a Buffer below 1, an empty Engine and a
// Loops below 1 take the defaults.
func New(cfg Config, log *slog.Logger) *Server {
	if cfg.Buffer < 1 {
		cfg.Buffer = DefaultBuffer
	}
	if cfg.Engine == "" {
		cfg.Engine = DefaultEngine
	}
	if cfg.Loops < 1 {
		cfg.Loops = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if log == nil {
		log = kit.Discard()
	}
	return &Server{cfg: cfg, log: log}
}

// Serve echoes on every connection of l.Stream until ctx ends, then closes them all and
// returns nil once every connection's goroutine has ended.
func (s *Server) Serve(ctx context.Context, l kit.Listener) error {
	if l.Stream == nil {
		return errors.New("echo: Serve needs a stream (TCP) listener")
	}
	s.log.Info("serving", "protocol", "echo", "addr", l.Stream.Addr().String(),
		"buffer", s.cfg.Buffer, "idle", s.cfg.Idle.String(), "engine", s.cfg.Engine)
	if s.cfg.Engine == EngineEpoll {
		err := s.serveEpoll(ctx, l.Stream)
		if !errors.Is(err, errNoEpoll) {
			return err
		}
		s.log.Info("engine=epoll unavailable here (not Linux, or the listener has no descriptor): serving with goroutines")
	}
	return kit.ServeTCP(ctx, l.Stream, kit.Model{Kind: "per-conn"}, s.log, s.handle)
}

// errNoEpoll: the epoll engine cannot serve this listener (or this OS); nothing was touched.
var errNoEpoll = errors.New("echo: epoll engine unavailable")

func (s *Server) handle(_ context.Context, conn net.Conn) {
	buf := make([]byte, min(firstBuffer, s.cfg.Buffer))
	dl := idleDeadline{conn: conn, idle: s.cfg.Idle}
	var echoed int64
	for {
		dl.touch()
		n, rerr := conn.Read(buf)
		if n > 0 {
			dl.touch()
			if _, werr := conn.Write(buf[:n]); werr != nil {
				s.ended(conn.RemoteAddr().String(), echoed, fmt.Errorf("write: %w", werr))
				return
			}
			echoed += int64(n)
			if n == len(buf) && len(buf) < s.cfg.Buffer {
				buf = make([]byte, min(4*len(buf), s.cfg.Buffer))
			}
		}
		if rerr != nil {
			s.ended(conn.RemoteAddr().String(), echoed, rerr)
			return
		}
	}
}

// ended logs why a connection ended: EOF (the client closed or half-closed; all it sent has
// been echoed), the idle timeout, shutdown, or a reset.
func (s *Server) ended(remote string, echoed int64, err error) {
	switch {
	case errors.Is(err, io.EOF):
		s.log.Debug("client closed", "remote", remote, "echoed", echoed)
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.log.Info("idle timeout: closing", "remote", remote, "idle", s.cfg.Idle.String(), "echoed", echoed)
	case errors.Is(err, net.ErrClosed):
		s.log.Debug("closed by shutdown", "remote", remote, "echoed", echoed)
	default:
		s.log.Debug("connection lost", "remote", remote, "echoed", echoed, "err", err)
	}
}

// idleDeadline keeps a connection's read and write deadline about idle ahead of its last
// I/O. Setting a deadline costs a runtime timer update, so it is moved only once an eighth of
// idle has passed since it was last set: a silent connection is closed after between 7/8 of
// idle and idle, and the hot loop pays for a clock read, not a timer update, per call.
type idleDeadline struct {
	conn  net.Conn
	idle  time.Duration
	setAt time.Time
}

func (d *idleDeadline) touch() {
	if d.idle <= 0 {
		return
	}
	now := time.Now()
	if !d.setAt.IsZero() && now.Sub(d.setAt) < d.idle/8 {
		return
	}
	d.setAt = now
	d.conn.SetDeadline(now.Add(d.idle))
}
