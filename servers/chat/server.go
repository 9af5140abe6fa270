package chat

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/wire"
)

const (
	// linesReadSize is the read buffer of lines framing: big enough that a flood of small
	// lines becomes one relay batch per read, small enough for many idle clients.
	linesReadSize = 16 << 10
	// batchFlush is the size at which the relays formatted from one read are handed to the
	// room before the read is fully processed, bounding a batch.
	batchFlush = 64 << 10
)

// Server is the chat reference server.
type Server struct {
	cfg     Config
	c       compiled
	cfgErr  error
	welcome []byte
	max     int
	log     *slog.Logger

	joinedHook func(*client) // tests: called after a client joined the room
}

// New returns a server for cfg. A Config that ParseConfig would refuse makes Serve fail.
func New(cfg Config, log *slog.Logger) *Server {
	if log == nil {
		log = kit.Discard()
	}
	c, err := cfg.compile()
	return &Server{cfg: cfg, c: c, cfgErr: err, welcome: []byte(cfg.Welcome), max: cfg.MaxMessageBytes(), log: log}
}

// Config returns the server's configuration.
func (s *Server) Config() Config { return s.cfg }

// Serve runs the chat room on l.Stream until ctx ends, then closes every client and returns
// nil once all of its goroutines have ended.
func (s *Server) Serve(ctx context.Context, l kit.Listener) error {
	if s.cfgErr != nil {
		return s.cfgErr
	}
	if l.Stream == nil {
		return errors.New("chat: needs a stream (TCP) listener")
	}
	r := &room{limit: s.cfg.Queue, slowTimeout: s.cfg.SlowTimeout, dropped: func(c *client, queued int) {
		s.log.Info("dropped a client that stopped reading", "remote", c.conn.RemoteAddr().String(),
			"queued_bytes", queued, "queue", s.cfg.Queue, "slow_timeout", s.cfg.SlowTimeout)
	}}
	return kit.ServeTCP(ctx, l.Stream, kit.Model{Kind: "per-conn"}, s.log, func(ctx context.Context, conn net.Conn) {
		s.handle(conn, r)
	})
}

// handle runs one client: join script, welcome, then reading and relaying until it leaves.
// kit.ServeTCP closes conn on shutdown, which ends every blocking call here.
func (s *Server) handle(conn net.Conn, r *room) {
	remote := conn.RemoteAddr().String()
	p := peerOf(conn)
	var rest []byte
	if len(s.c.join) > 0 {
		if s.cfg.JoinTimeout > 0 {
			conn.SetDeadline(time.Now().Add(s.cfg.JoinTimeout))
		}
		var err error
		p.nick, rest, err = runJoin(conn, s.c.join, p)
		if err != nil {
			s.logJoinFailure(remote, err)
			return
		}
		conn.SetDeadline(time.Time{})
	}

	c := newClient(conn)
	// The welcome is the first thing in c's queue, so it precedes every relay, and c is a
	// member before the welcome can arrive: a client that has read the welcome receives every
	// relay that follows.
	r.add(c, s.welcome)
	s.log.Debug("client joined", "remote", remote, "nick", p.nick)
	if s.joinedHook != nil {
		s.joinedHook(c)
	}
	var wg sync.WaitGroup
	wg.Go(func() { c.writeLoop(s.cfg.Queue) })
	reason := s.readLoop(c, s.c.relay.bind(p), rest, r)
	r.remove(c)
	conn.Close() // unblocks a writer stuck on a peer that does not read
	wg.Wait()

	switch {
	case c.slow.Load():
		// already logged by the room
	case reason.warn:
		s.log.Warn("closed a client", "remote", remote, "reason", reason.err)
	default:
		if we := c.writeErr.Load(); we != nil {
			reason.err = *we
		}
		s.log.Debug("client left", "remote", remote, "reason", reason.err)
	}
}

