package scenarios

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sockspec/sockspec/conformance/engine"
	"github.com/sockspec/sockspec/conformance/oracle"
	"github.com/sockspec/sockspec/conformance/peer"
	"github.com/sockspec/sockspec/conformance/result"
	"github.com/sockspec/sockspec/wire"
)

func init() {
	add(engine.Suite{Protocol: "chat", Probe: chatProbe, Specs: chatSpecs})
}

const (
	must   = result.Must
	should = result.Should
	info   = result.Info
)

// chatProbe is the plain valid request of GEN-ALIVE-1: two clients, one message relayed.
func chatProbe(ctx context.Context, env *engine.Env, addr string) error {
	cp, err := readChatProfile(env)
	if err != nil {
		return err
	}
	var conns []*peer.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range 2 {
		c, err := peer.Dial(ctx, addr, peer.FromIP(clientIP(200+i)))
		if err != nil {
			return err
		}
		conns = append(conns, c)
	}
	// Wait for both welcomes (and join prompts) before sending: run the join script.
	for i, c := range conns {
		if err := probeJoinAs(cp, c, fmt.Sprintf("probe%d", i), env.Scale(2*time.Second)); err != nil {
			return err
		}
	}
	// The second client may join the room a moment after its welcome: ask again until then.
	msg := []byte("are you alive?")
	if !cp.raw {
		msg = append(msg, '\n')
	}
	deadline := time.Now().Add(env.Scale(3 * time.Second))
	for {
		if err := conns[0].Send(peer.Whole{}, msg); err != nil {
			return err
		}
		wait := min(env.Scale(100*time.Millisecond), time.Until(deadline))
		err := conns[1].WaitFor(wait, func(b []byte) bool { return bytes.Contains(b, []byte("are you alive?")) })
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("a message from one client did not reach the other within 3 s: %v", err)
		}
	}
}

// probeJoinAs runs the join script and waits for the welcome, without judging.
func probeJoinAs(cp chatProfile, c *peer.Conn, nick string, timeout time.Duration) error {
	for _, step := range cp.join {
		if step.expect != "" {
			want := []byte(strings.ReplaceAll(step.expect, "{nick}", nick))
			if err := c.WaitFor(timeout, func(b []byte) bool { return bytes.Contains(b, want) }); err != nil {
				return err
			}
			c.Consume(len(c.Received()))
		} else if err := c.Send(peer.Whole{}, []byte(strings.ReplaceAll(step.send, "{nick}", nick))); err != nil {
			return err
		}
	}
	if n := len(cp.welcome); n > 0 { // its length, not its text: liveness, not CHAT-WELCOME-1
		return c.WaitFor(timeout, func(b []byte) bool { return len(b) >= n })
	}
	return nil
}

