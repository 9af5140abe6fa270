package scenarios

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sockspec/sockspec/conformance/engine"
	"github.com/sockspec/sockspec/conformance/peer"
	"github.com/sockspec/sockspec/conformance/profile"
	"github.com/sockspec/sockspec/wire"
)

func init() {
	add(engine.Suite{Protocol: "header64", Probe: h64Probe, Specs: h64Specs})
}

// h64Profile holds the header64 knobs of PROTOCOLS.md.
type h64Profile struct {
	size  int    // header size in bytes
	token []byte // the message that ends a session
	reply string // none, ack or echo
	ack   []byte // the reply text in ack mode
	max   int64  // largest body length the server must accept
}

func h64ProfileOf(p profile.Profile) h64Profile {
	return h64Profile{
		size:  int(p.Size("header_size", wire.Header64Size)),
		token: []byte(p.Get("token")),
		reply: p.Get("reply"),
		ack:   []byte(p.Get("ack")),
		max:   p.Size("max_length", wire.DefaultMaxHeaderLength),
	}
}

// replyTo is what the server sends back for msg, unframed: nothing in reply mode none.
func (p h64Profile) replyTo(msg []byte) []byte {
	switch p.reply {
	case "ack":
		return p.ack
	case "echo":
		return msg
	}
	return nil
}

// header is a header holding text (a length, or anything else), space-padded to the size.
// ok is false when text does not fit.
func (p h64Profile) header(text string) (h []byte, ok bool) {
	if len(text) > p.size {
		return nil, false
	}
	return append([]byte(text), bytes.Repeat([]byte{' '}, p.size-len(text))...), true
}

// h64Window is how long a connection must stay open to count as "stays open": a measurement
// window (the server sends nothing in reply mode none), not a wait for an event.
const h64Window = 200 * time.Millisecond

// h64Session is the clients of one spec.
type h64Session struct {
	t       *engine.T
	p       h64Profile
	hint    string // the classic cause this spec exists to catch
	mu      sync.Mutex
	clients []*h64Client
}

// h64Client is one connection and the replies it is owed.
type h64Client struct {
	s      *h64Session
	name   string
	conn   *peer.Conn
	expect []byte // every reply owed so far, in order
}

// h64MinHeader is the smallest header_size this suite can use: its messages are up to 1500
// bytes long, four digits.
const h64MinHeader = 4

func newH64(t *engine.T, hint string) *h64Session {
	s := &h64Session{t: t, p: h64ProfileOf(t.Env.Profile), hint: hint}
	if s.p.size < h64MinHeader {
		t.Fail(engine.Failure{
			Expected: fmt.Sprintf("a header_size of at least %d bytes, to carry this suite's message lengths", h64MinHeader),
			Got:      fmt.Sprintf("header_size %d", s.p.size),
			Hint:     "Check the profile: header64's seed uses 64-byte headers.",
		})
	}
	return s
}

// dial connects client name from its own loopback address (ip index i of clientIP).
func (s *h64Session) dial(name string, i int) *h64Client {
	c, f := s.tryDial(name, i)
	s.must(f)
	return c
}

func (s *h64Session) tryDial(name string, i int) (*h64Client, *engine.Failure) {
	conn, err := peer.Dial(s.t, s.t.Addr(), peer.FromIP(clientIP(i)), peer.Name(name))
	if err != nil {
		return nil, &engine.Failure{
			Expected: "the server to accept a connection from " + clientIP(i),
			Got:      err.Error(),
			Hint:     strings.TrimSpace("Is the server still listening? It may have crashed while serving earlier clients. " + s.hint),
		}
	}
	c := &h64Client{s: s, name: name, conn: conn}
	s.mu.Lock()
	s.clients = append(s.clients, c)
	s.mu.Unlock()
	return c, nil
}

func (s *h64Session) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.clients {
		c.conn.Close()
	}
}

func (s *h64Session) transcript() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := make([]peer.Transcript, 0, len(s.clients))
	for _, c := range s.clients {
		ts = append(ts, c.conn.Transcript())
	}
	return peer.Merge(ts...).String()
}

