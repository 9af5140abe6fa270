package scenarios

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sockspec/sockspec/conformance/engine"
	"github.com/sockspec/sockspec/conformance/peer"
	"github.com/sockspec/sockspec/wire"
)

func init() {
	add(engine.Suite{Protocol: "upper", Probe: upperProbe, Specs: upperSpecs})
}

// upperDiagnoseMax is how many silent clients UP-CONC-1's diagnosis connects at most: a server
// still answering a new client beside that many is called "one per client".
const upperDiagnoseMax = 16

// upperSilentClients is UP-IDLE-1's "up to 8 connected but silent clients".
const upperSilentClients = 8

// upperProbe is GEN-ALIVE-1's plain valid request: one line, answered upper-cased. ASCII, so
// that it holds under either case rule, and fine in both modes.
func upperProbe(ctx context.Context, env *engine.Env, addr string) error {
	c, err := peer.Dial(ctx, addr, peer.FromIP(clientIP(210)), peer.Name("probe"))
	if err != nil {
		return err
	}
	defer c.Close()
	req := []byte("are you alive?\n")
	want := []byte("ARE YOU ALIVE?\n")
	if err := c.Send(peer.Whole{}, req); err != nil {
		return err
	}
	got, err := upperAwait(c, want, env.Scale(2*time.Second))
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("sent %s, expected %s, got %s", wire.Quote(req, 40), wire.Quote(want, 40), wire.Quote(got, 80))
	}
	return nil
}

// upperAwait waits until c has received len(want) bytes, or bytes that can no longer become
// want, or the connection ends, or timeout; it returns what arrived (not consumed).
func upperAwait(c *peer.Conn, want []byte, timeout time.Duration) ([]byte, error) {
	err := c.WaitFor(timeout, func(b []byte) bool {
		if len(b) >= len(want) {
			return true
		}
		return !bytes.Equal(b, want[:len(b)]) // a wrong byte: waiting longer cannot help
	})
	return c.Received(), err
}

// upperSession holds the connections of one upper spec, for a merged transcript.
type upperSession struct {
	t     *engine.T
	once  bool      // profile mode=once: one read, one reply, close
	rule  wire.Case // profile case
	conns []*peer.Conn
	n     int // clients dialled so far, for names and source addresses
}

func newUpperSession(t *engine.T) *upperSession {
	rule, err := wire.ParseCase(t.Env.Profile.Get("case"))
	if err != nil {
		t.Fail(engine.Failure{Expected: "a valid upper profile", Got: err.Error()})
	}
	mode := t.Env.Profile.Get("mode")
	if mode != "stream" && mode != "once" {
		t.Fail(engine.Failure{Expected: "profile knob mode to be stream or once", Got: fmt.Sprintf("%q", mode)})
	}
	return &upperSession{t: t, once: mode == "once", rule: rule}
}

// tryDial connects a new client, named name, from its own loopback address, within 2 s.
// A server that does not accept leaves new connections in its listen() backlog; once that is
// full, connecting waits: the 2 s bound turns that into an error.
func (s *upperSession) tryDial(name string) (*peer.Conn, error) {
	ip := clientIP(s.n)
	s.n++
	c, err := peer.Dial(s.t, s.t.Addr(), peer.FromIP(ip), peer.Name(name), peer.DialTimeout(s.t.Scale(2*time.Second)))
	if err != nil {
		return nil, err
	}
	s.conns = append(s.conns, c)
	return c, nil
}

// dial is tryDial that fails the spec when the server does not take the connection.
func (s *upperSession) dial(name string) *peer.Conn {
	c, err := s.tryDial(name)
	if err != nil {
		s.t.Fail(engine.Failure{
			Expected:   "the server to accept a connection (" + name + ")",
			Got:        err.Error(),
			Hint:       "Is the server still listening? It may have crashed while serving earlier clients.",
			Transcript: s.transcript(),
		})
	}
	return c
}

func (s *upperSession) closeAll() {
	for _, c := range s.conns {
		c.Close()
	}
}

func (s *upperSession) transcript() string {
	var ts []peer.Transcript
	for _, c := range s.conns {
		ts = append(ts, c.Transcript())
	}
	return peer.Merge(ts...).String()
}

