package scenarios

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strings"
	"sync"
	"time"

	"github.com/sockspec/sockspec/conformance/engine"
	"github.com/sockspec/sockspec/conformance/peer"
	"github.com/sockspec/sockspec/conformance/profile"
	"github.com/sockspec/sockspec/wire"
)

func init() {
	add(engine.Suite{Protocol: "block32", Probe: blkProbe, Specs: blkSpecs})
}

// blkProfile holds the block32 knobs of PROTOCOLS.md.
type blkProfile struct {
	many bool      // per_connection=many: several blocks per connection
	cas  wire.Case // upper-casing rule
	max  int64     // largest block the server must accept
}

func blkProfileOf(p profile.Profile) blkProfile {
	c, _ := wire.ParseCase(p.Get("case"))
	return blkProfile{many: p.Get("per_connection") == "many", cas: c, max: p.Size("max_length", wire.DefaultMaxBlock)}
}

// blkSession is the clients of one spec.
type blkSession struct {
	t       *engine.T
	p       blkProfile
	hint    string // the classic cause this spec exists to catch
	mu      sync.Mutex
	clients []*blkClient
}

type blkClient struct {
	s    *blkSession
	name string
	conn *peer.Conn
}

func newBlk(t *engine.T, hint string) *blkSession {
	return &blkSession{t: t, p: blkProfileOf(t.Env.Profile), hint: hint}
}

// dial connects client name from its own loopback address (ip index i of clientIP).
func (s *blkSession) dial(name string, i int) *blkClient {
	conn, err := peer.Dial(s.t, s.t.Addr(), peer.FromIP(clientIP(i)), peer.Name(name))
	if err != nil {
		s.must(&engine.Failure{
			Expected: "the server to accept a connection from " + clientIP(i),
			Got:      err.Error(),
			Hint:     strings.TrimSpace("Is the server still listening? It may have crashed while serving earlier clients. " + s.hint),
		})
	}
	c := &blkClient{s: s, name: name, conn: conn}
	s.mu.Lock()
	s.clients = append(s.clients, c)
	s.mu.Unlock()
	return c
}

func (s *blkSession) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.clients {
		c.conn.Close()
	}
}

func (s *blkSession) transcript() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := make([]peer.Transcript, 0, len(s.clients))
	for _, c := range s.clients {
		ts = append(ts, c.conn.Transcript())
	}
	return peer.Merge(ts...).String()
}

