package scenarios

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sockspec/sockspec/conformance/engine"
	"github.com/sockspec/sockspec/conformance/peer"
	"github.com/sockspec/sockspec/wire"
)

func init() {
	add(engine.Suite{Protocol: "echo", Probe: echoProbe, Specs: echoSpecs})
}

// Sizes of the echo specs (PROTOCOLS.md).
const (
	echoLarge         = 1 << 20 // ECHO-LARGE-1
	echoConcurrent    = 50      // ECHO-CONC-1
	echoRounds        = 4       // requests per client in ECHO-CONC-1
	echoSilentClients = 8       // ECHO-IDLE-1
)

// echoProbe is GEN-ALIVE-1's plain valid request: one line, echoed.
func echoProbe(ctx context.Context, env *engine.Env, addr string) error {
	c, err := peer.Dial(ctx, addr, peer.FromIP(clientIP(210)), peer.Name("probe"))
	if err != nil {
		return err
	}
	defer c.Close()
	msg := []byte("are you alive?\n")
	if err := c.Send(peer.Whole{}, msg); err != nil {
		return err
	}
	got, err := upperAwait(c, msg, env.Scale(2*time.Second))
	if err != nil {
		return err
	}
	if !bytes.Equal(got, msg) {
		return fmt.Errorf("sent %s, got back %s", wire.Quote(msg, 40), wire.Quote(got, 80))
	}
	return nil
}

// echoSession holds the connections of one echo spec. It reuses upper's session (dialling,
// transcripts), with the identity as the "case rule".
type echoSession struct{ *upperSession }

func newEchoSession(t *engine.T) echoSession {
	return echoSession{&upperSession{t: t}}
}

// ask sends msg (shaped) on c and checks it comes back within 2 s; the echo is consumed.
func (s echoSession) ask(c *peer.Conn, shaper peer.Shaper, msg []byte, hint string) {
	s.send(c, shaper, msg)
	got, err := upperAwait(c, msg, s.t.Scale(2*time.Second))
	if err != nil || !bytes.Equal(got, msg) {
		s.t.Fail(engine.Failure{
			Expected:   fmt.Sprintf("%s's %d bytes %s to come back unchanged", c.Name(), len(msg), wire.Quote(msg, 60)),
			Got:        upperGot(msg, got, err),
			Hint:       hint,
			Transcript: s.transcript(),
		})
	}
	c.Consume(len(got))
}

// echoAllBytes is every byte value, in order, then in reverse.
func echoAllBytes() (up, down []byte) {
	for i := range 256 {
		up = append(up, byte(i))
		down = append(down, byte(255-i))
	}
	return up, down
}

// echoPattern is n bytes of numbered lines: a difference shows where it is.
func echoPattern(n int, tag string) []byte {
	b := make([]byte, 0, n+64)
	for i := 0; len(b) < n; i++ {
		b = fmt.Appendf(b, "%s %07d: 0123456789 abcdefghijklmnopqrstuvwxyz\n", tag, i)
	}
	return b[:n]
}

