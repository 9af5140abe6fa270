package peer

import (
	"bytes"
	"fmt"
	"time"
)

// Shaper decides how messages go onto the wire: in which writes, with which
// pauses. Each behaviour is one small type in its own file.
type Shaper interface {
	Name() string
	Write(w Wire, msgs [][]byte) error
}

// Wire is what a Shaper writes to. Every Write is one write(2) on the
// socket under its own deadline, recorded in the transcript.
type Wire interface {
	Write(p []byte) (int, error)
	// SetNoDelay turns Nagle's algorithm off (true) or on.
	SetNoDelay(noDelay bool) error
	// Pause waits d between writes (shaping, not synchronisation); it
	// returns early with an error when the connection is closed.
	Pause(d time.Duration) error
}

// Send writes msgs shaped by shaper. It returns an error naming the shaper
// and how many bytes went out when a write fails or times out.
func (c *Conn) Send(shaper Shaper, msgs ...[]byte) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	select {
	case <-c.closing:
		return fmt.Errorf("%s: send: connection already closed", c.name)
	default:
	}
	w := &connWire{c: c}
	if err := shaper.Write(w, msgs); err != nil {
		total := 0
		for _, m := range msgs {
			total += len(m)
		}
		return fmt.Errorf("%s: send (%s): %d of %d bytes written: %w", c.name, shaper.Name(), w.written, total, err)
	}
	return nil
}

// connWire is the Wire of one Send.
type connWire struct {
	c       *Conn
	written int
}

func (w *connWire) Write(p []byte) (int, error) {
	c := w.c
	at := time.Now()
	if err := c.tc.SetWriteDeadline(at.Add(c.opts.writeTimeout)); err != nil {
		return 0, err
	}
	n, err := c.tc.Write(p)
	w.written += n
	c.mu.Lock()
	if n > 0 {
		c.log.add(Sent, at, p[:n], "")
	}
	if err != nil {
		c.log.add(Event, time.Now(), nil, fmt.Sprintf("error: write: %v", err))
	}
	c.mu.Unlock()
	return n, err
}

func (w *connWire) SetNoDelay(noDelay bool) error { return w.c.tc.SetNoDelay(noDelay) }

func (w *connWire) Pause(d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-w.c.closing:
		return fmt.Errorf("connection closed during a shaping pause")
	}
}

// joined returns all messages as one byte slice.
func joined(msgs [][]byte) []byte { return bytes.Join(msgs, nil) }