// send writes data shaped by shaper, failing the spec when the server has closed or reset.
func (s *upperSession) send(c *peer.Conn, shaper peer.Shaper, data []byte) {
	if err := c.Send(shaper, data); err != nil {
		s.t.Fail(engine.Failure{
			Expected:   c.Name() + " to be able to send its request",
			Got:        err.Error(),
			Hint:       "The server closed or reset this connection before the request was sent. Did it crash, or close the client too early?",
			Transcript: s.transcript(),
		})
	}
}

// upper is the reply the profile's case rule gives for req.
func (s *upperSession) upper(req []byte) []byte { return wire.Upper(s.rule, req) }

// ask sends req (shaped) on c and checks the reply within 2 s; it fails the spec with hint
// when the reply is wrong or missing. The reply is consumed.
func (s *upperSession) ask(c *peer.Conn, shaper peer.Shaper, req []byte, hint string) {
	want := s.upper(req)
	s.send(c, shaper, req)
	got, err := upperAwait(c, want, s.t.Scale(2*time.Second))
	if err != nil || !bytes.Equal(got, want) {
		s.t.Fail(engine.Failure{
			Expected:   fmt.Sprintf("%s's request %s to be answered with %s (case rule %s)", c.Name(), wire.Quote(req, 80), wire.Quote(want, 80), s.rule),
			Got:        upperGot(want, got, err),
			Hint:       hint,
			Transcript: s.transcript(),
		})
	}
	c.Consume(len(got))
}

// upperGot describes what arrived instead of want: where it first differs, or how it stopped.
func upperGot(want, got []byte, err error) string {
	var b strings.Builder
	switch {
	case len(got) == 0:
		b.WriteString("nothing")
	case bytes.Equal(got, want):
		b.WriteString("the expected bytes")
	default:
		fmt.Fprintf(&b, "%d bytes: %s", len(got), wire.Quote(got, 120))
		if i := upperFirstDiff(want, got); i < min(len(want), len(got)) {
			fmt.Fprintf(&b, "; first difference at byte %d: expected %s, got %s", i,
				wire.Quote(want[i:min(len(want), i+12)], 12), wire.Quote(got[i:min(len(got), i+12)], 12))
		} else if len(got) < len(want) {
			fmt.Fprintf(&b, "; the %d bytes that arrived are right, %d are missing", len(got), len(want)-len(got))
		} else {
			fmt.Fprintf(&b, "; %d bytes more than expected", len(got)-len(want))
		}
	}
	if err != nil {
		b.WriteString(" (" + err.Error() + ")")
	}
	return b.String()
}

// upperFirstDiff is where a and b first differ, moved back to the start of that character so
// that both sides show whole characters.
func upperFirstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	if i == n {
		return n
	}
	for k := 0; k < utf8.UTFMax-1 && i > 0 && !utf8.RuneStart(a[i]); k++ {
		i--
	}
	return i
}

// upperCaseHint names the classic cause of a wrong upper-casing from what came back.
func upperCaseHint(rule wire.Case, req, got []byte) string {
	switch {
	case rule == wire.Unicode && bytes.Equal(got, wire.Upper(wire.ASCII, req)):
		return "Only a-z were upper-cased: Python's bytes.upper() (and C's toupper) only know ASCII. Decode the " +
			"bytes to str, call str.upper(), and encode the result."
	case rule == wire.Unicode && bytes.Contains(got, []byte("ß")) && !bytes.Contains(req, []byte("SS")):
		return "'ß' came back as 'ß', not 'SS': a simple one-character-to-one-character mapping (Go's " +
			"strings.ToUpper, Java's Character.toUpperCase) misses full case mapping. Python's str.upper() " +
			"does it right; in Go use golang.org/x/text/cases."
	case rule == wire.ASCII && bytes.Equal(got, wire.Upper(wire.Unicode, req)):
		return "The profile says case=ascii: only a-z change, every other byte is sent back as it came. Your " +
			"server applies full Unicode case mapping (str.upper()): use bytes.upper(), or ask for case=unicode."
	}
	return "The reply is not the request upper-cased. Reply with exactly data.decode('utf-8').upper().encode('utf-8') " +
		"for each chunk you read, adding nothing (no prompt, no extra newline)."
}