// must fails the spec with f, adding the spec's hint and the transcript.
func (s *blkSession) must(f *engine.Failure) {
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

// send writes raw bytes (a block, or part of one) with shaper.
func (c *blkClient) send(shaper peer.Shaper, data ...[]byte) *engine.Failure {
	if err := c.conn.Send(shaper, data...); err != nil {
		return &engine.Failure{
			Expected: c.name + "'s block to be written while the connection is open",
			Got:      err.Error(),
			Hint:     strings.TrimSpace("The server closed or reset the connection before the block was complete. " + c.s.hint),
		}
	}
	return nil
}

// awaitReply waits for the reply block to payload (within wait) and checks it.
func (c *blkClient) awaitReply(payload []byte, wait time.Duration, what string) *engine.Failure {
	want := wire.Upper(c.s.p.cas, payload)
	got, err := c.conn.WaitBytes(wait, 4+len(want))
	if err == nil && binary.BigEndian.Uint32(got) == uint32(len(want)) && bytes.Equal(got[4:], want) {
		c.conn.Consume(len(got))
		return nil
	}
	if err != nil {
		got = c.conn.Received()
	}
	f := &engine.Failure{
		Expected: fmt.Sprintf("for %s, within %v, the reply block: the length %d as 4 bytes big-endian (%s), then %s (%s case)",
			what, wait, len(want), wire.Quote(binary.BigEndian.AppendUint32(nil, uint32(len(want))), 20), wire.Quote(want, 100), c.s.p.cas),
		Got: framedGot(got, err),
	}
	if len(got) >= 4 {
		declared := binary.BigEndian.Uint32(got)
		f.Got = fmt.Sprintf("a block declaring %d bytes: %s", declared, f.Got)
		switch {
		case declared == bits.ReverseBytes32(uint32(len(want))) && declared != uint32(len(want)):
			f.Hint = "The length prefix is little-endian. Network byte order is big-endian: pack it with " +
				"struct.pack('!I', n) (or Struct('!I')), never '<I' or the machine's native '=I'/'I'."
		case declared != uint32(len(want)) && blkTextual(got[:4]):
			f.Hint = "The reply has no length prefix: the client reads the first 4 bytes as the length. Send " +
				"struct.pack('!I', len(data)) first, then the data (the seed's put_block)."
		case len(got) >= 4+int(declared) && bytes.Equal(got[4:4+declared], wire.Upper(blkOtherCase(c.s.p.cas), payload)):
			f.Hint = fmt.Sprintf("The reply is upper-cased by the %s rule, but the profile says %s: check the "+
				"profile (--set case=%s), or the server's case rule.", blkOtherCase(c.s.p.cas), c.s.p.cas, blkOtherCase(c.s.p.cas))
		case declared == uint32(len(want)) && len(got) >= 4+len(want) && c.s.p.cas == wire.Unicode:
			f.Hint = "The framing is right but the text is not upper-cased as Python's str.upper() does it. Decode " +
				"the payload, call .upper() (full Unicode mapping: ß becomes SS), encode it, and send the new length."
		case declared == uint32(len(want)) && len(got) >= 4+len(want):
			f.Hint = "The framing is right but the text is not upper-cased by the ascii rule: only a-z become A-Z, " +
				"every other byte stays as it is."
		}
	}
	return f
}

// blkOtherCase is the case rule the profile did not choose.
func blkOtherCase(c wire.Case) wire.Case {
	if c == wire.Unicode {
		return wire.ASCII
	}
	return wire.Unicode
}

// blkTextual reports whether a would-be length prefix is printable text (a reply without one).
func blkTextual(b []byte) bool {
	for _, x := range b {
		if x < 0x20 || x > 0x7e {
			return false
		}
	}
	return true
}

// exchange sends one block whole and checks its reply (2 s).
func (c *blkClient) exchange(payload []byte, what string) *engine.Failure {
	if f := c.send(peer.Whole{}, wire.AppendBlock(nil, payload)); f != nil {
		return f
	}
	return c.awaitReply(payload, c.s.t.Scale(2*time.Second), what)
}

// next returns the client for another block: c again in per_connection=many, else a new one.
func (c *blkClient) next(name string, ip int) *blkClient {
	if c.s.p.many {
		return c
	}
	return c.s.dial(name, ip)
}

// served checks that a client connected now gets its block answered.
func (s *blkSession) served(name string, ip int, why string) {
	c := s.dial(name, ip)
	if f := c.exchange([]byte("still there? ß"), "a plain block from "+name); f != nil {
		f.Expected = "another client to be served normally " + why + ": " + f.Expected
		if f.Hint == s.hint || f.Hint == "" {
			f.Hint = blkHintCrash
		}
		s.must(f)
	}
}

// outcome gives the server a moment (framedSettle) to answer or refuse, or to die of the
// input, and says which, without judging.
func (c *blkClient) outcome() string {
	w := c.s.t.Scale(framedSettle)
	err := c.conn.WaitFor(w, blkWhole)
	got := c.conn.Received()
	switch {
	case err == nil:
		return "a reply block " + wire.Quote(got, 60)
	case c.closed():
		return "closed, after " + framedGot(got, nil)
	}
	return fmt.Sprintf("no reply and still open after %v", w)
}

// blkWhole reports whether b starts with a whole block.
func blkWhole(b []byte) bool {
	return len(b) >= 4 && uint64(len(b)-4) >= uint64(binary.BigEndian.Uint32(b))
}

func (c *blkClient) closed() bool {
	how, err := c.conn.WaitEOF(0)
	return err == nil && how != ""
}

// blkPayload is size bytes of lower-case text, numbered every 16 bytes so that a reply with
// pieces lost or swapped shows where.
func blkPayload(size int) []byte {
	b := make([]byte, 0, size+16)
	for i := 0; len(b) < size; i++ {
		b = fmt.Appendf(b, "block%010d.", i)
	}
	return b[:size]
}

// blkProbe is the plain valid request of GEN-ALIVE-1: one block, answered upper-cased.
func blkProbe(ctx context.Context, env *engine.Env, addr string) error {
	p := blkProfileOf(env.Profile)
	c, err := peer.Dial(ctx, addr, peer.FromIP(clientIP(231)), peer.Name("probe"))
	if err != nil {
		return err
	}
	defer c.Close()
	msg := []byte("are you alive?")
	if err := c.Send(peer.Whole{}, wire.AppendBlock(nil, msg)); err != nil {
		return err
	}
	want := wire.AppendBlock(nil, wire.Upper(p.cas, msg))
	got, err := c.WaitBytes(env.Scale(2*time.Second), len(want))
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("the reply to a block was %s, want %s", wire.Quote(got, 80), wire.Quote(want, 80))
	}
	return nil
}