func chatSpecs(env *engine.Env) {
	env.It("CHAT-WELCOME-1", must, "every client receives the welcome before any relay, even while others chat", func(t *engine.T) {
		r := newRoom(t)
		defer r.closeAll()
		if len(r.cp.welcome) == 0 {
			t.Skip("the profile has no welcome")
		}
		a := r.join(1)[0]
		// A chats while B and C connect: a server that adds a client to the room before
		// welcoming it lets a relay overtake the welcome.
		for range 3 {
			r.send(a, peer.Whole{}, r.message(a, 20))
			r.joinClient(r.dial()) // fails the spec when the first bytes are not the welcome
		}
	})

	env.It("CHAT-RELAY-1", must, "a message reaches every other client, in the profile's format", func(t *engine.T) {
		r := newRoom(t)
		defer r.closeAll()
		cs := r.join(3)
		for range 3 {
			r.send(cs[0], peer.Whole{}, r.message(cs[0], 24))
			r.send(cs[1], peer.Whole{}, r.message(cs[1], 24))
		}
		r.settle(2 * time.Second)
		r.judge(oracle.Misformatted, oracle.Loss, oracle.Integrity)
	})

	env.It("CHAT-RELAY-2", must, "a sender never receives its own message", func(t *engine.T) {
		r := newRoom(t)
		defer r.closeAll()
		cs := r.join(2)
		for range 3 {
			r.send(cs[0], peer.Whole{}, r.message(cs[0], 16))
		}
		r.settle(2 * time.Second)
		r.judge(oracle.SelfEcho)
	})

	env.It("CHAT-RELAY-3", must, "three clients taking turns: every message exactly once", func(t *engine.T) {
		r := newRoom(t)
		defer r.closeAll()
		cs := r.join(3)
		for i := range 15 {
			r.send(cs[i%3], peer.Whole{}, r.message(cs[i%3], 12+i))
		}
		r.settle(3 * time.Second)
		r.judge(oracle.Loss, oracle.Duplicate)
	})

	env.It("CHAT-RELAY-3", must, "random sessions of up to 6 clients (rapid state machine, shrunk on failure)", func(t *engine.T) {
		runChatMachine(t)
	}, engine.Timeout(3*time.Minute), engine.Labels("rapid"))

	env.It("CHAT-ORDER-1", must, "a burst of 40 messages from one sender arrives in order", func(t *engine.T) {
		r := newRoom(t)
		defer r.closeAll()
		cs := r.join(3)
		for range 40 {
			r.send(cs[0], peer.Whole{}, r.message(cs[0], 30))
		}
		r.settle(3 * time.Second)
		r.judge(oracle.FIFO, oracle.Duplicate, oracle.Loss)
	})

	env.It("CHAT-ORDER-2", should, "four concurrent senders: every receiver sees the same order", func(t *engine.T) {
		r := newRoom(t)
		defer r.closeAll()
		cs := r.join(5)
		concurrently(cs[:4], func(c *chatter) {
			for range 15 {
				r.send(c, peer.Whole{}, r.message(c, 20))
			}
		})
		r.settle(4 * time.Second)
		r.judge(oracle.TotalOrder)
	})

	env.It("CHAT-FRAME-1", must, "a message written one byte per segment arrives intact", func(t *engine.T) {
		r := newRoom(t)
		defer r.closeAll()
		cs := r.join(2)
		r.send(cs[0], peer.BytePerSegment{Pause: time.Millisecond}, r.message(cs[0], 24))
		r.send(cs[0], peer.Whole{}, r.message(cs[0], 10))
		r.settle(3 * time.Second)
		r.judge(oracle.Loss, oracle.Duplicate, oracle.FIFO, oracle.Integrity, oracle.Misformatted)
	})

	env.It("CHAT-FRAME-2", info, "two messages in one segment: one relay or two", func(t *engine.T) {
		r := newRoom(t)
		defer r.closeAll()
		cs := r.join(2)
		r.settle(2 * time.Second)
		r.setAside(cs[1]) // count only the relays of the two messages below
		m1, m2 := r.message(cs[0], 12), r.message(cs[0], 12)
		r.send(cs[0], peer.Coalesce{}, m1, m2)
		r.settle(2 * time.Second)
		got := cs[1].conn.Received()
		prefix := r.cp.format.Prefix(cs[0].id)
		relays := 1
		if len(prefix) > 0 {
			relays = bytes.Count(got, prefix)
		} else if !r.cp.raw {
			relays = bytes.Count(got, []byte{'\n'})
		}
		if r.cp.raw {
			t.Info("two messages written back to back arrived as %d relay(s): %s. Raw framing has no message "+
				"boundaries: a relay is whatever one recv() returned, so a receiver cannot tell where one "+
				"message ends. Protocols that need boundaries add a newline or a length header.", relays, wire.Quote(got, 100))
		} else {
			t.Info("two lines written in one segment arrived as %d relay line(s): %s", relays, wire.Quote(got, 100))
		}
	})

	env.It("CHAT-FRAME-3", must, "a message of the profile's maximum size arrives intact", func(t *engine.T) {
		r := newRoom(t)
		defer r.closeAll()
		cs := r.join(2)
		size := r.cp.maxMessage
		if !r.cp.raw {
			size-- // the newline counts
		}
		r.send(cs[0], peer.Whole{}, r.message(cs[0], size))
		r.settle(3 * time.Second)
		r.judge(oracle.Loss, oracle.Duplicate, oracle.FIFO, oracle.Integrity, oracle.Misformatted)
	})

	env.It("CHAT-UTF8-1", should, "non-UTF-8 bytes and a split character are relayed or refused openly", func(t *engine.T) {
		r := newRoom(t)
		defer r.closeAll()
		cs := r.join(2)
		a, b := cs[0], cs[1]
		bad := []byte("bad-\xff\xfe-bytes")
		split := []byte("caf\xc3\xa9-split") // é split between its two bytes
		after := r.message(a, 16)
		r.send(a, peer.Whole{}, bad)
		r.send(a, peer.SplitAt{Offsets: []int{4}}, split)
		if err := a.conn.Send(peer.Whole{}, r.wireForm(after)); err != nil {
			return // the server closed A's connection: an open refusal
		}
		err := b.conn.WaitFor(t.Scale(2*time.Second), func(got []byte) bool { return bytes.Contains(got, after) })
		if how, eofErr := a.conn.WaitEOF(t.Scale(100 * time.Millisecond)); eofErr == nil && how != "" {
			return // A was disconnected: refused openly
		}
		got := b.conn.Received()
		if err != nil {
			t.Fail(engine.Failure{
				Expected: "A's session to go on after it sent bytes that are not UTF-8 (or to be closed)",
				Got:      "A's next message never reached B, yet A's connection stayed open: " + gotText(got, nil),
				Hint: "Your server's thread for this client probably died on a UnicodeDecodeError (or swallowed it " +
					"with a bare except) and left the socket open. Relay bytes as they are, or decode with " +
					"errors='replace', or close the connection to refuse the input openly.",
				Transcript: r.transcript(),
			})
		}
		if !bytes.Contains(got, []byte("bad-")) || !bytes.Contains(got, []byte("-split")) {
			t.Fail(engine.Failure{
				Expected: "the messages holding non-UTF-8 bytes or a split character to be relayed (or refused openly)",
				Got:      "they were dropped silently; B received " + gotText(got, nil),
				Hint: "A message with bytes that are not UTF-8 vanished without a word. A bare `except: continue` " +
					"around decode() hides the error: relay the bytes, or tell the sender.",
				Transcript: r.transcript(),
			})
		}
	})

	leaveSpec := func(id, how, title string) {
		env.It(id, must, title, func(t *engine.T) {
			r := newRoom(t)
			defer r.closeAll()
			cs := r.join(3)
			r.send(cs[2], peer.Whole{}, r.message(cs[2], 10))
			r.settle(2 * time.Second)
			r.leave(cs[2], how)
			// Rounds, each relayed before the next: the departed socket fails a send only once
			// its RST is back, and a server that dies of that failure shows it in a later round.
			complete := true
			for range 3 {
				r.send(cs[0], peer.Whole{}, r.message(cs[0], 16))
				r.send(cs[1], peer.Whole{}, r.message(cs[1], 16))
				complete = r.settle(2*time.Second) && complete
			}
			if !complete {
				r.judge(oracle.Loss)
				t.Fail(engine.Failure{Expected: "the others to keep chatting after a client left (" + how + ")",
					Got: "messages stopped arriving", Transcript: r.transcript()})
			}
			r.judge(oracle.Loss, oracle.Duplicate)
		})
	}
	leaveSpec("CHAT-LEAVE-1", "close", "after a client closes (FIN), the others keep chatting")
	leaveSpec("CHAT-LEAVE-2", "reset", "after a client resets (RST), the others keep chatting")

	env.It("CHAT-LEAVE-3", should, "a client that half-closes is closed by the server within 2 s", func(t *engine.T) {
		r := newRoom(t)
		defer r.closeAll()
		cs := r.join(2)
		r.send(cs[0], peer.Whole{}, r.message(cs[0], 10))
		r.settle(2 * time.Second)
		cs[0].conn.HalfClose()
		how, err := cs[0].conn.WaitEOF(t.Scale(2 * time.Second))
		if err != nil {
			t.Fail(engine.Failure{
				Expected: "the server to close the connection within 2 s of the client's shutdown(SHUT_WR)",
				Got:      "the connection stayed open: " + err.Error(),
				Hint: "recv() returning b'' means the client is done sending: close that socket and remove it " +
					"from the list. Looping on an empty recv() also burns a CPU (GEN-IDLE-1).",
				Transcript: r.transcript(),
			})
		}
		t.Info("closed by %s", how)
	})

	env.It("CHAT-JOIN-1", should, "a silent new client delays neither others joining nor their relays", func(t *engine.T) {
		r := newRoom(t)
		defer r.closeAll()
		a := r.join(1)[0]
		r.dial().ignored = true // connects and stays silent (never answers a join prompt either)
		start := time.Now()
		b := r.dial()
		done := make(chan struct{})
		go func() { defer close(done); defer recoverFail(); r.joinClient(b) }()
		select {
		case <-done:
		case <-time.After(t.Scale(2 * time.Second)):
		}
		welcomed := !b.welcomed.IsZero()
		if welcomed {
			r.sync()
		}
		if !welcomed {
			t.Fail(engine.Failure{
				Expected: "a new client to be welcomed within 2 s while another client stays silent",
				Got:      fmt.Sprintf("no welcome after %v", time.Since(start).Round(time.Millisecond)),
				Hint: "Your accept loop waits for the new client to say something (a nickname?) before it accepts " +
					"the next one. Start the client's thread right after accept() and read inside it.",
				Transcript: r.transcript(),
			})
		}
		r.send(a, peer.Whole{}, r.message(a, 12))
		r.settle(2 * time.Second)
		r.judge(oracle.Loss)
	})

	env.It("CHAT-CONC-1", must, "50 concurrent clients each sending 20 messages", func(t *engine.T) {
		r := newRoom(t)
		defer r.closeAll()
		cs := r.join(50)
		concurrently(cs, func(c *chatter) {
			for range 20 {
				r.send(c, peer.Whole{}, r.message(c, 16))
			}
		})
		r.settle(15 * time.Second)
		r.judge(oracle.SelfEcho, oracle.Loss, oracle.Duplicate, oracle.FIFO, oracle.Integrity, oracle.Misformatted)
	}, engine.Timeout(2*time.Minute))

	env.It("CHAT-SLOW-1", should, "a client that stops reading delays the others by at most 2 s", func(t *engine.T) {
		chatSlowReader(t)
	})

	env.It("CHAT-LAT-1", info, "relay latency at 2 and 50 clients", func(t *engine.T) {
		for _, n := range []int{2, 50} {
			p50, p99, count := chatLatency(t, n)
			t.Info("%d clients: p50 %v, p99 %v over %d relays", n, p50, p99, count)
		}
	}, engine.Timeout(2*time.Minute))

	generalSpecs(env, chatActivity)
}