// must fails the spec with f, adding the spec's hint and the transcript.
func (s *h64Session) must(f *engine.Failure) {
	if f == nil {
		return
	}
	if f.Hint == "" {
		f.Hint = s.hint
	}
	if f.Transcript == "" {
		f.Transcript = s.transcript()
	}
	s.t.Fail(*f)
}

// frame is msg with its header (newH64 made sure that the header holds its length).
func (c *h64Client) frame(msg []byte) []byte {
	h, _ := c.s.p.header(strconv.Itoa(len(msg)))
	return append(h, msg...)
}

// send frames msgs and writes them with shaper (Coalesce: all in one segment); each is owed
// its reply.
func (c *h64Client) send(shaper peer.Shaper, msgs ...[]byte) *engine.Failure {
	frames := make([][]byte, len(msgs))
	for i, m := range msgs {
		frames[i] = c.frame(m)
		c.expect = append(c.expect, c.s.p.replyTo(m)...)
	}
	return c.sendRaw(shaper, frames...)
}

// sendRaw writes bytes that owe nothing.
func (c *h64Client) sendRaw(shaper peer.Shaper, data ...[]byte) *engine.Failure {
	if err := c.conn.Send(shaper, data...); err != nil {
		return &engine.Failure{
			Expected: c.name + "'s messages to be written while the connection is open",
			Got:      err.Error(),
			Hint:     strings.TrimSpace("The server closed or reset the connection in the middle of a session. " + c.s.hint),
		}
	}
	return nil
}

// closed reports, without waiting, whether the server has already closed the connection.
func (c *h64Client) closed() bool {
	how, err := c.conn.WaitEOF(0)
	return err == nil && how != ""
}

// awaitReplies waits (2 s) until every reply owed so far has arrived, and checks them.
func (c *h64Client) awaitReplies(what string) *engine.Failure {
	want := c.expect
	err := c.conn.WaitFor(c.s.t.Scale(2*time.Second), func(b []byte) bool { return len(b) >= len(want) })
	got := c.conn.Received()
	if err == nil && bytes.HasPrefix(got, want) {
		return nil
	}
	return c.replyFailure(what, got, err)
}

func (c *h64Client) replyFailure(what string, got []byte, err error) *engine.Failure {
	f := &engine.Failure{
		Expected: fmt.Sprintf("%s: %s (reply mode %s)", what, h64Owed(c.expect), c.s.p.reply),
		Got:      framedGot(got, err),
	}
	if c.s.p.reply == "none" && len(got) > 0 {
		f.Hint = "In reply mode none the server sends nothing. If your server answers each message, check it with " +
			"--set reply=ack (and --set ack='your text') or --set reply=echo."
	}
	return f
}

func h64Owed(want []byte) string {
	if len(want) == 0 {
		return "no reply bytes"
	}
	return "the replies " + wire.Quote(want, 120)
}

// stayOpen checks that the server keeps the connection open for a short window (longer on a
// slow machine, never shorter: a longer window only catches more).
func (c *h64Client) stayOpen(after string) *engine.Failure {
	w := max(c.s.t.Scale(h64Window), h64Window)
	if how, err := c.conn.WaitEOF(w); err == nil {
		return &engine.Failure{
			Expected: "the connection to stay open after " + after,
			Got:      fmt.Sprintf("the server closed it (%s) within %v", how, w),
		}
	}
	return nil
}