const (
	blkHintPrefix = "One recv(4) does not always return 4 bytes: the length prefix can arrive in pieces, and " +
		"struct.unpack then raises. Read it with a recvall(sock, 4) that loops until it has all 4."
	blkHintPayload = "One recv(n) returns at most n bytes, often fewer: read the payload with recvall(sock, n), and " +
		"decode only the whole payload (a character can be split between two reads)."
	blkHintEmpty = "A zero-length block is valid: recvall(sock, 0) returns b'' at once and the reply is the 4 bytes " +
		"\\x00\\x00\\x00\\x00. Do not take an empty payload for the client leaving."
	blkHintLarge = "A 1 MiB block arrives in many pieces: loop until you have all of it (recvall), and do not cap " +
		"the size below the profile's max_length."
	blkHintMidBlock = "recvall raises EOFError when the client leaves in the middle of a block. If nothing catches it, " +
		"the exception ends your accept loop and the whole server. Catch it per client, close that connection, " +
		"and go on."
	blkHintLimit = "Check the declared length against your limit before reading: close the connection at once " +
		"rather than waiting for (and allocating) gigabytes that will never come."
	blkHintUTF8 = "decode('utf-8') raises UnicodeDecodeError on bytes that are not UTF-8. Catch it: reply anyway " +
		"(errors='replace'), or close the connection to refuse openly; never leave the client waiting."
	blkHintConc = "Your server handles one client at a time: while one client is slow to send its block, nobody " +
		"else is answered. Serve each connection in its own thread (or a big enough pool, or select)."
	blkHintCrash = "One client's bad input must not end the server: catch errors per client (a try/except around " +
		"one client's handling, then close that client)."
)