func (s *Server) logJoinFailure(remote string, err error) {
	var je *joinError
	switch {
	case errors.As(err, &je):
		s.log.Warn("join refused", "remote", remote, "reason", err)
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.log.Info("join timed out", "remote", remote, "join_timeout", s.cfg.JoinTimeout)
	default:
		s.log.Debug("client left during join", "remote", remote, "reason", err)
	}
}

// leaveReason says why a reader stopped; warn marks refused input.
type leaveReason struct {
	err  error
	warn bool
}

// readLoop reads c's messages and relays them until the client leaves. rest holds bytes that
// arrived with the join script.
func (s *Server) readLoop(c *client, f relayFormat, rest []byte, r *room) leaveReason {
	var (
		buf  []byte
		feed func(p []byte) error
	)
	if s.cfg.Framing == FramingLines {
		buf = make([]byte, linesReadSize)
		lr := &lineRelayer{dec: wire.LineDecoder{Max: s.max}, format: f, from: c, room: r}
		lr.emit = lr.relayLine
		feed = lr.feed
	} else {
		buf = make([]byte, s.max)
		feed = func(p []byte) error {
			// Raw framing: a relay is the format applied to exactly what one read returned.
			for len(p) > 0 {
				chunk := p[:min(len(p), s.max)]
				p = p[len(chunk):]
				r.broadcast(c, f.appendRelay(make([]byte, 0, f.size(len(chunk))), chunk))
			}
			return nil
		}
	}
	if len(rest) > 0 {
		if err := feed(rest); err != nil {
			return leaveReason{err: err, warn: true}
		}
	}
	idle := kit.IdleReader{Conn: c.conn, Idle: s.cfg.Idle}
	for {
		n, err := idle.Read(buf)
		if n > 0 {
			if ferr := feed(buf[:n]); ferr != nil {
				return leaveReason{err: ferr, warn: true}
			}
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && s.cfg.Idle > 0 {
				s.log.Info("closed an idle client", "remote", c.conn.RemoteAddr().String(), "idle", s.cfg.Idle)
			}
			if err == io.EOF {
				err = errors.New("client closed its side (EOF)")
			}
			return leaveReason{err: err}
		}
	}
}

// lineRelayer turns the lines of one read into one batch of relays, so that the room is
// locked once per read rather than once per line.
type lineRelayer struct {
	dec    wire.LineDecoder
	format relayFormat
	from   *client
	room   *room
	batch  []byte             // relays formatted but not yet handed to the room
	hint   int                // size of the current read
	emit   func([]byte) error // relayLine, bound once
}

func (l *lineRelayer) feed(p []byte) error {
	l.hint = len(p)
	err := l.dec.Feed(p, l.emit)
	l.flush()
	return err
}

func (l *lineRelayer) relayLine(line []byte) error {
	if l.batch == nil { // sized for this read's lines; relays are shared, so never reused
		l.batch = make([]byte, 0, max(l.format.size(len(line))+1, min(2*l.hint+l.format.fixed+64, batchFlush)))
	}
	l.batch = l.format.appendRelay(l.batch, line)
	l.batch = append(l.batch, '\n')
	if len(l.batch) >= batchFlush {
		l.flush()
	}
	return nil
}

func (l *lineRelayer) flush() {
	if len(l.batch) > 0 {
		l.room.broadcast(l.from, l.batch)
	}
	l.batch = nil
}

// peerOf reads the client's address for {ip} and {port} (an IPv4 client of a dual-stack
// listener shows as IPv4, as it would to a Python server bound to IPv4).
func peerOf(conn net.Conn) peer {
	var ap netip.AddrPort
	if ta, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		ap = ta.AddrPort()
	} else if parsed, err := netip.ParseAddrPort(conn.RemoteAddr().String()); err == nil {
		ap = parsed
	} else {
		return peer{ip: conn.RemoteAddr().String()}
	}
	return peer{ip: ap.Addr().Unmap().WithZone("").String(), port: strconv.Itoa(int(ap.Port()))}
}