// finish sends msgs and then the token, shaped together, and checks that the server closes the
// connection within 2 s having sent exactly the replies owed (the token's own reply optional).
func (c *h64Client) finish(what string, shaper peer.Shaper, msgs ...[]byte) *engine.Failure {
	p := c.s.p
	if c.closed() {
		return &engine.Failure{
			Expected: "the connection to stay open until the disconnect token",
			Got:      "the server closed it before the token was sent, after: " + what,
		}
	}
	frames := make([][]byte, 0, len(msgs)+1)
	for _, m := range msgs {
		frames = append(frames, c.frame(m))
		c.expect = append(c.expect, p.replyTo(m)...)
	}
	frames = append(frames, c.frame(p.token))
	if f := c.sendRaw(shaper, frames...); f != nil {
		return f
	}
	wait := c.s.t.Scale(2 * time.Second)
	start := time.Now()
	how, err := c.conn.WaitEOF(wait)
	got := c.conn.Received()
	if err != nil {
		f := &engine.Failure{
			Expected: fmt.Sprintf("the server to close the connection within %v of the disconnect token %s", wait, wire.Quote(p.token, 40)),
			Got:      "it stayed open; received " + framedGot(got, err),
		}
		if p.reply == "none" {
			f.Expected += " (in reply mode none that close is the only sign that the server handled " + what + ")"
		}
		return f
	}
	withToken := append(append([]byte(nil), c.expect...), p.replyTo(p.token)...)
	if !bytes.Equal(got, c.expect) && !bytes.Equal(got, withToken) {
		f := c.replyFailure(what+", then the token's reply or none, then the close", got, nil)
		if f.Hint == "" && len(got) > len(withToken) {
			f.Hint = "More bytes arrived than the replies owed: is a message answered twice, or does the reply carry " +
				"a header of its own? The replies are sent unframed, one per message."
		}
		return f
	}
	if d := time.Since(start); d > wait/2 {
		c.s.t.Info("%s: closed (%s) only %v after the token", c.name, how, d.Round(time.Millisecond))
	}
	return nil
}

// served checks that a new client, connected now, gets a whole session served: two messages
// answered, then the token closes the connection.
func (s *h64Session) served(name string, ip int, why string) {
	c := s.dial(name, ip)
	f := c.send(peer.Whole{}, []byte("still there?"), []byte("yes: "+name))
	if f == nil {
		f = c.awaitReplies(name + "'s messages")
	}
	if f == nil {
		f = c.finish(name+"'s messages", peer.Whole{})
	}
	if f != nil {
		f.Expected = "another client to be served normally " + why + ": " + f.Expected
		s.must(f)
	}
}

// outcome gives the server a moment (framedSettle) to react to input that deserves a close, or
// to die of it, and says what happened, without judging: the SHOULD specs judge the close.
func (c *h64Client) outcome() string {
	w := c.s.t.Scale(framedSettle)
	if how, err := c.conn.WaitEOF(w); err == nil {
		return "closed (" + how + ")"
	}
	return fmt.Sprintf("still open after %v", w)
}

// framedSettle is how long the MUST "others are still served" specs let a server react to bad
// input before the next client comes (header64 and block32 share it). A server that dies of
// the input does so at once; one that merely leaves the connection open is the SHOULD
// spec's business, so this wait is short and not judged.
const framedSettle = 500 * time.Millisecond

// h64Message makes a recognisable body of about size bytes, with some non-ASCII text.
func h64Message(tag string, size int) []byte {
	b := []byte(tag + " café ")
	for len(b) < size {
		b = append(b, byte('a'+len(b)%26))
	}
	return b
}

// h64Probe is the plain valid request of GEN-ALIVE-1: a message, answered per the reply mode;
// in reply mode none, the token alone and the close it brings.
func h64Probe(ctx context.Context, env *engine.Env, addr string) error {
	p := h64ProfileOf(env.Profile)
	c, err := peer.Dial(ctx, addr, peer.FromIP(clientIP(230)), peer.Name("probe"))
	if err != nil {
		return err
	}
	defer c.Close()
	msg := []byte("are you alive?")
	frame := func(m []byte) []byte {
		h, _ := p.header(strconv.Itoa(len(m)))
		return append(h, m...)
	}
	if want := p.replyTo(msg); len(want) > 0 {
		if err := c.Send(peer.Whole{}, frame(msg)); err != nil {
			return err
		}
		got, err := c.WaitBytes(env.Scale(2*time.Second), len(want))
		if err != nil {
			return err
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("the reply to a message was %s, want %s", wire.Quote(got, 80), wire.Quote(want, 80))
		}
		return nil
	}
	// In reply mode none the close after the token is the only answer there is.
	if err := c.Send(peer.Whole{}, frame(p.token)); err != nil {
		return err
	}
	if _, err := c.WaitEOF(env.Scale(2 * time.Second)); err != nil {
		return fmt.Errorf("the disconnect token did not get the connection closed: %v", err)
	}
	return nil
}