// wireForm is a message as written: with its newline in lines framing.
func (r *room) wireForm(m []byte) []byte {
	if r.cp.raw {
		return m
	}
	return append(append([]byte(nil), m...), '\n')
}

// concurrently runs f for each client in its own goroutine and waits for all.
func concurrently(cs []*chatter, f func(c *chatter)) {
	var wg sync.WaitGroup
	failures := make(chan any, len(cs))
	for _, c := range cs {
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					failures <- p
				}
			}()
			f(c)
		})
	}
	wg.Wait()
	close(failures)
	if p, ok := <-failures; ok {
		panic(p) // re-raise the first spec failure on the spec's goroutine
	}
}

// recoverFail swallows a spec failure raised on a helper goroutine; the spec judges afterwards.
func recoverFail() { recover() }

// chatSlowReader: S stops reading with a tiny receive window while A sends several MiB to
// the room, kept at most 256 KiB ahead of B (B reads as fast as it can, and a server may drop
// a client that falls too far behind). B must never wait more than 2 s for news.
func chatSlowReader(t *engine.T) {
	r := newRoom(t)
	defer r.closeAll()
	a, b := r.join(1)[0], r.join(1)[0]
	r.sync()
	s := r.dial(peer.ReceiveBuffer(4096))
	r.joinClient(s)
	s.conn.StopReading()
	s.ignored = true // S is the obstacle, not a receiver the oracle judges

	const chunk, total, ahead = 1024, 6 << 20, 256 << 10 // beyond the kernel's buffers towards S
	var counter *payloadCounter
	stalled := func(sent int, err error) {
		t.Fail(engine.Failure{
			Expected: "B to keep receiving while S does not read (at most 2 s without news)",
			Got: fmt.Sprintf("B received nothing for 2 s after %d bytes, while A had sent %d of %d bytes (%v)",
				len(b.kept), sent, total, err),
			Hint: chatSlowHint,
		})
	}
	counter = r.newPayloadCounter()
	catchUp := func(sent, limit int) {
		for counter.n < limit {
			err := b.conn.WaitFor(t.Scale(2*time.Second), func(got []byte) bool { return len(got) > 0 })
			counter.add(r.setAside(b))
			if err != nil {
				stalled(sent, err)
			}
		}
	}
	sent := 0
	for sent < total {
		m := r.message(a, chunk-1)
		a.mu.Lock()
		a.sent = append(a.sent, oracle.Message{Data: m, At: time.Now()})
		a.mu.Unlock()
		if err := a.conn.Send(peer.Whole{}, r.wireForm(m)); err != nil {
			t.Fail(engine.Failure{Expected: "the server to keep reading from A while S does not read",
				Got: fmt.Sprintf("A could not send after %d bytes: %v", sent, err), Hint: chatSlowHint})
		}
		sent += len(m)
		catchUp(sent, sent-ahead)
	}
	catchUp(sent, sent)
}

