package chat

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// room is the set of joined clients and the single ordering point of relays: a relay is
// appended to every receiver's queue under mu, so all receivers see relays in one order.
//
// Flow control: a receiver whose queue holds more than limit bytes makes each sender wait
// (outside mu) until it drains below limit, so a burst is paced by the receivers instead of
// overflowing them. A receiver that went over the limit and has not drained to half of it
// within slowTimeout has stopped reading (or reads far slower than the room talks): it is
// dropped, so it stalls the others for at most slowTimeout.
type room struct {
	mu          sync.Mutex
	members     []*client
	limit       int                         // per-client queue bound in bytes
	slowTimeout time.Duration               // how long a client may stay over limit
	dropped     func(c *client, queued int) // called (outside mu) for a client dropped as too slow
}

// client is one joined connection. Its writer goroutine drains the queue with one writev per
// wake-up; relays are shared, read-only byte slices. Tried and measured with bench/chat (server
// in its own process, medians of alternating runs): non-blocking writes from the sender's
// goroutine to idle receivers, falling back to the writer when the socket is full, serialise
// the fan-out on one thread (p99 x1.4 with Go clients; with the lean C load generator p50
// x0.63 but p99 x1.8); sharing each broadcast's writes between the sender and
// GOMAXPROCS helper goroutines wakes 2 goroutines instead of 99 but saved at most 10% of the
// server's CPU (85% of it is in writev) and did not lower p99; GOMAXPROCS=1 made p99 x1.45.
type client struct {
	conn net.Conn
	idx  int // position in room.members; -1 when not a member (guarded by room.mu)

	mu        sync.Mutex
	queue     [][]byte      // relays not yet taken by the writer
	pending   int           // bytes queued or being written: what the limit counts
	overSince time.Time     // when pending went over the limit; zero once under half of it
	notFull   chan struct{} // closed when pending falls back under the limit (made on demand)

	wake     chan struct{} // a token when the queue became non-empty
	done     chan struct{} // closed when the client leaves the room
	slow     atomic.Bool   // dropped because it stopped reading
	writeErr atomic.Pointer[error]

	congested []*client // scratch of this client's reader: receivers to wait for
}

func newClient(conn net.Conn) *client {
	return &client{conn: conn, idx: -1, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// add makes c a member. first (the welcome) is queued before c can receive any relay.
func (r *room) add(c *client, first []byte) {
	if len(first) > 0 {
		c.enqueue(first, 0)
	}
	r.mu.Lock()
	c.idx = len(r.members)
	r.members = append(r.members, c)
	r.mu.Unlock()
}

// remove takes c out of the room (once) and stops its writer.
func (r *room) remove(c *client) {
	r.mu.Lock()
	r.removeLocked(c)
	r.mu.Unlock()
}

func (r *room) removeLocked(c *client) {
	if c.idx < 0 {
		return
	}
	last := len(r.members) - 1
	r.members[c.idx] = r.members[last]
	r.members[c.idx].idx = c.idx
	r.members[last] = nil
	r.members = r.members[:last]
	c.idx = -1
	close(c.done)
}

// broadcast queues relay for every member except from, then waits while any receiver is
// over the queue limit (flow control), dropping receivers that stay over it too long.
func (r *room) broadcast(from *client, relay []byte) {
	if len(relay) == 0 { // an empty relay format
		return
	}
	congested := from.congested[:0]
	r.mu.Lock()
	for _, m := range r.members {
		if m != from && m.enqueue(relay, r.limit) {
			congested = append(congested, m)
		}
	}
	r.mu.Unlock()
	for i, m := range congested {
		r.waitDrained(m)
		congested[i] = nil
	}
	from.congested = congested[:0]
}

// waitDrained waits until m's queue is under the limit or m left; m is dropped if it has not
// drained to half the limit within slowTimeout of going over it.
func (r *room) waitDrained(m *client) {
	for {
		m.mu.Lock()
		if m.pending <= r.limit {
			m.mu.Unlock()
			return
		}
		if m.notFull == nil {
			m.notFull = make(chan struct{})
		}
		notFull, wait := m.notFull, time.Until(m.overSince.Add(r.slowTimeout))
		m.mu.Unlock()
		if wait <= 0 {
			r.drop(m)
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-notFull:
		case <-m.done:
		case <-t.C:
		}
		t.Stop()
	}
}

// drop removes m if it is still a member over the limit, and resets its connection rather
// than keep sending megabytes to a peer that does not read.
func (r *room) drop(m *client) {
	r.mu.Lock()
	m.mu.Lock()
	queued := m.pending
	over := m.idx >= 0 && queued > r.limit
	m.mu.Unlock()
	if over {
		m.slow.Store(true)
		r.removeLocked(m)
	}
	r.mu.Unlock()
	if !over {
		return
	}
	if r.dropped != nil {
		r.dropped(m, queued)
	}
	if tc, ok := m.conn.(interface{ SetLinger(int) error }); ok {
		tc.SetLinger(0)
	}
	m.conn.Close()
}

// enqueue appends b and reports whether the queue is now over limit (0: no limit).
func (c *client) enqueue(b []byte, limit int) (over bool) {
	c.mu.Lock()
	c.queue = append(c.queue, b)
	c.pending += len(b)
	first := len(c.queue) == 1
	if limit > 0 && c.pending > limit {
		over = true
		if c.overSince.IsZero() {
			c.overSince = time.Now()
		}
	}
	c.mu.Unlock()
	if first { // the writer drains until empty, so only the first relay needs to wake it
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	return over
}

// writeLoop sends queued relays until the client leaves the room or a write fails; then it
// closes the connection so that the reader stops too.
func (c *client) writeLoop(limit int) {
	var spare [][]byte
	written := 0
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		for {
			c.mu.Lock()
			c.pending -= written
			if c.pending <= limit && c.notFull != nil {
				close(c.notFull)
				c.notFull = nil
			}
			if c.pending <= limit/2 { // hysteresis: a client hovering at the limit is too slow
				c.overSince = time.Time{}
			}
			q := c.queue
			c.queue = spare
			c.mu.Unlock()
			written = 0
			if len(q) == 0 {
				spare = q
				break
			}
			for _, b := range q {
				written += len(b)
			}
			bufs := net.Buffers(q) // writev; WriteTo consumes bufs but not the relays
			_, err := bufs.WriteTo(c.conn)
			clear(q)
			spare = q[:0]
			if err != nil {
				c.writeErr.Store(&err)
				c.conn.Close()
				return
			}
		}
	}
}