func upperSpecs(env *engine.Env) {
	env.It("UP-RESP-1", must, "each request is answered with its upper-cased form, per the case rule", func(t *engine.T) {
		s := newUpperSession(t)
		defer s.closeAll()
		// One request per connection: this spec is about the case rule, not about streams.
		for i, req := range [][]byte{
			[]byte("hello, world! 123 abc xyz\n"),
			[]byte("grüße aus köln: straße, ﬁsh and ǆ\n"),
		} {
			c := s.dial(fmt.Sprintf("client%d", i+1))
			want := s.upper(req)
			s.send(c, peer.Whole{}, req)
			got, err := upperAwait(c, want, t.Scale(2*time.Second))
			if err != nil || !bytes.Equal(got, want) {
				t.Fail(engine.Failure{
					Expected:   fmt.Sprintf("%s to be answered with %s (case rule %s)", wire.Quote(req, 80), wire.Quote(want, 80), s.rule),
					Got:        upperGot(want, got, err),
					Hint:       upperCaseHint(s.rule, req, got),
					Transcript: s.transcript(),
				})
			}
			c.Close()
		}
	})

	env.It("UP-STREAM-1", must, "several requests on one connection are each answered", func(t *engine.T) {
		s := newUpperSession(t)
		defer s.closeAll()
		if s.once {
			t.Skip("the profile's mode is once: one request per connection")
		}
		hint := "The first request was answered, a later one was not. Does your server read only once per " +
			"connection (one recv(4096), one reply, close)? Loop: read, answer, read again, until recv() returns b''."
		c := s.dial("client")
		for i := range 4 {
			s.ask(c, peer.Whole{}, []byte(fmt.Sprintf("request %d of several on one connection\n", i+1)), hint)
		}
		// Two requests back to back may reach the server as one read: one reply to both is fine.
		s.ask(c, peer.Coalesce{}, []byte("two requests\nin one segment\n"), hint)
	})

	env.It("UP-SPLIT-1", must, "multi-byte characters split across segments are upper-cased correctly", func(t *engine.T) {
		s := newUpperSession(t)
		defer s.closeAll()
		if s.once {
			t.Skip("the profile's mode is once: the request is whatever the first read returns")
		}
		req := []byte("café crème, 10 € each\n") // no ß: this spec is about splits, not the case rule
		e := bytes.IndexByte(req, 0xc3) + 1      // inside é
		euro := bytes.IndexByte(req, 0xe2) + 1   // inside €, twice
		c := s.dial("client")
		// The pauses make the pieces arrive as separate reads (shaping, not synchronisation).
		pause := max(40*time.Millisecond, t.Scale(40*time.Millisecond)) // never shorter: the pieces must stay apart
		shaper := peer.SplitAt{Offsets: []int{e, euro, euro + 1}, Pause: pause}
		s.ask(c, shaper, req, "A character of two or more bytes was cut between two segments, and your server "+
			"upper-cased each recv() on its own: decode() raised (or replaced the halves with '\\ufffd'). Keep "+
			"the incomplete bytes at the end of a read for the next one, e.g. with "+
			"codecs.getincrementaldecoder('utf-8')().")
	})

	env.It("UP-LARGE-1", must, "64 KiB sent at once is answered (in full in stream mode)", func(t *engine.T) {
		s := newUpperSession(t)
		defer s.closeAll()
		req := upperLargeRequest(64 << 10)
		c := s.dial("client")
		if s.once {
			upperLargeOnce(t, s, c, req)
			return
		}
		want := s.upper(req)
		s.send(c, peer.Whole{}, req)
		got, err := upperAwait(c, want, t.Scale(2*time.Second))
		if err != nil || !bytes.Equal(got, want) {
			t.Fail(engine.Failure{
				Expected: fmt.Sprintf("all %d bytes answered, upper-cased (the reply may come in pieces)", len(want)),
				Got:      upperGot(want, got, err),
				Hint: "Only part of a large request came back. One recv(4096) does not read everything the client " +
					"sent: keep reading and answering until recv() returns b''. Reply with sendall(), not send(), " +
					"which may send only part of what you give it.",
				Transcript: s.transcript(),
			})
		}
	})

	env.It("UP-EOF-1", must, "after the client closes, the server closes too, without a busy loop", func(t *engine.T) {
		s := newUpperSession(t)
		defer s.closeAll()
		c := s.dial("client")
		req := []byte("last words before closing\n")
		if s.once {
			s.send(c, peer.Whole{}, req)
		} else {
			s.ask(c, peer.Whole{}, req, "The server did not answer a plain request.")
		}
		// No other connection while we wait: a dead handler's socket may close at the next accept.
		c.HalfClose()
		how, err := c.WaitEOF(t.Scale(2 * time.Second))
		if err != nil {
			t.Fail(engine.Failure{
				Expected: "the server to close the connection within 2 s of the client's close (shutdown(SHUT_WR))",
				Got:      "the connection stayed open: " + err.Error(),
				Hint: "recv() returning b'' means the client has closed: close the socket and leave the loop " +
					"(break). Looping on an empty recv() keeps the socket open and burns a CPU.",
				Transcript: s.transcript(),
			})
		}
		c.Close()
		h := t.Target.Health()
		if h == nil {
			t.Info("closed by %s; CPU not measured (no process to read: give --pid)", how)
			return
		}
		// A look for a spin after the close (GEN-IDLE-1 measures idle CPU over 1 s as well).
		cpu, err := h.IdleCPU(t, 500*time.Millisecond)
		if err != nil {
			t.Fail(engine.Failure{Expected: "to read the server's CPU use", Got: err.Error()})
		}
		t.Info("closed by %s; CPU after the close: %.0f%% of a core", how, cpu*100)
		if cpu > 0.2 {
			t.Fail(engine.Failure{
				Expected: "the server to go idle once the client has closed (under 20% of a core)",
				Got:      fmt.Sprintf("%.0f%% of a core over the 500 ms after the close: a busy loop", cpu*100),
				Hint: "A busy loop after the client left: your handler keeps calling recv() (or catches the error " +
					"of recv() on a closed socket and tries again). When recv() returns b'' or raises, close the " +
					"socket and return from the handler.",
				Transcript: s.transcript(),
			})
		}
	})

	env.It("UP-UTF8-1", should, "bytes that are not UTF-8 get an answer or an open refusal", func(t *engine.T) {
		s := newUpperSession(t)
		defer s.closeAll()
		c := s.dial("client")
		s.send(c, peer.Whole{}, upperBadBytes)
		answered, closed := upperAnswerOrClose(t, c)
		if !answered && !closed {
			t.Fail(engine.Failure{
				Expected: "an answer to bytes that are not UTF-8, or the connection closed (an open refusal), within 2 s",
				Got:      "no answer, and the connection stayed open",
				Hint: "Your handler probably died on a UnicodeDecodeError (or swallowed it) and left the client " +
					"hanging. Decode with errors='replace' (or 'surrogateescape') and answer, or close the " +
					"connection to refuse the input openly.",
				Transcript: s.transcript(),
			})
		}
	})

	env.It("UP-UTF8-1", must, "after bytes that are not UTF-8, the server goes on serving others", func(t *engine.T) {
		s := newUpperSession(t)
		defer s.closeAll()
		a := s.dial("A")
		s.send(a, peer.Whole{}, upperBadBytes)
		// Let the server react (judged by the SHOULD part) before B comes.
		a.WaitFor(t.Scale(500*time.Millisecond), func(b []byte) bool { return len(b) > 0 })
		a.Close() // a server serving one client at a time may now take the next
		hint := "After a client sent bytes that are not UTF-8, the server stopped serving anyone: a " +
			"UnicodeDecodeError ended the whole server (or its accept loop). Catch errors per client " +
			"(try/except around one client's handling, then close that client)."
		b, err := s.tryDial("B")
		if err != nil {
			t.Fail(engine.Failure{Expected: "the server to accept a new client after another sent bytes that are not UTF-8",
				Got: err.Error(), Hint: hint, Transcript: s.transcript()})
		}
		s.ask(b, peer.Whole{}, []byte("are you still there?\n"), hint)
	})

	env.It("UP-CONC-1", should, "a second client is answered while the first stays connected", func(t *engine.T) {
		s := newUpperSession(t)
		defer s.closeAll()
		a := s.dial("A")
		if !s.once { // in once mode a reply ends A's session: A stays connected by saying nothing
			s.ask(a, peer.Whole{}, []byte("first client, staying connected\n"), "The server did not answer a plain request.")
		}
		b := s.dial("B")
		s.ask(b, peer.Whole{}, []byte("second client\n"), "The second client waited while the first stayed "+
			"connected: your server serves one client at a time (it handles a client to the end before the next "+
			"accept()). Start a thread per client, threading.Thread(target=handle, args=(conn,)).start(), or "+
			"use select/poll.")
	})

	env.It("UP-CONC-1", info, "the concurrency model: one client at a time, a pool of N, or one per client", func(t *engine.T) {
		t.Info("%s", upperDiagnose(t))
	})

	env.It("UP-IDLE-1", should, fmt.Sprintf("%d connected but silent clients do not stop a new client being served", upperSilentClients), func(t *engine.T) {
		s := newUpperSession(t)
		defer s.closeAll()
		hint := fmt.Sprintf("With %d clients connected and silent, a new client got no answer. A fixed pool of "+
			"threads (the seed's 4) is used up by clients that say nothing, and a sequential server is stuck in "+
			"the first one's recv(). Use a thread per client or select/poll, or give idle clients a timeout.", upperSilentClients)
		for i := range upperSilentClients + 1 {
			name := fmt.Sprintf("silent%d", i+1)
			if i == upperSilentClients {
				name = "client"
			}
			if _, err := s.tryDial(name); err != nil {
				t.Fail(engine.Failure{
					Expected:   fmt.Sprintf("the server to take %d silent clients and one more", upperSilentClients),
					Got:        fmt.Sprintf("after %d connections, the next could not connect: %v (the listen() backlog is full: the server is not accepting)", i, err),
					Hint:       hint,
					Transcript: s.transcript(),
				})
			}
		}
		c := s.conns[len(s.conns)-1]
		s.ask(c, peer.Whole{}, []byte("anyone there?\n"), hint)
	})

	generalSpecs(env, upperActivity)
}