func blkSpecs(env *engine.Env) {
	env.It("BLK-RESP-1", must, "the reply block holds the request upper-cased", func(t *engine.T) {
		s := newBlk(t, "")
		defer s.closeAll()
		a := s.dial("A", 100)
		s.must(a.exchange([]byte("hello, block32: straße, café, 123!"), "a block of mixed text"))
		s.must(a.next("B", 101).exchange([]byte("and a second block"), "a second block"))
	})

	env.It("BLK-FRAME-1", must, "a length prefix arriving one byte per segment is reassembled", func(t *engine.T) {
		s := newBlk(t, blkHintPrefix)
		defer s.closeAll()
		a := s.dial("A", 102)
		payload := []byte("prefix in pieces")
		s.must(a.send(peer.SplitAt{Offsets: []int{1, 2, 3}, Pause: 2 * time.Millisecond}, wire.AppendBlock(nil, payload)))
		s.must(a.awaitReply(payload, t.Scale(2*time.Second), "a block whose prefix came one byte at a time"))
	})

	env.It("BLK-FRAME-2", must, "a payload split across segments, inside a UTF-8 character, is reassembled", func(t *engine.T) {
		s := newBlk(t, blkHintPayload)
		defer s.closeAll()
		a := s.dial("A", 103)
		payload := append([]byte("split payload, café: "), blkPayload(1500)...)
		payload = payload[:min(int64(len(payload)), max(s.p.max, 32))]
		// Cut inside the two bytes of the é near the start, and again half-way.
		cut := bytes.Index(payload, []byte("é")) + 1
		offsets := []int{4 + cut}
		if half := len(payload) / 2; half > cut {
			offsets = append(offsets, 4+half)
		}
		shaper := peer.SplitAt{Offsets: offsets, Pause: 5 * time.Millisecond}
		s.must(a.send(shaper, wire.AppendBlock(nil, payload)))
		s.must(a.awaitReply(payload, t.Scale(2*time.Second), "a block whose payload came in three segments"))
	})

	env.It("BLK-FRAME-3", must, "a zero-length block gets a zero-length reply", func(t *engine.T) {
		s := newBlk(t, blkHintEmpty)
		defer s.closeAll()
		a := s.dial("A", 104)
		s.must(a.exchange([]byte{}, "a zero-length block"))
		s.must(a.next("B", 105).exchange([]byte("after the empty one"), "a block after the empty one"))
	})

	env.It("BLK-FRAME-4", must, "a 1 MiB block is answered intact", func(t *engine.T) {
		s := newBlk(t, blkHintLarge)
		defer s.closeAll()
		size := min(1<<20, s.p.max)
		a := s.dial("A", 106)
		payload := blkPayload(int(size))
		s.must(a.send(peer.Whole{}, wire.AppendBlock(nil, payload)))
		// Moving 2 MiB through a student server takes longer than a short reply.
		s.must(a.awaitReply(payload, t.Scale(5*time.Second), fmt.Sprintf("a block of %d bytes", size)))
	}, engine.Timeout(time.Minute))

	env.It("BLK-BAD-1", must, "clients closing in the middle of a block do not take the server down", func(t *engine.T) {
		s := newBlk(t, blkHintMidBlock)
		defer s.closeAll()
		a := s.dial("A", 107) // closes in the middle of the payload
		s.must(a.send(peer.Whole{}, wire.AppendBlock(nil, blkPayload(100))[:14]))
		a.conn.Close()
		b := s.dial("B", 108) // closes in the middle of the prefix
		s.must(b.send(peer.Whole{}, []byte{0, 0}))
		b.conn.Close()
		c := s.dial("C", 109) // resets in the middle of the payload
		s.must(c.send(peer.Whole{}, wire.AppendBlock(nil, blkPayload(50))[:9]))
		c.conn.Reset()
		s.served("D", 110, "after clients left in the middle of a block (FIN in the payload, FIN in the prefix, RST)")
	})

	overLimit := func(p blkProfile) []uint32 {
		var out []uint32
		if p.max < math.MaxUint32 {
			out = append(out, uint32(p.max+1))
		}
		if p.max+1 < math.MaxUint32 {
			out = append(out, math.MaxUint32)
		}
		return out
	}

	env.It("BLK-BAD-2", should, "an over-limit declared length closes the connection without waiting for the payload", func(t *engine.T) {
		s := newBlk(t, blkHintLimit)
		defer s.closeAll()
		lengths := overLimit(s.p)
		if len(lengths) == 0 {
			t.Skip("max_length is the largest length 4 bytes can declare: no length is over the limit")
		}
		// One connection at a time: nothing else is open while we wait for a close.
		for i, l := range lengths {
			a := s.dial(fmt.Sprintf("A%d", i), 111+i)
			s.must(a.send(peer.Whole{}, binary.BigEndian.AppendUint32(nil, l), []byte("a few payload bytes")))
			if _, err := a.conn.WaitEOF(t.Scale(2 * time.Second)); err != nil {
				s.must(&engine.Failure{
					Expected: fmt.Sprintf("the server to close the connection within 2 s of the declared length %d "+
						"(limit %d bytes), without waiting for the payload", l, s.p.max),
					Got: "it stayed open; received " + framedGot(a.conn.Received(), err),
				})
			}
			a.conn.Close()
		}
	})

	env.It("BLK-BAD-2", must, "after over-limit declared lengths, the server still serves others", func(t *engine.T) {
		s := newBlk(t, blkHintCrash)
		defer s.closeAll()
		lengths := overLimit(s.p)
		cs := make([]*blkClient, len(lengths))
		for i, l := range lengths {
			cs[i] = s.dial(fmt.Sprintf("A%d", i), 113+i)
			s.must(cs[i].send(peer.Whole{}, binary.BigEndian.AppendUint32(nil, l)))
		}
		// Let the server deal with them (or die of them) before the next client comes.
		outcomes := make([]string, len(cs))
		framedParallel(len(cs), func(i int) *engine.Failure { outcomes[i] = cs[i].outcome(); return nil })
		for i, l := range lengths {
			t.Info("declared length %d: %s", l, outcomes[i])
			cs[i].conn.Close()
		}
		s.served("B", 115, "after clients declared over-limit lengths")
	})

	blkBad := []byte("bad \xff\xfe bytes \xc3")

	env.It("BLK-UTF8-1", should, "a payload that is not UTF-8 gets a reply or an open refusal", func(t *engine.T) {
		s := newBlk(t, blkHintUTF8)
		defer s.closeAll()
		a := s.dial("A", 116)
		s.must(a.send(peer.Whole{}, wire.AppendBlock(nil, blkBad)))
		err := a.conn.WaitFor(t.Scale(2*time.Second), blkWhole)
		got := a.conn.Received()
		switch {
		case err == nil:
			t.Info("answered with %s", wire.Quote(got, 80))
		case a.closed():
			t.Info("refused by a close, after %s", framedGot(got, nil))
		default:
			s.must(&engine.Failure{
				Expected: "a reply block, or the connection closed (an open refusal), within 2 s of a payload that is not UTF-8",
				Got:      "no reply and the connection stayed open: " + framedGot(got, err),
			})
		}
	})

	env.It("BLK-UTF8-1", must, "after a payload that is not UTF-8, the server still serves others", func(t *engine.T) {
		s := newBlk(t, blkHintCrash)
		defer s.closeAll()
		a := s.dial("A", 117)
		s.must(a.send(peer.Whole{}, wire.AppendBlock(nil, blkBad)))
		t.Info("A: %s", a.outcome())
		s.served("B", 118, "after a client sent a payload that is not UTF-8")
	})

	env.It("BLK-CONC-1", should, "a client is answered while five others are in the middle of their blocks", func(t *engine.T) {
		s := newBlk(t, blkHintConc)
		defer s.closeAll()
		const slow = 5
		payloads := make([][]byte, slow)
		cs := make([]*blkClient, slow)
		for i := range cs {
			cs[i] = s.dial(fmt.Sprintf("S%d", i), 120+i)
			payloads[i] = []byte(fmt.Sprintf("slow client %d, straße", i))
			s.must(cs[i].send(peer.Whole{}, wire.AppendBlock(nil, payloads[i])[:10]))
		}
		b := s.dial("B", 126)
		if f := b.exchange([]byte("am I served while they dawdle?"), "B's block, while 5 clients are in the middle of theirs"); f != nil {
			if f.Hint == "" || f.Hint == blkHintConc {
				f.Hint = blkHintConc
			}
			s.must(f)
		}
		// The last to come finishes first: each must be answered while the others still wait.
		for i := slow - 1; i >= 0; i-- {
			s.must(cs[i].send(peer.Whole{}, wire.AppendBlock(nil, payloads[i])[10:]))
			s.must(cs[i].awaitReply(payloads[i], t.Scale(2*time.Second), cs[i].name+"'s block, completed while the others still wait"))
		}
	})

	generalSpecs(env, blkActivity)
}