func echoSpecs(env *engine.Env) {
	env.It("ECHO-RESP-1", must, "all 256 byte values come back unchanged and in order", func(t *engine.T) {
		s := newEchoSession(t)
		defer s.closeAll()
		c := s.dial("client")
		up, down := echoAllBytes()
		hint := "The echo is not byte for byte what was sent. Send back the bytes you received as they are: " +
			"decoding them as text (decode('utf-8') then encode) changes bytes that are not UTF-8, and strip() " +
			"or a newline added change the rest."
		s.ask(c, peer.Whole{}, up, hint)
		s.ask(c, peer.Whole{}, down, hint)
	})

	env.It("ECHO-LARGE-1", must, "1 MiB written while the client reads comes back intact", func(t *engine.T) {
		s := newEchoSession(t)
		defer s.closeAll()
		c := s.dial("client")
		data := echoPattern(echoLarge, "large")
		// The reader runs in the background while this write goes on: the echo flows back at once.
		sendErr := c.Send(peer.Whole{}, data)
		got, err := upperAwait(c, data, t.Scale(2*time.Second))
		if err == nil && bytes.Equal(got, data) {
			return
		}
		gotText := upperGot(data, got, err)
		if sendErr != nil {
			gotText += "; sending had failed: " + sendErr.Error()
		}
		t.Fail(engine.Failure{
			Expected: fmt.Sprintf("all %d bytes back, unchanged and in order", len(data)),
			Got:      gotText,
			Hint: "A large stream did not come back whole. Keep reading until recv() returns b'' (one recv(1024) " +
				"is not the whole message) and echo with sendall(), not send(), which may send only part.",
			Transcript: s.transcript(),
		})
	})

	env.It("ECHO-HALF-1", must, "after the client half-closes, the server sends the rest and closes", func(t *engine.T) {
		s := newEchoSession(t)
		defer s.closeAll()
		c := s.dial("client")
		data := append(echoPattern(64<<10, "half"), "and a last line with no newline"...)
		s.send(c, peer.Whole{}, data)
		c.HalfClose()
		// No other connection while we wait: a dead handler's socket may close at the next accept.
		how, eofErr := c.WaitEOF(t.Scale(2 * time.Second))
		got := c.Received()
		switch {
		case eofErr != nil && !bytes.Equal(got, data):
			t.Fail(engine.Failure{
				Expected: fmt.Sprintf("all %d bytes back, then the server's close, within 2 s of our shutdown(SHUT_WR)", len(data)),
				Got:      upperGot(data, got, eofErr),
				Hint: "After the client's FIN the echo stopped and the connection stayed open. recv() returning b'' " +
					"means the client is done sending: send what you still hold, then close the socket.",
				Transcript: s.transcript(),
			})
		case eofErr != nil:
			t.Fail(engine.Failure{
				Expected: "the server to close within 2 s of our shutdown(SHUT_WR), once everything was echoed",
				Got:      "everything came back, but the connection stayed open: " + eofErr.Error(),
				Hint: "recv() returning b'' means the client is done sending: close the socket and leave the loop " +
					"(break). Without that check the loop spins on b'' forever and the socket stays open.",
				Transcript: s.transcript(),
			})
		case !bytes.Equal(got, data):
			t.Fail(engine.Failure{
				Expected: fmt.Sprintf("all %d bytes back before the server's close", len(data)),
				Got:      upperGot(data, got, nil) + " then " + how,
				Hint: "The server closed before it had sent everything back. Do you hold data back (a line buffer, " +
					"a queue for another thread) and drop it when recv() returns b''? Send what remains, then close.",
				Transcript: s.transcript(),
			})
		}
	})

	env.It("ECHO-CONC-1", must, fmt.Sprintf("%d concurrent clients are each echoed correctly", echoConcurrent), func(t *engine.T) {
		s := newEchoSession(t)
		defer s.closeAll()
		cs := make([]*peer.Conn, echoConcurrent)
		for i := range cs {
			cs[i] = s.dial(fmt.Sprintf("c%02d", i+1))
		}
		// Every client keeps its connection until all are done: a server taking them one at a
		// time cannot pass by serving each to the end in turn.
		fails := make([]*echoFailure, len(cs))
		var wg sync.WaitGroup
		for i, c := range cs {
			wg.Go(func() { fails[i] = echoConversation(t, c, i) })
		}
		wg.Wait()
		// Report a client that received others' bytes first (the most telling), else the first
		// client that failed, in client order: the same failure on every run.
		var first *echoFailure
		for _, f := range fails {
			if f != nil && (first == nil || f.crossTalk && !first.crossTalk) {
				first = f
			}
		}
		if first != nil {
			first.Transcript = s.transcript()
			t.Fail(first.Failure)
		}
	}, engine.Timeout(time.Minute))

	env.It("ECHO-IDLE-1", should, fmt.Sprintf("%d silent clients do not stop another client being echoed", echoSilentClients), func(t *engine.T) {
		s := newEchoSession(t)
		defer s.closeAll()
		hint := fmt.Sprintf("With %d clients connected and silent, a new client got no echo. A fixed pool of threads "+
			"is used up by clients that say nothing, and a sequential server is stuck in the first one's recv(). "+
			"Use a thread per client or select/poll.", echoSilentClients)
		for i := range echoSilentClients + 1 {
			name := fmt.Sprintf("silent%d", i+1)
			if i == echoSilentClients {
				name = "client"
			}
			if _, err := s.tryDial(name); err != nil {
				t.Fail(engine.Failure{
					Expected:   fmt.Sprintf("the server to take %d silent clients and one more", echoSilentClients),
					Got:        fmt.Sprintf("after %d connections, the next could not connect: %v (the listen() backlog is full: the server is not accepting)", i, err),
					Hint:       hint,
					Transcript: s.transcript(),
				})
			}
		}
		s.ask(s.conns[len(s.conns)-1], peer.Whole{}, []byte("anyone there?\n"), hint)
	})

	generalSpecs(env, echoActivity)
}

// echoFailure is one ECHO-CONC-1 client's failure; crossTalk: it received another client's bytes.
type echoFailure struct {
	engine.Failure
	crossTalk bool
}

// echoConversation is one ECHO-CONC-1 client: a few messages of its own, each awaited. It runs
// on its own goroutine, so it returns its failure rather than failing the spec.
func echoConversation(t *engine.T, c *peer.Conn, i int) *echoFailure {
	for round := range echoRounds {
		msg := echoPattern(64+(i*37+round*101)%900, fmt.Sprintf("%s-r%d", c.Name(), round))
		if err := c.Send(peer.Whole{}, msg); err != nil {
			return &echoFailure{Failure: engine.Failure{Expected: c.Name() + " to be able to send", Got: err.Error(),
				Hint: "The server closed or reset a connection while 50 clients were talking."}}
		}
		got, err := upperAwait(c, msg, t.Scale(2*time.Second))
		if err == nil && bytes.Equal(got, msg) {
			c.Consume(len(got))
			continue
		}
		f := &echoFailure{Failure: engine.Failure{
			Expected: fmt.Sprintf("%s (one of %d connected clients) to get its own %d bytes back", c.Name(), echoConcurrent, len(msg)),
			Got:      upperGot(msg, got, err),
			Hint: fmt.Sprintf("With %d clients connected at once, %s got no echo: the server serves one client at a "+
				"time, or a fixed number of them. Start a thread per client, or use select/poll.", echoConcurrent, c.Name()),
		}}
		if len(got) > 0 && !bytes.HasPrefix(msg, got) {
			f.crossTalk = true
			f.Hint = "A client received bytes it never sent: handlers share state. Does your thread function use a " +
				"global variable (the socket of the last accept(), a shared buffer) instead of its own parameter?"
		}
		return f
	}
	return nil
}

// echoActivity is the client traffic of GEN-IDLE-1 and GEN-LEAK-1.
func echoActivity(t *engine.T) {
	upperAskAndLeave(t, func(msg []byte) []byte { return msg })
}