const chatSlowHint = "One client that stops reading blocks everyone: your broadcast calls send() on each " +
	"client in turn, and a send() to a full socket waits. Give each client its own queue and thread, use " +
	"a send timeout, or drop clients that fall too far behind."

// chatLatency measures relay latency with n clients, each sending a few stamped messages.
func chatLatency(t *engine.T, n int) (p50, p99 time.Duration, count int) {
	r := newRoom(t)
	defer r.closeAll()
	cs := r.join(n)
	const rounds = 5
	for round := range rounds {
		for _, c := range cs {
			r.send(c, peer.Whole{}, []byte(fmt.Sprintf("%s-lat%d-", c.name, round)))
		}
		r.settle(5 * time.Second)
	}
	var lat []time.Duration
	for _, rc := range cs {
		for _, e := range rc.conn.Transcript() {
			if e.Dir != peer.Received {
				continue
			}
			for _, sc := range cs {
				if sc == rc {
					continue
				}
				for _, m := range sc.sent {
					if bytes.Contains(e.Bytes, m.Data) {
						lat = append(lat, e.Time.Sub(m.At))
					}
				}
			}
		}
	}
	if len(lat) == 0 {
		return 0, 0, 0
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat[len(lat)/2].Round(time.Microsecond), lat[len(lat)*99/100].Round(time.Microsecond), len(lat)
}

// chatActivity is the client traffic of GEN-IDLE-1 and GEN-LEAK-1: clients join, chat, and
// leave in every way (FIN, RST, half-close, connect-and-close).
func chatActivity(t *engine.T) {
	r := newRoom(t)
	cs := r.join(5)
	for _, c := range cs {
		r.send(c, peer.Whole{}, r.message(c, 12))
	}
	r.settle(2 * time.Second)
	r.leave(cs[0], "close")
	r.leave(cs[1], "reset")
	r.leave(cs[2], "half-close")
	cs[2].conn.WaitEOF(t.Scale(2 * time.Second))
	r.closeAll()
	bare := r.dial() // connects and leaves without a word
	r.leave(bare, "close")
}
