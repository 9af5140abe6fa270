package faulty

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sockspec/sockspec/servers/kit"
)

// ChatBugs lists the broken chat servers, by name, with the bug each carries.
var ChatBugs = map[string]string{
	"busy-loop":          "spins on the empty recv() of a departed client instead of closing it",
	"keeps-departed":     "never closes the socket of a client that left",
	"echoes-sender":      "relays each message to its sender too",
	"loses-concurrent":   "drops a message when another broadcast is in progress",
	"duplicates":         "relays every fifth message twice",
	"reorders":           "swaps each pair of one sender's messages",
	"per-receiver-order": "delivers messages of different senders in a different order to half the receivers",
	"drops-non-utf8":     "silently drops messages that are not UTF-8",
	"blocking-broadcast": "sends to every client in turn, blocking on a full one",
	"handshake-accept":   "reads the nickname inside the accept loop",
	"crashes-bad-input":  "stops serving altogether on bytes that are not UTF-8",
	"wrong-welcome":      "sends a welcome that differs from the profile's",
	"forgets-departed":   "closes a departed client but keeps it in the list; a failed send then ends the sender's session",
	"wrong-format":       "relays \"[ip] msg\" instead of the profile's \"<ip> msg\"",
	"drops-small-reads":  "ignores reads shorter than 4 bytes, taking them for noise",
	"truncates":          "relays at most the first 1024 bytes of each read",
}

// Chat is a C199-style chat server (raw framing, relay "<{ip}> {msg}", the seed's welcome)
// carrying one bug. With Join set it first sends "NICKNAME" and reads a nickname line, as the
// nickname variants do.
type Chat struct {
	Bug  string
	Join bool

	mu      sync.Mutex
	clients []*chatClient
	count   int // messages relayed so far
	wg      sync.WaitGroup
}

type chatClient struct {
	conn  net.Conn
	index int
	held  []byte // per-receiver-order: a relay held back for this receiver
	wmu   sync.Mutex
}

// NewChat returns the broken chat server, or an error for an unknown bug.
func NewChat(bug string) (*Chat, error) {
	if _, ok := ChatBugs[bug]; !ok {
		return nil, fmt.Errorf("no faulty chat server %q", bug)
	}
	return &Chat{Bug: bug, Join: bug == "handshake-accept"}, nil
}

// Serve implements kit.Server.
func (s *Chat) Serve(ctx context.Context, l kit.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ln := l.Stream
	go func() {
		<-ctx.Done()
		ln.Close()
		s.mu.Lock()
		for _, c := range s.clients {
			c.conn.Close()
		}
		s.mu.Unlock()
	}()
	defer s.wg.Wait()
	for n := 0; ; n++ {
		conn, err := ln.Accept()
		if err != nil {
			return nil
		}
		welcome := "Welcome to this chatroom!"
		if s.Bug == "wrong-welcome" {
			welcome = "Welcome to the chatroom!"
		}
		if s.Join {
			conn.Write([]byte("NICKNAME"))
			if s.Bug == "handshake-accept" {
				// The bug: a silent client blocks every later one here.
				buf := make([]byte, 64)
				conn.SetReadDeadline(time.Now().Add(30 * time.Second))
				conn.Read(buf)
				conn.SetReadDeadline(time.Time{})
			}
		}
		conn.Write([]byte(welcome))
		c := &chatClient{conn: conn, index: n}
		s.mu.Lock()
		s.clients = append(s.clients, c)
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(ctx, c, cancel)
		}()
	}
}

