// Package datetime is the reference server for the date-and-time exercise of seed 002: one
// request per connection, `Date`, `Time`, `Date and Time` (or `DateAndTime`), answered with
// the server's local time, and anything else with `UNKNOWN OPTION: ` and the request
// upper-cased. The reply carries no newline; the server closes the connection after it.
//
// A request ends at a newline (as `nc` sends it) or, for a client that sends no newline and
// waits, once no more bytes arrive for a short settle time.
package datetime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/wire"
)

// Reply layouts (Go reference time), as Python's date, time and datetime print.
const (
	DateLayout     = "2006-01-02"
	TimeLayout     = "15:04:05"
	DateTimeLayout = "2006-01-02 15:04:05.000000"
)

// UnknownPrefix starts the reply to a request that is not an option.
const UnknownPrefix = "UNKNOWN OPTION: "

const (
	writeTimeout = 10 * time.Second
	lingerTime   = time.Second // after the reply: see lingerClose
	lingerBytes  = 64 << 10
)

// Config holds the knobs.
type Config struct {
	Settle  time.Duration // settle: bytes without a newline are the request after this long
	Idle    time.Duration // idle: a client that sends nothing for this long is closed (0: never)
	MaxLine int           // max_line: a longer request closes the connection
	// Now is the clock (default time.Now); replies use the location of the time it returns.
	Now func() time.Time
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Settle: 50 * time.Millisecond, Idle: 5 * time.Minute, MaxLine: 1024, Now: time.Now}
}

var knobs = []kit.Knob{
	{Name: "settle", Default: "50ms", Help: "bytes without a newline are the request once no more arrive for this long"},
	{Name: "idle", Default: "5m", Help: "close a client that sends nothing for this long (0: never)"},
	{Name: "max_line", Default: "1KiB", Help: "longest request; a longer one closes the connection"},
}

// Protocol is datetime (seed 002's exercise; the seed gives no port, 8085 is sockspec's).
var Protocol = kit.Protocol{
	Name:    "datetime",
	Network: "tcp",
	Port:    8085,
	Summary: "date and time service: Date, Time or Date and Time in, the server's local time out",
	Knobs:   knobs,
	New:     kit.Constructor(ParseConfig, New),
}

// ParseConfig reads knob values; missing knobs take the defaults. An unknown knob name is an
// error listing the valid ones; a bad value is a *kit.KnobError.
func ParseConfig(k map[string]string) (Config, error) {
	for name := range k {
		found := false
		for _, kn := range knobs {
			found = found || kn.Name == name
		}
		if !found {
			names := make([]string, len(knobs))
			for i, kn := range knobs {
				names[i] = kn.Name
			}
			sort.Strings(names)
			return Config{}, fmt.Errorf("datetime has no knob %q (knobs: %s)", name, strings.Join(names, ", "))
		}
	}
	cfg := DefaultConfig()
	v := kit.NewValues(k)
	cfg.Settle = v.Duration("settle", cfg.Settle)
	cfg.Idle = v.Duration("idle", cfg.Idle)
	cfg.MaxLine = int(v.Int("max_line", int64(cfg.MaxLine), 1, 1<<20))
	if v.Err != nil {
		return Config{}, v.Err
	}
	if cfg.Settle <= 0 {
		return Config{}, &kit.KnobError{Knob: "settle", Value: k["settle"], Want: "a duration above zero, such as 50ms"}
	}
	return cfg, nil
}

// Server is a datetime server.
type Server struct {
	cfg Config
	log *slog.Logger
}

// New returns a server for cfg; zero fields take the defaults.
func New(cfg Config, log *slog.Logger) *Server {
	def := DefaultConfig()
	if cfg.Settle <= 0 {
		cfg.Settle = def.Settle
	}
	if cfg.MaxLine <= 0 {
		cfg.MaxLine = def.MaxLine
	}
	if cfg.Now == nil {
		cfg.Now = def.Now
	}
	if log == nil {
		log = kit.Discard()
	}
	return &Server{cfg: cfg, log: log}
}

