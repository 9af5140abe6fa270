// Package chatsim models a correct chat server, to produce histories that the
// oracle must accept. Tests drive it with joins, sends, server reads and
// leaves in any order, then mutate its relays to make histories the oracle
// must reject. It has no sockets and no clock: time is a tick per operation.
package chatsim

import (
	"bytes"
	"fmt"
	"time"

	"github.com/sockspec/sockspec/conformance/oracle"
)

// Record is one relay as delivered to a receiver.
type Record struct {
	Sender int
	// Lo and Hi delimit the relayed bytes in the sender's stream (everything
	// it wrote, newlines included).
	Lo, Hi int
	// Payload is what follows the prefix: the chunk the server read (Raw) or
	// the line without its newline (Lines).
	Payload []byte
}

// Client is one simulated client.
type Client struct {
	Name string
	ID   oracle.Identity

	Joined, Gone, Stopped bool
	Welcomed, LeftAt      time.Time
	How                   oracle.Leave

	Sent    []oracle.Message
	Stream  []byte   // everything the client wrote
	Records []Record // relays delivered to it, in order
	// Drop is how many bytes at the end of its rendered stream it never
	// read (it left or stopped reading); only for incomplete receivers.
	Drop int

	read int // how much of Stream the server has read
}

// Sim is the server model.
type Sim struct {
	Framing oracle.Framing
	Format  oracle.Format
	Clients []*Client
	Base    time.Time
	tick    int
}

// New makes a room of n clients named c0, c1, ... with loopback addresses
// 127.0.0.2, 127.0.0.3, ... None has joined yet.
func New(framing oracle.Framing, format oracle.Format, n int) *Sim {
	s := &Sim{Framing: framing, Format: format, Base: time.Unix(1_700_000_000, 0).UTC()}
	for i := range n {
		s.Clients = append(s.Clients, &Client{
			Name: fmt.Sprintf("c%d", i),
			ID:   oracle.Identity{IP: fmt.Sprintf("127.0.%d.%d", (i+2)/256, (i+2)%256), Port: 40000 + i, Nick: fmt.Sprintf("c%d", i)},
		})
	}
	return s
}

// now advances the clock by one tick.
func (s *Sim) now() time.Time {
	s.tick++
	return s.Base.Add(time.Duration(s.tick) * time.Millisecond)
}

func (s *Sim) connected(i int) bool {
	c := s.Clients[i]
	return c.Joined && !c.Gone
}

// Join welcomes client i.
func (s *Sim) Join(i int) {
	c := s.Clients[i]
	if !c.Joined {
		c.Joined, c.Welcomed = true, s.now()
	}
}

// Send makes client i write data. With Lines framing a missing final newline
// is added. It reports whether the client could send (it is connected).
func (s *Sim) Send(i int, data []byte) bool {
	c := s.Clients[i]
	if !s.connected(i) {
		return false
	}
	data = bytes.Clone(data)
	if s.Framing == oracle.Lines && !bytes.HasSuffix(data, []byte("\n")) {
		data = append(data, '\n')
	}
	c.Sent = append(c.Sent, oracle.Message{Data: data, At: s.now()})
	c.Stream = append(c.Stream, data...)
	return true
}

// Read makes the server read from client i: up to n bytes (Raw) or one line
// (Lines), and relay it to every other connected client. It reports whether
// anything was read.
func (s *Sim) Read(i, n int) bool {
	c := s.Clients[i]
	pending := c.Stream[c.read:]
	if len(pending) == 0 || !s.connected(i) {
		return false
	}
	s.now()
	k := min(max(n, 1), len(pending))
	if s.Framing == oracle.Lines {
		k = bytes.IndexByte(pending, '\n') + 1
	}
	lo, hi := c.read, c.read+k
	c.read = hi
	payload := c.Stream[lo:hi]
	if s.Framing == oracle.Lines {
		payload = payload[:len(payload)-1]
	}
	for j, r := range s.Clients {
		if j != i && s.connected(j) && !r.Stopped {
			r.Records = append(r.Records, Record{Sender: i, Lo: lo, Hi: hi, Payload: payload})
		}
	}
	return true
}

// Drain makes the server read everything client i has written.
func (s *Sim) Drain(i int) {
	for s.Read(i, len(s.Clients[i].Stream)) {
	}
}

// Leave makes client i leave. Before a close or half-close the server reads
// what the client wrote; after a reset that is lost. The client never reads
// the last drop bytes that were sent to it.
func (s *Sim) Leave(i int, how oracle.Leave, drop int) {
	c := s.Clients[i]
	if !s.connected(i) {
		return
	}
	if how != oracle.Reset {
		s.Drain(i)
	}
	c.Gone, c.LeftAt, c.How, c.Drop = true, s.now(), how, max(drop, 0)
}

// Stop makes client i stop reading: it stays connected but observes nothing
// more, and loses the last drop bytes sent to it so far.
func (s *Sim) Stop(i, drop int) {
	c := s.Clients[i]
	if s.connected(i) && !c.Stopped {
		c.Stopped, c.Drop = true, max(drop, 0)
	}
}

// Complete reports whether client i receives everything to the end.
func (s *Sim) Complete(i int) bool {
	c := s.Clients[i]
	return c.Joined && !c.Gone && !c.Stopped
}

// Render returns the bytes of a relay as the receiver reads it.
func (s *Sim) Render(r Record) []byte {
	out := s.Format.Render(s.Clients[r.Sender].ID, r.Payload)
	if s.Framing == oracle.Lines {
		out = append(out, '\n')
	}
	return out
}

// Received renders client i's relays, minus what it never read.
func (s *Sim) Received(i int) []byte {
	var out []byte
	for _, r := range s.Clients[i].Records {
		out = append(out, s.Render(r)...)
	}
	if !s.Complete(i) {
		out = out[:len(out)-min(s.Clients[i].Drop, len(out))]
	}
	return out
}

// Finish makes the server read everything still pending from connected
// clients, as at the end of an observation window.
func (s *Sim) Finish() {
	for i := range s.Clients {
		if s.connected(i) {
			s.Drain(i)
		}
	}
}

// History returns the recorded history (call Finish first for a window that
// ends with every message relayed). Clients that never joined appear as
// joining at the end.
func (s *Sim) History() oracle.History {
	end := s.Base.Add(time.Duration(s.tick+1) * time.Millisecond)
	h := oracle.History{Clients: make([]oracle.Client, len(s.Clients))}
	for i, c := range s.Clients {
		w := c.Welcomed
		if !c.Joined {
			w = end
		}
		h.Clients[i] = oracle.Client{
			Name: c.Name, ID: c.ID, Welcomed: w, Left: c.LeftAt, How: c.How,
			Complete: s.Complete(i), Sent: c.Sent, Received: s.Received(i),
		}
	}
	return h
}

// Options returns the oracle options matching the model.
func (s *Sim) Options() oracle.Options {
	return oracle.Options{Framing: s.Framing, Format: s.Format}
}