const (
	h64HintHeader = "One recv(64) does not always return 64 bytes: TCP may deliver the header in pieces. Loop until " +
		"you have the whole header (a recvall(sock, n) helper), then parse it."
	h64HintBody = "One recv(n) returns at most n bytes, often fewer: loop until the whole body is there, and only then " +
		"decode it (a character can be split between two reads)."
	h64HintCoalesce = "Several messages can arrive in one recv(). Read exactly the header, then exactly the body, and " +
		"leave the rest in the socket (or in your buffer) for the next message."
	h64HintEmpty = "A zero-length message is valid: recv(0) returns b'' at once, which is not the client leaving. " +
		"Only an empty recv() of a read that asked for bytes means the client closed."
	h64HintToken = "After the disconnect token, leave the loop and close the socket. Compare the decoded text with " +
		"the token (msg is a str after decode(); b'!DISCONNECT' != '!DISCONNECT')."
	h64HintEOF = "When recv() returns b'' the client has gone: close the socket and leave the loop. The classic " +
		"`if msg_length:` without an else loops forever on b'' and burns a whole core."
	h64HintBadHeader = "int() of a header that is not a number raises ValueError. If nothing catches it, the client's " +
		"thread dies and its socket stays open. Catch it, close that connection, and go on serving the others."
	h64HintBadLength = "Check the length before you read the body: a negative length makes recv() raise, and a huge one " +
		"makes your server wait for (and try to store) bytes that never come. Close the connection instead."
	h64HintUTF8 = "decode('utf-8') raises UnicodeDecodeError on bytes that are not UTF-8. If nothing catches it, the " +
		"thread dies and the client waits forever on an open socket. Catch it and close the connection (or " +
		"decode with errors='replace')."
	h64HintReply = "Send exactly one reply per message, after you have read the whole message, in the order the " +
		"messages came; not one per recv() call."
	h64HintConc = "Serve each client in its own thread (or with select): a server that handles one client at a time, " +
		"or a fixed pool smaller than the number of clients, leaves the others waiting."
	h64HintCrash = "One client's bad input must not end the server: catch errors per client (a try/except around " +
		"one client's handling, then close that client)."
)