// upperBadBytes is a request that is not UTF-8: Latin-1 'é' and bytes that never occur in UTF-8.
var upperBadBytes = []byte("caf\xe9 au lait, \xff\xfe bad bytes\n")

// upperAnswerOrClose waits up to 2 s for any reply bytes or the end of the connection.
func upperAnswerOrClose(t *engine.T, c *peer.Conn) (answered, closed bool) {
	err := c.WaitFor(t.Scale(2*time.Second), func(b []byte) bool { return len(b) > 0 })
	if err == nil {
		return true, false
	}
	how, eofErr := c.WaitEOF(0)
	return false, eofErr == nil && how != ""
}

// upperLargeRequest is n bytes of numbered lowercase ASCII lines: a difference shows where.
func upperLargeRequest(n int) []byte {
	b := make([]byte, 0, n+64)
	for i := 0; len(b) < n; i++ {
		b = fmt.Appendf(b, "line %05d: the quick brown fox jumps over the lazy dog\n", i)
	}
	return b[:n]
}

// upperLargeOnce is UP-LARGE-1 in once mode: the reply is the upper-cased first read (at most
// 4096 bytes of the request), then the server closes.
func upperLargeOnce(t *engine.T, s *upperSession, c *peer.Conn, req []byte) {
	// The server closes after its first read, so this write may be cut short by a reset: fine.
	c.Send(peer.Whole{}, req)
	_, eofErr := c.WaitEOF(t.Scale(2 * time.Second))
	got := c.Received()
	n := len(got)
	if n > 0 && n <= 4096 && bytes.Equal(got, s.upper(req[:n])) {
		return
	}
	want := s.upper(req[:min(4096, len(req))])
	failure := engine.Failure{
		Expected: "in once mode, the upper-cased form of the first read (at most 4096 bytes of the request), then a close",
		Got:      upperGot(want, got, eofErr),
		Hint: "In once mode the server reads once (recv(4096)), answers what it read, and closes. Answer the " +
			"bytes you read, upper-cased, nothing more.",
		Transcript: s.transcript(),
	}
	if n > 4096 {
		failure.Got = fmt.Sprintf("%d bytes: more than one read of 4096 bytes", n)
		failure.Hint = "In once mode the request is the first read, at most 4096 bytes: recv(4096), not a loop."
	}
	t.Fail(failure)
}

