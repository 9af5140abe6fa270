package lookup

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/sockspec/sockspec/servers/kit"
)

const (
	readChunk    = 4 << 10
	writeTimeout = 10 * time.Second // a client that stops reading is dropped after this
	// After the one reply of per_connection=one, the server half-closes and discards what
	// the client still sends for a while: closing a socket with unread input sends a reset,
	// which can destroy the reply before the client reads it.
	lingerTime  = time.Second
	lingerBytes = 64 << 10
)

// Server is a lookup server.
type Server struct {
	cfg Config
	log *slog.Logger
}

// New returns a server for cfg; zero fields take the defaults.
func New(cfg Config, log *slog.Logger) *Server {
	def := DefaultConfig()
	if cfg.PerConnection == "" {
		cfg.PerConnection = def.PerConnection
	}
	if cfg.Unknown == "" {
		cfg.Unknown = def.Unknown
	}
	if cfg.Directory == nil {
		cfg.Directory = def.Directory
	}
	if cfg.Settle <= 0 {
		cfg.Settle = def.Settle
	}
	if cfg.MaxLine <= 0 {
		cfg.MaxLine = def.MaxLine
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
		return errors.New("lookup: Serve needs a stream listener (kit.Listener.Stream), got none")
	}
	dir := s.cfg.DirectoryFile
	if dir == "" {
		dir = "seed"
	}
	s.log.Info("serving", "protocol", "lookup", "addr", l.Stream.Addr().String(),
		"per_connection", s.cfg.PerConnection, "directory", dir, "names", len(s.cfg.Directory))
	return kit.ServeTCP(ctx, l.Stream, kit.Model{Kind: "per-conn"}, s.log, s.handle)
}

// handle answers one client's requests.
func (s *Server) handle(_ context.Context, conn net.Conn) {
	log := s.log.With("remote", conn.RemoteAddr().String())
	buf := make([]byte, readChunk)
	var pending, out []byte
	answered := 0
	defer func() { log.Debug("client gone", "requests", answered) }()

	// reply sends what out holds; in per_connection=one it then ends the connection.
	reply := func() (done bool) {
		if len(out) > 0 {
			if err := kit.WriteAll(conn, out, writeTimeout); err != nil {
				log.Debug("write failed", "err", err)
				return true
			}
			out = out[:0]
		}
		if s.cfg.PerConnection == One && answered > 0 {
			lingerClose(conn)
			return true
		}
		return false
	}

	for {
		// While bytes without a newline wait, the settle time is the deadline: when it passes
		// with nothing new, they are the request.
		switch {
		case len(pending) > 0:
			conn.SetReadDeadline(time.Now().Add(s.cfg.Settle))
		case s.cfg.Idle > 0:
			conn.SetReadDeadline(time.Now().Add(s.cfg.Idle))
		default:
			conn.SetReadDeadline(time.Time{})
		}
		n, err := conn.Read(buf)
		data := buf[:n]
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				if len(pending)+len(data) > s.cfg.MaxLine {
					s.refuse(log, pending, data)
					return
				}
				pending = append(pending, data...)
				break
			}
			if len(pending)+i > s.cfg.MaxLine {
				s.refuse(log, pending, data)
				return
			}
			line := data[:i]
			if len(pending) > 0 {
				pending = append(pending, line...)
				line = pending
			}
			out = s.appendAnswer(log, out, line, true)
			answered++
			pending = pending[:0]
			data = data[i+1:]
			if s.cfg.PerConnection == One {
				reply()
				return
			}
		}
		if reply() {
			return
		}
		if err == nil {
			continue
		}
		var ne net.Error
		switch {
		case len(pending) > 0 && (errors.Is(err, io.EOF) || errors.As(err, &ne) && ne.Timeout()):
			// The settle time passed, or the client half-closed: what came is the request.
			out = s.appendAnswer(log, out, pending, false)
			answered++
			pending = pending[:0]
			if reply() || errors.Is(err, io.EOF) {
				return
			}
		case errors.Is(err, os.ErrDeadlineExceeded):
			log.Debug("idle timeout, closing", "idle", s.cfg.Idle)
			return
		default:
			return // EOF, reset, or closed at shutdown
		}
	}
}

// appendAnswer appends the reply to one request: the office, or the unknown text.
func (s *Server) appendAnswer(log *slog.Logger, out, req []byte, newline bool) []byte {
	office, ok := s.cfg.Directory[NameKey(req)]
	if !ok {
		office = s.cfg.Unknown
		log.Debug("unknown name", "name", clip(req, 60))
	}
	out = append(out, office...)
	if newline {
		out = append(out, '\n')
	}
	return out
}

// refuse logs an over-long request (showing how it starts) before the connection is closed.
func (s *Server) refuse(log *slog.Logger, pending, data []byte) {
	start := pending
	if len(start) == 0 {
		start = data
	}
	log.Warn("request longer than max_line, closing", "max_line", s.cfg.MaxLine,
		"start", clip(start, 40))
}

// lingerClose half-closes conn and discards its input until EOF, lingerTime or lingerBytes.
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
