// Package peer is the tester's side of a connection to a target: it keeps a
// full transcript with times, shapes how bytes go onto the wire, reads in
// the background into a bounded buffer, and waits for what it expects with
// deadlines and errors that show what arrived instead.
package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"
)

// Conn is a TCP connection to a target.
type Conn struct {
	name  string
	tc    *net.TCPConn
	start time.Time
	opts  options

	sendMu sync.Mutex // one Send at a time keeps the transcript in wire order

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change below
	buf     []byte        // received and not consumed
	total   int64         // bytes received since dialling
	log     transcriptLog
	end     *ending // why reading stopped; nil while it goes on
	paused  bool    // StopReading asked the reader to pause
	parked  bool    // the reader is paused
	closed  bool

	closing    chan struct{} // closed by Close: ends shaping pauses
	readerDone chan struct{}
	closeOnce  sync.Once
	closeErr   error
}

// ending records how the reading side ended.
type ending struct {
	how string // "eof", "reset", "limit", "error", "closed"
	err error  // the read error, or nil for "eof"
	at  time.Duration
}

// Dial connects to addr ("127.0.0.1:9000") and starts the background reader.
func Dial(ctx context.Context, addr string, opts ...Option) (*Conn, error) {
	o := newOptions(opts)
	if o.err != nil {
		return nil, fmt.Errorf("%s: %w", o.name, o.err)
	}
	d := net.Dialer{Timeout: o.dialTimeout, Control: o.control}
	if o.from.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: o.from.AsSlice()}
	}
	start := time.Now()
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: connect to %s: %w", o.name, addr, err)
	}
	c := &Conn{
		name:       o.name,
		tc:         nc.(*net.TCPConn),
		start:      start,
		opts:       o,
		changed:    make(chan struct{}),
		log:        transcriptLog{name: o.name, start: start},
		closing:    make(chan struct{}),
		readerDone: make(chan struct{}),
	}
	c.log.add(Event, time.Now(), nil, fmt.Sprintf("connected %s -> %s", nc.LocalAddr(), nc.RemoteAddr()))
	go c.readLoop()
	return c, nil
}

// Name returns the peer's name.
func (c *Conn) Name() string { return c.name }

// LocalAddr returns our end's address (the source IP the target sees).
func (c *Conn) LocalAddr() netip.AddrPort { return c.tc.LocalAddr().(*net.TCPAddr).AddrPort() }

// RemoteAddr returns the target's address.
func (c *Conn) RemoteAddr() netip.AddrPort { return c.tc.RemoteAddr().(*net.TCPAddr).AddrPort() }

// broadcastLocked wakes everyone waiting for a change. c.mu must be held.
func (c *Conn) broadcastLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *Conn) readLoop() {
	defer close(c.readerDone)
	chunk := make([]byte, 64*1024)
	for {
		c.mu.Lock()
		for c.paused && !c.closed {
			c.parked = true
			c.broadcastLocked() // StopReading waits for this
			wake := c.changed
			c.mu.Unlock()
			<-wake
			c.mu.Lock()
		}
		c.parked = false
		if c.closed || c.end != nil {
			c.mu.Unlock()
			return
		}
		// Read one byte more than the room left, to tell "exactly at the
		// limit" from "beyond it".
		room := c.opts.readLimit - len(c.buf)
		c.mu.Unlock()

		n, err := c.tc.Read(chunk[:min(len(chunk), room+1)])
		now := time.Now()

		c.mu.Lock()
		if n > 0 {
			if keep := min(n, room); keep > 0 {
				c.buf = append(c.buf, chunk[:keep]...)
				c.total += int64(keep)
				c.log.add(Received, now, chunk[:keep], "")
			}
			if n > room {
				c.endLocked(now, "limit", fmt.Errorf("target sent more than %d bytes (read limit)", c.opts.readLimit))
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded) && !c.closed:
			// StopReading interrupted the read; loop to park (or go on if
			// ResumeReading already cleared the deadline).
		case c.closed:
			// our own Close
		case err == io.EOF:
			c.endLocked(now, "eof", nil)
		case errors.Is(err, syscall.ECONNRESET):
			c.endLocked(now, "reset", err)
		default:
			c.endLocked(now, "error", err)
		}
		c.broadcastLocked()
		c.mu.Unlock()
	}
}