func (s *Chat) handle(ctx context.Context, c *chatClient, stop context.CancelFunc) {
	ip := c.conn.RemoteAddr().(*net.TCPAddr).IP.String()
	buf := make([]byte, 2048)
	var pending []byte // reorders: the message held back
	for {
		n, err := c.conn.Read(buf)
		if ne, ok := err.(net.Error); ok && ne.Timeout() && pending != nil {
			s.broadcast(c, ip, pending) // reorders: nothing followed the held message
			pending = nil
			c.conn.SetReadDeadline(time.Time{})
			continue
		}
		if n == 0 || err != nil {
			switch s.Bug {
			case "busy-loop":
				s.remove(c)
				for ctx.Err() == nil { // the bug: spins until the server stops
					c.conn.Read(buf)
				}
				return
			case "keeps-departed":
				return // the bug: neither closed nor removed
			case "forgets-departed":
				c.conn.Close() // the bug: still in the list
				return
			}
			s.remove(c)
			c.conn.Close()
			return
		}
		msg := append([]byte(nil), buf[:n]...)
		switch {
		case s.Bug == "drops-small-reads" && n < 4:
			continue // the bug: one recv() is taken for one message
		case s.Bug == "truncates" && n > 1024:
			msg = msg[:1024] // the bug: the rest of the read is lost
		}
		if !utf8.Valid(msg) {
			switch s.Bug {
			case "drops-non-utf8":
				continue
			case "crashes-bad-input":
				stop() // the whole server goes down
				return
			}
		}
		if s.Bug == "reorders" {
			if pending == nil {
				pending = msg
				// Flush a lone held message after a moment, so that nothing is lost.
				c.conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				continue
			}
			s.broadcast(c, ip, msg)
			msg, pending = pending, nil
			c.conn.SetReadDeadline(time.Time{})
		}
		if !s.broadcast(c, ip, msg) && s.Bug == "forgets-departed" {
			s.remove(c) // the bug: one failed send ends this client's session, silently
			c.conn.Close()
			return
		}
	}
}

func (s *Chat) remove(c *chatClient) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.clients {
		if x == c {
			s.clients = append(s.clients[:i], s.clients[i+1:]...)
			return
		}
	}
}

// broadcast relays msg to the others and reports whether every write succeeded.
func (s *Chat) broadcast(from *chatClient, ip string, msg []byte) bool {
	relay := append([]byte("<"+ip+"> "), msg...)
	if s.Bug == "wrong-format" {
		relay = append([]byte("["+ip+"] "), msg...)
	}
	if s.Bug == "loses-concurrent" {
		if !s.mu.TryLock() {
			return true // the bug: a concurrent broadcast loses this message
		}
	} else {
		s.mu.Lock()
	}
	s.count++
	times := 1
	if s.Bug == "duplicates" && s.count%5 == 0 {
		times = 2
	}
	targets := append([]*chatClient(nil), s.clients...)
	if s.Bug == "loses-concurrent" {
		// Deliver while holding the lock (as students do), so that broadcasts overlap.
		defer s.mu.Unlock()
		for _, c := range targets {
			if c != from {
				s.deliver(c, from, relay)
			}
		}
		return true
	}
	if s.Bug == "blocking-broadcast" {
		defer s.mu.Unlock() // the bug: one full socket blocks every broadcast
		for _, c := range targets {
			if c != from {
				c.conn.SetWriteDeadline(time.Time{})
				c.conn.Write(relay)
			}
		}
		return true
	}
	s.mu.Unlock()
	ok := true
	for _, c := range targets {
		if c == from && s.Bug != "echoes-sender" {
			continue
		}
		for range times {
			if s.deliver(c, from, relay) != nil {
				ok = false
			}
		}
	}
	return ok
}

// deliver writes a relay; per-receiver-order holds one relay back for odd receivers and lets
// the next relay of another sender overtake it.
func (s *Chat) deliver(c, from *chatClient, relay []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if s.Bug != "per-receiver-order" || c.index%2 == 0 {
		_, err := c.conn.Write(relay)
		return err
	}
	if c.held == nil {
		c.held = append([]byte(nil), relay...)
		held := c.held
		time.AfterFunc(50*time.Millisecond, func() { // never lose a held relay
			c.wmu.Lock()
			defer c.wmu.Unlock()
			if c.held != nil && bytes.Equal(c.held, held) {
				c.conn.Write(c.held)
				c.held = nil
			}
		})
		return nil
	}
	if bytes.Equal(prefixOf(c.held), prefixOf(relay)) {
		_, err := c.conn.Write(c.held) // same sender: keep its order
		c.held = append(c.held[:0], relay...)
		return err
	}
	c.conn.Write(relay)
	_, err := c.conn.Write(c.held)
	c.held = nil
	return err
}

func prefixOf(relay []byte) []byte {
	if i := bytes.Index(relay, []byte("> ")); i >= 0 {
		return relay[:i]
	}
	return nil
}