func h64Specs(env *engine.Env) {
	env.It("HDR-FRAME-1", must, "a well-formed message is accepted and the connection stays open", func(t *engine.T) {
		s := newH64(t, "A plain message was not handled. Read the 64-byte header, int() it after strip(), then read "+
			"exactly that many bytes; keep the connection open until the disconnect token.")
		defer s.closeAll()
		a := s.dial("A", 60)
		s.must(a.send(peer.Whole{}, []byte("Hello, header64!")))
		s.must(a.awaitReplies("the message"))
		s.must(a.stayOpen("one well-formed message"))
		s.must(a.finish("a well-formed message", peer.Whole{}))
	})

	env.It("HDR-FRAME-2", must, "a header written one byte per segment is reassembled", func(t *engine.T) {
		s := newH64(t, h64HintHeader)
		defer s.closeAll()
		a := s.dial("A", 61)
		msg := []byte("header in pieces")
		frame := a.frame(msg)
		a.expect = append(a.expect, s.p.replyTo(msg)...)
		s.must(a.sendRaw(peer.BytePerSegment{Pause: time.Millisecond}, frame[:s.p.size]))
		s.must(a.sendRaw(peer.Whole{}, frame[s.p.size:]))
		s.must(a.awaitReplies("a message whose header came one byte at a time"))
		s.must(a.finish("a header sent one byte per segment", peer.Whole{}, []byte("and a plain one after it")))
	})

	env.It("HDR-FRAME-3", must, "several messages coalesced into one segment are each processed", func(t *engine.T) {
		s := newH64(t, h64HintCoalesce)
		defer s.closeAll()
		a := s.dial("A", 62)
		s.must(a.send(peer.Coalesce{}, []byte("first of three"), []byte("second of three"), []byte("third of three")))
		s.must(a.awaitReplies("three messages written in one segment"))
		s.must(a.finish("messages coalesced into one segment (the last with the token)", peer.Coalesce{}, []byte("fourth, with the token")))
	})

	env.It("HDR-FRAME-4", must, "a body split across segments, inside a UTF-8 character, is reassembled", func(t *engine.T) {
		s := newH64(t, h64HintBody)
		defer s.closeAll()
		a := s.dial("A", 63)
		body := h64Message("split body", int(min(1500, s.p.max)))
		// Cut inside the two bytes of the é near the start, and again half-way.
		cut := bytes.Index(body, []byte("é")) + 1
		offsets := []int{s.p.size + cut}
		if half := len(body) / 2; half > cut {
			offsets = append(offsets, s.p.size+half)
		}
		frame := a.frame(body)
		a.expect = append(a.expect, s.p.replyTo(body)...)
		s.must(a.sendRaw(peer.SplitAt{Offsets: offsets, Pause: 5 * time.Millisecond}, frame))
		s.must(a.awaitReplies("a message whose body came in three segments"))
		s.must(a.finish("a body split across segments", peer.Whole{}, []byte("and a plain one after it")))
	})

	env.It("HDR-FRAME-5", must, "a zero-length message is accepted", func(t *engine.T) {
		s := newH64(t, h64HintEmpty)
		defer s.closeAll()
		a := s.dial("A", 64)
		s.must(a.send(peer.Whole{}, []byte{}))
		s.must(a.awaitReplies("a zero-length message"))
		s.must(a.stayOpen("a zero-length message"))
		s.must(a.finish("a zero-length message", peer.Whole{}, []byte("after the empty one")))
	})

	env.It("HDR-DISC-1", must, "the server closes the connection within 2 s of the disconnect token", func(t *engine.T) {
		s := newH64(t, h64HintToken)
		defer s.closeAll()
		a := s.dial("A", 65)
		s.must(a.send(peer.Whole{}, []byte("a message before the token")))
		s.must(a.awaitReplies("the message"))
		s.must(a.finish("a message", peer.Whole{}))
	})

	env.It("HDR-DISC-2", must, "clients leaving without the token are closed, and others are still served", func(t *engine.T) {
		s := newH64(t, h64HintEOF)
		defer s.closeAll()
		a := s.dial("A", 66)
		s.must(a.send(peer.Whole{}, []byte("leaving without the token")))
		s.must(a.awaitReplies("the message"))
		a.conn.HalfClose()
		// Nothing else is connected while we wait: a dead handler's socket may stay open until the
		// next accept() in a typical Python server.
		if _, err := a.conn.WaitEOF(t.Scale(2 * time.Second)); err != nil {
			s.must(&engine.Failure{
				Expected: "the server to close the connection within 2 s once the client has closed its side (recv() returned b'')",
				Got:      "it stayed open; received " + framedGot(a.conn.Received(), err),
			})
		}
		b := s.dial("B", 67) // leaves in the middle of a header
		s.must(b.sendRaw(peer.Whole{}, []byte("12")))
		b.conn.Close()
		c := s.dial("C", 68) // leaves in the middle of a body
		s.must(c.sendRaw(peer.Whole{}, c.frame([]byte("a body cut short"))[:s.p.size+6]))
		c.conn.Reset()
		s.served("D", 69, "after clients left without the token (FIN, mid-header, RST mid-body)")
	})

	env.It("HDR-BAD-1", should, "a header that is not a number closes that connection within 2 s", func(t *engine.T) {
		s := newH64(t, h64HintBadHeader)
		defer s.closeAll()
		a := s.dial("A", 70)
		h, _ := s.p.header(h64Fit("hello", s.p.size))
		s.must(a.sendRaw(peer.Whole{}, h))
		if how, err := a.conn.WaitEOF(t.Scale(2 * time.Second)); err != nil {
			s.must(&engine.Failure{
				Expected: fmt.Sprintf("the server to close the connection within 2 s of the header %s", wire.Quote(h, 70)),
				Got:      "it stayed open; received " + framedGot(a.conn.Received(), err),
			})
		} else {
			t.Info("closed (%s)", how)
		}
	})

	env.It("HDR-BAD-1", must, "after a header that is not a number, other clients are still served", func(t *engine.T) {
		s := newH64(t, h64HintCrash)
		defer s.closeAll()
		a := s.dial("A", 71)
		h, _ := s.p.header(h64Fit("hello", s.p.size))
		s.must(a.sendRaw(peer.Whole{}, h))
		t.Info("A: %s", a.outcome())
		s.served("B", 72, "while A's header was not a number")
	})

	badLengths := func(p h64Profile) []string {
		out := []string{"-5"}
		for _, l := range []string{strconv.FormatInt(p.max+1, 10), "99999999999999999999"} {
			if len(l) <= p.size {
				out = append(out, l)
			}
		}
		return out
	}

	env.It("HDR-BAD-2", should, "a negative or over-limit length closes the connection without waiting for the body", func(t *engine.T) {
		s := newH64(t, h64HintBadLength)
		defer s.closeAll()
		// One connection at a time: nothing else is open while we wait for a close.
		for i, l := range badLengths(s.p) {
			a := s.dial(fmt.Sprintf("A%d", i), 73+i)
			h, _ := s.p.header(l)
			s.must(a.sendRaw(peer.Whole{}, h))
			if _, err := a.conn.WaitEOF(t.Scale(2 * time.Second)); err != nil {
				s.must(&engine.Failure{
					Expected: fmt.Sprintf("the server to close the connection within 2 s of the length %s (limit %d bytes), "+
						"without waiting for the body", l, s.p.max),
					Got: "it stayed open; received " + framedGot(a.conn.Received(), err),
				})
			}
			a.conn.Close()
		}
	})

	env.It("HDR-BAD-2", must, "after negative and over-limit lengths, other clients are still served", func(t *engine.T) {
		s := newH64(t, h64HintCrash)
		defer s.closeAll()
		lengths := badLengths(s.p)
		cs := make([]*h64Client, len(lengths))
		for i, l := range lengths {
			cs[i] = s.dial(fmt.Sprintf("A%d", i), 77+i)
			h, _ := s.p.header(l)
			s.must(cs[i].sendRaw(peer.Whole{}, h))
		}
		// Let the server deal with them (or die of them) before the next client comes.
		outcomes := make([]string, len(cs))
		framedParallel(len(cs), func(i int) *engine.Failure { outcomes[i] = cs[i].outcome(); return nil })
		for i, l := range lengths {
			t.Info("length %s: %s", l, outcomes[i])
		}
		s.served("B", 80, "after clients sent negative and over-limit lengths")
	})

	env.It("HDR-UTF8-1", should, "a body that is not UTF-8 is refused openly or handled, not by a silently dead session", func(t *engine.T) {
		s := newH64(t, h64HintUTF8)
		defer s.closeAll()
		a := s.dial("A", 81)
		bad := []byte("bad \xff\xfe bytes \xc3")
		if f := a.send(peer.Whole{}, bad); f != nil {
			return // closed already: an open refusal
		}
		// Either the server refuses by closing, or the session goes on and the token closes it.
		a.sendRaw(peer.Whole{}, a.frame([]byte("after the bad one")), a.frame(s.p.token))
		how, err := a.conn.WaitEOF(t.Scale(2 * time.Second))
		if err != nil {
			s.must(&engine.Failure{
				Expected: "after a body that is not UTF-8, either the connection closed (refused openly) or the session " +
					"going on (then the disconnect token closes it), within 2 s",
				Got: "the connection stayed open and the token was ignored (the session died silently); received " +
					framedGot(a.conn.Received(), err),
			})
		}
		t.Info("closed (%s), having received %s", how, framedGot(a.conn.Received(), nil))
	})

	env.It("HDR-REPLY-1", must, "in ack or echo mode, one reply per message, in order", func(t *engine.T) {
		s := newH64(t, h64HintReply)
		defer s.closeAll()
		if s.p.reply == "none" {
			t.Skip("reply mode none: the server sends nothing (set reply=ack or reply=echo for a server that answers)")
		}
		a := s.dial("A", 82)
		s.must(a.send(peer.Whole{}, []byte("one"), []byte("two, ça va")))
		s.must(a.awaitReplies("two messages written one after the other"))
		s.must(a.send(peer.Coalesce{}, []byte("three"), []byte("four"), []byte("five")))
		s.must(a.awaitReplies("three more in one segment"))
		six := a.frame([]byte("six, the last"))
		a.expect = append(a.expect, s.p.replyTo([]byte("six, the last"))...)
		s.must(a.sendRaw(peer.SplitAt{Offsets: []int{s.p.size / 2, s.p.size + 3}, Pause: 2 * time.Millisecond}, six))
		s.must(a.awaitReplies("a sixth in pieces"))
		s.must(a.finish("six messages", peer.Whole{}))
	})

	env.It("HDR-CONC-1", must, "50 concurrent clients each send 20 messages and the token, and are all closed", func(t *engine.T) {
		s := newH64(t, h64HintConc)
		defer s.closeAll()
		const clients, messages = 50, 20
		cs := make([]*h64Client, clients)
		for i := range cs {
			cs[i] = s.dial(fmt.Sprintf("C%d", i), i)
		}
		s.must(framedParallel(clients, func(i int) *engine.Failure {
			c := cs[i]
			for m := range messages {
				if f := c.send(peer.Whole{}, []byte(fmt.Sprintf("%s message %d of %d", c.name, m+1, messages))); f != nil {
					return f
				}
			}
			return c.awaitReplies(fmt.Sprintf("%s's %d messages", c.name, messages))
		}))
		// The last to connect leaves first: each session must end on its own, while the others
		// are still connected.
		for i := clients - 1; i >= 0; i-- {
			c := cs[i]
			if f := c.finish(fmt.Sprintf("%s's %d messages while %d other clients stayed connected", c.name, messages, i), peer.Whole{}); f != nil {
				f.Expected = c.name + ": " + f.Expected
				f.Transcript = c.conn.Transcript().String() // the other 49 would drown it
				s.must(f)
			}
		}
	}, engine.Timeout(2*time.Minute))

	generalSpecs(env, h64Activity)
}