// upperDiagnose tells the concurrency model from outside. It keeps adding a silent client
// (which holds a handler of a thread-per-client, pool or sequential server blocked in recv)
// and checks that a fresh client is still answered; the first fresh client left waiting
// gives the number of clients served at once, and is then checked to be answered once one
// silent client leaves (queued, not lost).
func upperDiagnose(t *engine.T) string {
	s := newUpperSession(t)
	defer s.closeAll()
	var silent []*peer.Conn
	for i := 0; i <= upperDiagnoseMax; i++ {
		if i > 0 {
			c, err := s.tryDial(fmt.Sprintf("silent%d", i))
			if err != nil {
				return fmt.Sprintf("at most %d client(s) at a time, it seems: with %d connected, the next could not "+
					"even connect (%v)", i-1, i-1, err)
			}
			silent = append(silent, c)
		}
		p, err := s.tryDial(fmt.Sprintf("new%d", i))
		if err != nil {
			return fmt.Sprintf("at most %d client(s) at a time, it seems: with %d silent clients connected, a new "+
				"client could not even connect (%v)", i, i, err)
		}
		req := []byte(fmt.Sprintf("new client beside %d silent ones\n", i))
		want := s.upper(req)
		if err := p.Send(peer.Whole{}, req); err != nil {
			return fmt.Sprintf("could not diagnose: a new client beside %d silent ones could not send: %v", i, err)
		}
		got, err := upperAwait(p, want, t.Scale(2*time.Second))
		if err == nil && bytes.Equal(got, want) {
			p.Close()
			continue
		}
		if i == 0 {
			return "could not diagnose: a single client got no right answer within 2 s: " + upperGot(want, got, err)
		}
		// Did it wait in a queue? Let one silent client go and see.
		silent[0].Close()
		got, err = upperAwait(p, want, t.Scale(2*time.Second))
		queued := err == nil && bytes.Equal(got, want)
		switch {
		case !queued:
			return fmt.Sprintf("%d client(s) at a time, it seems: with %d silent clients connected a new client "+
				"got no answer within 2 s, and still none after one of them left", i, i)
		case i == 1:
			return "one client at a time (a sequential server): with 1 silent client connected, a new client got " +
				"no answer within 2 s, and was answered as soon as that client left"
		default:
			return fmt.Sprintf("a pool of %d: with %d silent clients connected, a new client got no answer within "+
				"2 s, and was answered as soon as one of them left", i, i)
		}
	}
	return fmt.Sprintf("one per client (a thread or task per client, or select/poll): a new client was answered "+
		"with %d silent clients connected (a pool, if any, is larger than %d)", upperDiagnoseMax, upperDiagnoseMax)
}