// blkActivity is the client traffic of GEN-IDLE-1 and GEN-LEAK-1: blocks answered, and clients
// leaving every way (mid-prefix, mid-payload with RST, connect-and-close, half-close).
func blkActivity(t *engine.T) {
	wait := t.Scale(500 * time.Millisecond) // no judging here: just give the server time to see them go
	var conns []*peer.Conn
	for i := range 5 {
		c, err := peer.Dial(t, t.Addr(), peer.FromIP(clientIP(140+i)), peer.Name(fmt.Sprintf("L%d", i)))
		if err != nil {
			break // the spec judges the server's health, not this traffic
		}
		defer c.Close()
		conns = append(conns, c)
	}
	if len(conns) < 5 {
		return
	}
	conns[0].Send(peer.Whole{}, wire.AppendBlock(nil, []byte("hello")))
	conns[1].Send(peer.Whole{}, []byte{0, 0})
	conns[2].Send(peer.Whole{}, wire.AppendBlock(nil, []byte("cut short"))[:7])
	conns[4].Send(peer.Whole{}, wire.AppendBlock(nil, []byte("half-closing")))
	conns[4].HalfClose()
	conns[0].WaitFor(wait, blkWhole)
	conns[0].Close()
	conns[1].Close()
	conns[2].Reset()
	conns[3].Close()
	conns[4].WaitEOF(wait)
}