// endLocked records that reading has ended, once. c.mu must be held.
func (c *Conn) endLocked(now time.Time, how string, err error) {
	if c.end != nil {
		return
	}
	c.end = &ending{how: how, err: err, at: now.Sub(c.start)}
	c.log.add(Event, now, nil, c.end.describe())
}

func (e *ending) describe() string {
	switch e.how {
	case "eof":
		return "EOF"
	case "reset":
		return "reset by target"
	case "closed":
		return "closed by us"
	case "limit":
		return e.err.Error()
	default:
		return "error: " + e.err.Error()
	}
}

// StopReading pauses the background reader: once it returns, nothing more is
// read, so the kernel's receive window fills and the target's writes block.
func (c *Conn) StopReading() error {
	c.mu.Lock()
	if c.paused {
		c.mu.Unlock()
		return nil
	}
	c.paused = true
	c.log.add(Event, time.Now(), nil, "stopped reading")
	// Interrupt a Read in progress. The deadline changes under c.mu so the
	// last of StopReading and ResumeReading decides it.
	_ = c.tc.SetReadDeadline(time.Now())
	deadline := time.Now().Add(5 * time.Second)
	for !c.parked && c.end == nil && !c.closed {
		wake := c.changed
		c.mu.Unlock()
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("%s: the reader did not pause within 5s", c.name)
		}
		timer := time.NewTimer(left)
		select {
		case <-wake:
		case <-timer.C:
		}
		timer.Stop()
		c.mu.Lock()
	}
	c.mu.Unlock()
	return nil
}

// ResumeReading undoes StopReading.
func (c *Conn) ResumeReading() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.paused {
		return
	}
	c.paused = false
	_ = c.tc.SetReadDeadline(time.Time{})
	c.log.add(Event, time.Now(), nil, "resumed reading")
	c.broadcastLocked()
}

// Transcript returns a snapshot of everything sent, received and observed.
func (c *Conn) Transcript() Transcript {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log.snapshot()
}

// Received returns a copy of the bytes received since the last Consume.
func (c *Conn) Received() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.buf...)
}

// Consume drops the first n received bytes (all of them if fewer), so that
// the next waits look at what follows.
func (c *Conn) Consume(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n = min(max(n, 0), len(c.buf))
	// Copy down rather than reslice, so the buffer's memory stays bounded.
	c.buf = c.buf[:copy(c.buf, c.buf[n:])]
	c.broadcastLocked() // the reader may have room again
}

// HalfClose shuts down our sending side (FIN); reading goes on.
func (c *Conn) HalfClose() error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	err := c.tc.CloseWrite()
	c.record(Event, nil, "half-close (we sent FIN)")
	if err != nil {
		return fmt.Errorf("%s: half-close: %w", c.name, err)
	}
	return nil
}

// Reset aborts the connection with an RST (SO_LINGER 0, then close).
func (c *Conn) Reset() error {
	c.sendMu.Lock()
	err := c.tc.SetLinger(0)
	c.record(Event, nil, "reset (we sent RST)")
	c.sendMu.Unlock()
	if err != nil {
		return fmt.Errorf("%s: reset: %w", c.name, err)
	}
	return c.Close()
}

// Close closes the connection and waits for the background reader to end.
// It is safe to call more than once.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		now := time.Now()
		c.mu.Lock()
		c.closed = true
		if c.end == nil {
			c.end = &ending{how: "closed", at: now.Sub(c.start)}
		}
		c.log.add(Event, now, nil, "closed by us")
		c.broadcastLocked()
		c.mu.Unlock()
		close(c.closing)
		if err := c.tc.Close(); err != nil {
			c.closeErr = fmt.Errorf("%s: close: %w", c.name, err)
		}
		<-c.readerDone // Close makes any Read return at once
	})
	return c.closeErr
}

// record adds an entry stamped now.
func (c *Conn) record(dir Dir, data []byte, event string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log.add(dir, time.Now(), data, event)
}