// framedGot shows received bytes (header64 and block32 share it) and why a wait ended, without
// repeating the bytes a peer.WaitError also carries.
func framedGot(got []byte, err error) string {
	s := wire.Quote(got, 120)
	if len(got) == 0 {
		s = "nothing"
	}
	var we *peer.WaitError
	switch {
	case errors.As(err, &we) && we.TimedOut:
		s += fmt.Sprintf(" (nothing more within %v)", we.Waited)
	case errors.As(err, &we):
		s += " (then " + we.Ended + ")"
	case err != nil:
		s += " (" + err.Error() + ")"
	}
	return s
}

// h64Fit cuts text to the header size.
func h64Fit(text string, size int) string {
	if len(text) > size {
		return text[:size]
	}
	return text
}

// framedParallel runs f(0..n-1) concurrently and returns the first failure (header64 and
// block32 share it). Failures come back
// as values: only the spec's own goroutine may fail the spec.
func framedParallel(n int, f func(i int) *engine.Failure) *engine.Failure {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first *engine.Failure
	)
	for i := range n {
		wg.Go(func() {
			if fail := f(i); fail != nil {
				mu.Lock()
				if first == nil {
					first = fail
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

// h64Activity is the client traffic of GEN-IDLE-1 and GEN-LEAK-1: sessions ending every way
// (token, FIN, RST mid-header, connect-and-close, half-close), then nobody is left.
func h64Activity(t *engine.T) {
	s := newH64(t, "")
	defer s.closeAll()
	p := s.p
	frame := func(m string) []byte {
		h, _ := p.header(strconv.Itoa(len(m)))
		return append(h, m...)
	}
	wait := t.Scale(500 * time.Millisecond) // no judging here: just give the server time to see them go
	conns := make([]*h64Client, 0, 5)
	for i := range 5 {
		c, f := s.tryDial(fmt.Sprintf("L%d", i), 90+i)
		if f != nil {
			return // the spec judges the server's health, not this traffic
		}
		conns = append(conns, c)
	}
	conns[0].conn.Send(peer.Whole{}, frame("hello"), frame(string(p.token)))
	conns[1].conn.Send(peer.Whole{}, frame("leaving"))
	conns[2].conn.Send(peer.Whole{}, []byte("3"))
	conns[4].conn.Send(peer.Whole{}, frame("half-closing"))
	conns[4].conn.HalfClose()
	conns[0].conn.WaitEOF(wait)
	conns[1].conn.Close()
	conns[2].conn.Reset()
	conns[3].conn.Close()
	conns[4].conn.WaitEOF(wait)
}