// upperActivity is the client traffic of GEN-IDLE-1 and GEN-LEAK-1.
func upperActivity(t *engine.T) {
	rule, _ := wire.ParseCase(t.Env.Profile.Get("case"))
	upperAskAndLeave(t, func(req []byte) []byte { return wire.Upper(rule, req) })
}

// upperAskAndLeave has clients ask (each awaits the answer) and leave in every way: FIN, RST,
// half-close, connect-and-close. It judges nothing. Echo uses it too.
func upperAskAndLeave(t *engine.T, answer func(req []byte) []byte) {
	var conns []*peer.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i, how := range []string{"close", "reset", "half-close"} {
		c, err := peer.Dial(t, t.Addr(), peer.FromIP(clientIP(230+i)), peer.Name(how))
		if err != nil {
			continue
		}
		conns = append(conns, c)
		req := []byte(fmt.Sprintf("client %d talks and leaves by %s\n", i, how))
		if c.Send(peer.Whole{}, req) == nil {
			upperAwait(c, answer(req), t.Scale(2*time.Second))
		}
		switch how {
		case "reset":
			c.Reset()
		case "half-close":
			c.HalfClose()
			c.WaitEOF(t.Scale(500 * time.Millisecond)) // a correct server closes in a moment; UP-EOF-1 judges
			c.Close()
		default:
			c.Close()
		}
	}
	if c, err := peer.Dial(t, t.Addr(), peer.FromIP(clientIP(233)), peer.Name("silent")); err == nil {
		c.Close()
	}
}
