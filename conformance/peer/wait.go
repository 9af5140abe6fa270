package peer

import (
	"fmt"
	"time"
)

// WaitError says what a wait expected and what had arrived instead.
type WaitError struct {
	Name     string        // the peer
	Want     string        // what was awaited: "the expected bytes", "12 bytes", "EOF"
	Waited   time.Duration // the timeout
	TimedOut bool          // false: the connection ended (or reading was paused) first
	Ended    string        // how reading had ended ("EOF", "reset by target", ...), or ""
	Got      []byte        // received since the last Consume, cut at maxErrorBytes
	GotLen   int           // the full count of those bytes
}

// maxErrorBytes bounds the received bytes an error keeps and shows.
const maxErrorBytes = 4096

func (e *WaitError) Error() string {
	got := fmt.Sprintf("got %d bytes: %s", e.GotLen, Quote(e.Got, e.GotLen, DefaultShownBytes))
	if e.GotLen == 0 {
		got = "got nothing"
	}
	switch {
	case e.TimedOut && e.Ended != "":
		return fmt.Sprintf("%s: timed out after %v waiting for %s; %s; reading had ended: %s", e.Name, e.Waited, e.Want, got, e.Ended)
	case e.TimedOut:
		return fmt.Sprintf("%s: timed out after %v waiting for %s; %s", e.Name, e.Waited, e.Want, got)
	default:
		return fmt.Sprintf("%s: %s while waiting for %s; %s", e.Name, e.Ended, e.Want, got)
	}
}

// Timeout reports whether the wait ran out of time (as net.Error does).
func (e *WaitError) Timeout() bool { return e.TimedOut }

func (c *Conn) waitErrorLocked(want string, timeout time.Duration, timedOut bool, ended string) *WaitError {
	got := c.buf[:min(len(c.buf), maxErrorBytes)]
	return &WaitError{
		Name: c.name, Want: want, Waited: timeout, TimedOut: timedOut, Ended: ended,
		Got: append([]byte(nil), got...), GotLen: len(c.buf),
	}
}

// wait blocks until done (called with c.mu held) is true, reading has ended,
// or timeout passes. A paused reader fails the wait at once: nothing new
// can arrive.
func (c *Conn) wait(timeout time.Duration, want string, done func() bool) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	deadline := time.Now().Add(timeout)
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if done() {
			return nil
		}
		if c.end != nil {
			return c.waitErrorLocked(want, timeout, false, c.end.describe())
		}
		if c.paused {
			return c.waitErrorLocked(want, timeout, false, "reading is paused (StopReading)")
		}
		left := time.Until(deadline)
		if left <= 0 {
			return c.waitErrorLocked(want, timeout, true, "")
		}
		if timer == nil {
			timer = time.NewTimer(left)
		}
		wake := c.changed
		c.mu.Unlock()
		select {
		case <-wake:
		case <-timer.C:
		}
		c.mu.Lock()
	}
}

// WaitFor waits until pred is true of the bytes received since the last
// Consume. pred runs with the connection locked: it must be quick, must not
// keep or change the slice, and must not call methods of c.
func (c *Conn) WaitFor(timeout time.Duration, pred func(received []byte) bool) error {
	return c.wait(timeout, "the expected bytes", func() bool { return pred(c.buf) })
}

// WaitBytes waits for at least n bytes since the last Consume and returns a
// copy of the first n (without consuming them).
func (c *Conn) WaitBytes(timeout time.Duration, n int) ([]byte, error) {
	var out []byte
	err := c.wait(timeout, fmt.Sprintf("%d bytes", n), func() bool {
		if len(c.buf) < n {
			return false
		}
		out = append([]byte(nil), c.buf[:n]...)
		return true
	})
	return out, err
}

// WaitEOF waits until the target closes its side: how is "eof" for a clean
// FIN and "reset" for an RST. Bytes that arrive meanwhile are kept.
func (c *Conn) WaitEOF(timeout time.Duration) (how string, err error) {
	err = c.wait(timeout, "the target to close the connection", func() bool {
		if c.end != nil && (c.end.how == "eof" || c.end.how == "reset") {
			how = c.end.how
			return true
		}
		return false
	})
	return how, err
}

// Quiet reports whether no byte arrived during d. It returns false as soon
// as one does. This is a measurement window, not a synchronisation.
func (c *Conn) Quiet(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	c.mu.Lock()
	before := c.total
	for {
		wake := c.changed
		c.mu.Unlock()
		select {
		case <-timer.C:
			c.mu.Lock()
			quiet := c.total == before
			c.mu.Unlock()
			return quiet
		case <-wake:
		}
		c.mu.Lock()
		if c.total != before {
			c.mu.Unlock()
			return false
		}
	}
}
