package udp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/wire"
)

// readBufSize holds any UDP datagram whole, so the size of an over-long one is known and it
// can be reported before it is cut to MaxDatagram.
const readBufSize = 64 << 10

// maxBatchBytes bounds a batched reader's buffers (batch x max_datagram).
const maxBatchBytes = 1 << 20

// Server is a udp-upper or udp-pong server.
type Server struct {
	cfg   Config
	reply []byte // udp-pong
	log   *slog.Logger
	warns warnLimiter

	// forcePktinfo makes a socket bound to one address take the wildcard path (tests).
	forcePktinfo bool

	datagrams, truncated, sendFailures atomic.Uint64
}

// New returns a server for cfg; zero fields take the defaults.
func New(cfg Config, log *slog.Logger) *Server {
	def := DefaultConfig(cfg.Mode)
	if cfg.MaxDatagram <= 0 {
		cfg.MaxDatagram = def.MaxDatagram
	}
	cfg.MaxDatagram = min(cfg.MaxDatagram, MaxUDPPayload)
	if cfg.Readers <= 0 {
		cfg.Readers = def.Readers
	}
	if cfg.Batch <= 0 {
		cfg.Batch = def.Batch
	}
	cfg.Batch = max(1, min(cfg.Batch, maxBatchBytes/cfg.MaxDatagram))
	if log == nil {
		log = kit.Discard()
	}
	return &Server{cfg: cfg, reply: []byte(cfg.Reply), log: log}
}

// Serve answers datagrams on l.Packet until ctx ends, then closes it (as kit.ServeTCP closes
// its listener), waits for its readers and returns nil. It returns an error only when the
// socket fails under it (closed by someone else).
func (s *Server) Serve(ctx context.Context, l kit.Listener) error {
	pc := l.Packet
	if pc == nil {
		return fmt.Errorf("%s: Serve needs a packet conn (kit.Listener.Packet), got none", s.cfg.Mode)
	}
	newReader, err := planConn(pc, s.cfg.Batch, s.cfg.MaxDatagram, s.forcePktinfo)
	if err != nil {
		pc.Close()
		return fmt.Errorf("%s: enabling packet info on %s: %w", s.cfg.Mode, pc.LocalAddr(), err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Closing the socket is what unblocks the readers.
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		<-ctx.Done()
		pc.Close()
	}()

	s.log.Info("serving", "protocol", s.cfg.Mode.String(), "addr", pc.LocalAddr().String(),
		"max_datagram", s.cfg.MaxDatagram, "readers", s.cfg.Readers, "batch", s.cfg.Batch)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		fatal error
	)
	for range s.cfg.Readers {
		wg.Go(func() {
			c, slots := newReader()
			if err := s.readLoop(ctx, c, slots); err != nil {
				once.Do(func() { fatal = err })
				cancel()
			}
		})
	}
	wg.Wait()
	cancel()
	<-closed
	s.log.Info("stopped", "protocol", s.cfg.Mode.String(), "datagrams", s.datagrams.Load(),
		"truncated", s.truncated.Load(), "send_failures", s.sendFailures.Load())
	return fatal
}

// readLoop reads what has arrived (up to len(slots) datagrams), builds each reply and sends
// them all back, each to its source.
func (s *Server) readLoop(ctx context.Context, c datagramConn, slots []datagram) error {
	debug := s.log.Enabled(ctx, slog.LevelDebug)
	const firstBackoff = 5 * time.Millisecond
	backoff := firstBackoff
	for {
		k, err := c.recv(slots)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("%s: socket closed while serving: %w", s.cfg.Mode, err)
			}
			// Anything else (out of buffers, a deadline someone else set) is retried after a
			// pause rather than spun on or treated as the end.
			s.warn("read failed, retrying", "err", err, "in", backoff)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return nil
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = firstBackoff
		s.datagrams.Add(uint64(k))
		for i := range k {
			s.answer(&slots[i])
			if debug {
				s.log.Debug("datagram", "from", slots[i].from.String(), "size", slots[i].n, "reply_size", len(slots[i].reply))
			}
		}
		for sent := 0; sent < k; {
			m, err := c.send(slots[sent:k])
			sent += m
			if err == nil {
				continue
			}
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("%s: socket closed while serving: %w", s.cfg.Mode, err)
			}
			// That one reply is lost (as UDP allows); the others still go.
			s.sendFailures.Add(1)
			s.warn("reply not sent", "to", slots[sent].from.String(), "size", len(slots[sent].reply), "err", err)
			sent++
		}
	}
}

// answer builds d's reply, first cutting an over-long datagram to max_datagram as the
// seed's recvfrom(2048) does.
func (s *Server) answer(d *datagram) {
	msg := d.buf[:min(d.n, len(d.buf), s.cfg.MaxDatagram)]
	if d.n > s.cfg.MaxDatagram {
		s.truncated.Add(1)
		s.warn("datagram truncated to max_datagram", "from", d.from.String(), "size", d.n, "max_datagram", s.cfg.MaxDatagram)
	}
	if s.cfg.Mode == Pong {
		d.reply = s.reply
		return
	}
	d.out = wire.AppendUpper(s.cfg.Case, d.out[:0], msg)
	d.reply = d.out
}

// warn logs at Warn level, at most warnBurst messages a second: a flood of bad datagrams
// must not turn into a flood of log lines (a blocked log pipe would stall the server).
func (s *Server) warn(msg string, args ...any) {
	ok, suppressed := s.warns.allow(time.Now())
	if !ok {
		return
	}
	if suppressed > 0 {
		args = append(args, "suppressed_before", suppressed)
	}
	s.log.Warn(msg, args...)
}

const warnBurst = 10

type warnLimiter struct {
	mu         sync.Mutex
	window     time.Time
	n          int
	suppressed int
}

// allow reports whether a warning may be logged now, and how many were dropped since the
// last one that was.
func (w *warnLimiter) allow(now time.Time) (bool, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if now.Sub(w.window) >= time.Second {
		w.window, w.n = now, 0
	}
	if w.n >= warnBurst {
		w.suppressed++
		return false, 0
	}
	w.n++
	s := w.suppressed
	w.suppressed = 0
	return true, s
}