// Serve accepts clients on l.Stream, each served by its own goroutine, until ctx ends; then
// it closes the listener and every client and returns once all are gone.
func (s *Server) Serve(ctx context.Context, l kit.Listener) error {
	if l.Stream == nil {
		return errors.New("datetime: Serve needs a stream listener (kit.Listener.Stream), got none")
	}
	s.log.Info("serving", "protocol", "datetime", "addr", l.Stream.Addr().String())
	return kit.ServeTCP(ctx, l.Stream, kit.Model{Kind: "per-conn"}, s.log, s.handle)
}

// Answer returns the reply to one request (already trimmed) at time now.
func Answer(req []byte, now time.Time) []byte {
	switch string(req) {
	case "Date":
		return now.AppendFormat(nil, DateLayout)
	case "Time":
		return now.AppendFormat(nil, TimeLayout)
	case "Date and Time", "DateAndTime":
		return now.AppendFormat(nil, DateTimeLayout)
	}
	return wire.AppendUpper(wire.Unicode, []byte(UnknownPrefix), req)
}

func (s *Server) handle(_ context.Context, conn net.Conn) {
	log := s.log.With("remote", conn.RemoteAddr().String())
	req, ok := s.readRequest(conn, log)
	if !ok {
		return
	}
	reply := Answer(bytes.TrimSpace(req), s.cfg.Now())
	log.Debug("request", "request", clip(req, 60), "reply", clip(reply, 60))
	if err := kit.WriteAll(conn, reply, writeTimeout); err != nil {
		log.Debug("write failed", "err", err)
		return
	}
	lingerClose(conn)
}

// readRequest reads up to the first newline, or what came before the client paused for the
// settle time or half-closed. It reports false when there is no request to answer.
func (s *Server) readRequest(conn net.Conn, log *slog.Logger) ([]byte, bool) {
	buf := make([]byte, 0, min(s.cfg.MaxLine+1, 4<<10))
	chunk := make([]byte, 1<<10)
	for {
		switch {
		case len(buf) > 0:
			conn.SetReadDeadline(time.Now().Add(s.cfg.Settle))
		case s.cfg.Idle > 0:
			conn.SetReadDeadline(time.Now().Add(s.cfg.Idle))
		default:
			conn.SetReadDeadline(time.Time{})
		}
		n, err := conn.Read(chunk)
		data := chunk[:n]
		i := bytes.IndexByte(data, '\n')
		if i >= 0 {
			data = data[:i] // anything after the newline is ignored
		}
		if len(buf)+len(data) > s.cfg.MaxLine {
			start := buf
			if len(start) == 0 {
				start = data
			}
			log.Warn("request longer than max_line, closing", "max_line", s.cfg.MaxLine, "start", clip(start, 40))
			return nil, false
		}
		buf = append(buf, data...)
		if i >= 0 {
			return buf, true
		}
		if err == nil {
			continue
		}
		var ne net.Error
		timeout := errors.As(err, &ne) && ne.Timeout()
		if len(buf) > 0 && (timeout || errors.Is(err, io.EOF)) {
			return buf, true // the client paused for the settle time, or half-closed
		}
		if timeout {
			log.Debug("idle timeout, closing", "idle", s.cfg.Idle)
		}
		return nil, false
	}
}

// lingerClose half-closes conn and discards what the client still sends until EOF, lingerTime
// or lingerBytes: closing a socket with unread input sends a reset, which can destroy the
// reply before the client has read it.
func lingerClose(conn net.Conn) {
	if hc, ok := conn.(interface{ CloseWrite() error }); ok {
		hc.CloseWrite()
	}
	conn.SetReadDeadline(time.Now().Add(lingerTime))
	io.CopyN(io.Discard, conn, lingerBytes)
}

// clip shows at most n bytes of b in a log attribute (the handler quotes it as needed).
func clip(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
