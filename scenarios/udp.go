package scenarios

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/sockspec/sockspec/conformance/engine"
	"github.com/sockspec/sockspec/conformance/peer"
	"github.com/sockspec/sockspec/wire"
)

// udp-upper and udp-pong share one suite: the same UDP-* requirements, judged against the
// reply the profile expects (the upper-cased datagram, or the `reply` knob).
func init() {
	add(engine.Suite{Protocol: "udp-upper", Probe: udpProbe, Specs: udpSpecs})
	add(engine.Suite{Protocol: "udp-pong", Probe: udpProbe, Specs: udpSpecs})
}

// maxUDPPayload is the largest datagram IPv4 carries (65535 - 20 - 8).
const maxUDPPayload = 65507

// udpProfile is what the UDP specs need of the profile.
type udpProfile struct {
	protocol    string
	pong        bool
	maxDatagram int
	caseRule    wire.Case
	reply       []byte // udp-pong
}

func readUDPProfile(env *engine.Env) (udpProfile, error) {
	p := udpProfile{protocol: env.Protocol, pong: env.Protocol == "udp-pong"}
	p.maxDatagram = int(env.Profile.Size("max_datagram", 2048))
	if p.maxDatagram < 1 {
		return p, fmt.Errorf("max_datagram=%q: want at least 1 byte", env.Profile.Get("max_datagram"))
	}
	if p.pong {
		p.reply = []byte(env.Profile.Get("reply"))
		return p, nil
	}
	if c := env.Profile.Get("case"); c != "" {
		rule, err := wire.ParseCase(c)
		if err != nil {
			return p, err
		}
		p.caseRule = rule
	}
	return p, nil
}

// want is the reply a datagram should get: the first max_datagram bytes upper-cased, or PONG.
func (p udpProfile) want(payload []byte) []byte {
	if p.pong {
		return p.reply
	}
	return wire.Upper(p.caseRule, payload[:min(len(payload), p.maxDatagram)])
}

// udpWait is how long a reply may take: 2 s scaled, never under 0.5 s.
func udpWait(env *engine.Env) time.Duration {
	return max(env.Scale(2*time.Second), 500*time.Millisecond)
}

// udpQuiet is the window in which an extra (duplicate) reply would show: a measurement, not a
// reply deadline. A duplicate sent at once arrives within microseconds on loopback.
func udpQuiet(env *engine.Env) time.Duration {
	return max(env.Scale(200*time.Millisecond), 100*time.Millisecond)
}

// udpProbe is the plain valid request of GEN-ALIVE-1: one datagram from a fresh socket, its
// reply checked (from any source: where it comes from is UDP-SRC-1's business), sent again
// once if the reply is lost.
func udpProbe(ctx context.Context, env *engine.Env, addr string) error {
	prof, err := readUDPProfile(env)
	if err != nil {
		return err
	}
	c, err := peer.DialUDP(ctx, addr, peer.Name("probe"))
	if err != nil {
		return err
	}
	defer c.Close()
	payload := []byte("are you alive?")
	want := prof.want(payload)
	wait := udpWait(env)
	var wrong []byte
	for range 2 {
		if err := c.Send(payload); err != nil {
			return err
		}
		deadline := time.Now().Add(wait)
		for ctx.Err() == nil && time.Until(deadline) > 0 {
			got, _, err := c.Recv(time.Until(deadline))
			if err != nil {
				break
			}
			if bytes.Equal(got, want) {
				return nil
			}
			wrong = got
		}
	}
	if wrong != nil {
		return fmt.Errorf("the datagram %q was answered with %s, not %s", payload, wire.Quote(wrong, 80), wire.Quote(want, 80))
	}
	return fmt.Errorf("no reply to the datagram %q within %v, sent twice", payload, wait)
}

// Hints: the classic causes, in a student's words.
const (
	hintUDPMissing = "A datagram got no reply, even when sent a second time. Answer every datagram with " +
		"sendto(reply, address) using the address recvfrom() returned with that very datagram. A socket that " +
		"connect()ed to its first client, or a table of clients (keyed by IP alone, or of fixed size), sends " +
		"the replies elsewhere or ignores newcomers."
	hintUDPMisdirected = "A client received the reply meant for another client. Reply to the address recvfrom() " +
		"returned together with the datagram you answer: not to an address kept from an earlier datagram, " +
		"shared between threads, or looked up by IP alone (clients on one machine share an IP and differ by port)."
	hintUDPDuplicate = "A datagram got more than one reply. Send exactly one reply per datagram received: no " +
		"sendto() in a loop, no extra acknowledgement."
)

func hintUDPWrong(p udpProfile) string {
	if p.pong {
		return fmt.Sprintf("Every datagram, whatever it holds, gets exactly the reply %s (the profile's reply).", wire.Quote(p.reply, 40))
	}
	if p.caseRule == wire.ASCII {
		return "The reply is not the datagram upper-cased with case=ascii: only a-z become A-Z, every other byte " +
			"stays as it is (bytes.upper() in Python)."
	}
	return "The reply is not the datagram upper-cased with case=unicode, as message.decode('utf-8').upper() " +
		"gives it ('ß' becomes 'SS'). If your server upper-cases bytes (a-z only), check it with --set case=ascii."
}

func udpSpecs(env *engine.Env) {
	env.It("UDP-RESP-1", must, "each datagram gets exactly one reply, sent back to its own sender", func(t *engine.T) {
		s := newUDPSession(t)
		defer s.closeAll()
		alice, bob := s.dial("alice", 0), s.dial("bob", 1)
		texts := []string{"hello from %s, datagram %d", "grüße aus köln von %s, straße %d", "%s says: the quick brown fox %d"}
		for i := range 6 {
			for _, c := range []*udpClient{alice, bob} {
				s.send(c, []byte(fmt.Sprintf(texts[i%len(texts)], c.name, i)))
			}
			s.round(alice, bob)
		}
		s.expectNoMore(alice, bob)
	})

	env.It("UDP-SRC-1", must, "every reply comes from the address and port the client sent to", func(t *engine.T) {
		s := newUDPSession(t)
		defer s.closeAll()
		if !s.target.IsValid() {
			t.Skip("the target's address " + t.Addr() + " is not an IP address and port")
		}
		c := s.dial("client", 0)
		for i := range 3 {
			got, from, ok := s.exchange(c, []byte(fmt.Sprintf("where does the reply to datagram %d come from?", i)))
			if !ok {
				t.Fail(engine.Failure{
					Expected: "a reply to each datagram",
					Got:      "no reply within " + udpWait(t.Env).String() + ", sent twice",
					Hint:     hintUDPMissing, Transcript: s.transcript(c),
				})
			}
			if from != s.target {
				t.Fail(engine.Failure{
					Expected: fmt.Sprintf("the reply from %s, the address and port the datagram was sent to", s.target),
					Got:      fmt.Sprintf("the reply %s came from %s", wire.Quote(got, 60), from),
					Hint: "Your server replies from another socket than the one that received the datagram (a second " +
						"socket for sending, or a new one per client or per reply), so the reply comes from another " +
						"port. A client with a connected socket, or behind a firewall or NAT, throws such replies away. " +
						"Reply with serverSocket.sendto(reply, clientAddress) on the socket recvfrom() read from.",
					Transcript: s.transcript(c),
				})
			}
		}
	})

	env.It("UDP-MAX-1", must, "a datagram of the maximum size (max_datagram) is answered in full", func(t *engine.T) {
		s := newUDPSession(t)
		defer s.closeAll()
		size := min(s.prof.maxDatagram, maxUDPPayload)
		payload := udpPattern(size)
		want := s.prof.want(payload)
		c := s.dial("big", 0)
		got, _, ok := s.exchange(c, payload)
		hint := fmt.Sprintf("Your receive buffer is smaller than the largest datagram (max_datagram=%d). recvfrom(1024) "+
			"cuts a longer datagram to 1024 bytes on Linux, and raises an error on Windows. Use recvfrom(%d) or more, and "+
			"send the whole reply in one sendto().", s.prof.maxDatagram, s.prof.maxDatagram)
		switch {
		case !ok:
			t.Fail(engine.Failure{
				Expected: fmt.Sprintf("a reply to a %d-byte datagram", size),
				Got:      "no reply within " + udpWait(t.Env).String() + ", sent twice",
				Hint:     hint, Transcript: s.transcript(c),
			})
		case bytes.Equal(got, want):
		case !s.prof.pong && len(got) < len(want) && bytes.HasPrefix(want, got):
			t.Fail(engine.Failure{
				Expected: fmt.Sprintf("a %d-byte reply: the whole datagram upper-cased", len(want)),
				Got:      fmt.Sprintf("a reply of %d bytes, the first %d bytes only", len(got), len(got)),
				Hint:     hint, Transcript: s.transcript(c),
			})
		default:
			t.Fail(engine.Failure{
				Expected: "the reply " + wire.Quote(want, 80),
				Got:      wire.Quote(got, 80),
				Hint:     hintUDPWrong(s.prof), Transcript: s.transcript(c),
			})
		}
	})

	env.It("UDP-BIG-1", info, "what becomes of a datagram twice the maximum size", func(t *engine.T) {
		s := newUDPSession(t)
		defer s.closeAll()
		size := min(2*s.prof.maxDatagram, maxUDPPayload)
		if size <= s.prof.maxDatagram {
			t.Skip(fmt.Sprintf("max_datagram=%d is the UDP limit: no larger datagram exists", s.prof.maxDatagram))
		}
		payload := udpPattern(size)
		c := s.dial("bigger", 0)
		got, _, ok := s.exchange(c, payload)
		full := wire.Upper(s.prof.caseRule, payload)
		what := fmt.Sprintf("a %d-byte datagram (max_datagram %d)", size, s.prof.maxDatagram)
		switch {
		case !ok:
			t.Info("%s was dropped: no reply within %v, sent twice", what, udpWait(t.Env))
		case s.prof.pong && bytes.Equal(got, s.prof.reply):
			t.Info("%s was answered with %s, as any other", what, wire.Quote(got, 40))
		case s.prof.pong:
			t.Info("%s was answered with %s", what, wire.Quote(got, 80))
		case bytes.Equal(got, full):
			t.Info("%s was answered in full (%d bytes)", what, len(got))
		case len(got) < len(full) && bytes.HasPrefix(full, got):
			t.Info("%s was truncated: the reply held its first %d bytes, upper-cased", what, len(got))
		default:
			t.Info("%s was answered with %d bytes that are not its upper-cased form: %s", what, len(got), wire.Quote(got, 80))
		}
	})

	env.It("UDP-EMPTY-1", must, "an empty datagram does not take the server down", func(t *engine.T) {
		s := newUDPSession(t)
		defer s.closeAll()
		empty, after := s.dial("empty", 0), s.dial("after", 1)
		s.sendRaw(empty, nil)
		s.send(after, []byte("still there after an empty datagram?"))
		if missing := s.collectRound([]*udpClient{after}); len(missing) > 0 {
			t.Fail(engine.Failure{
				Expected: "the server to go on answering after an empty datagram",
				Got:      "no reply to a plain datagram sent (twice) by another client after the empty one",
				Hint: "An empty datagram is a datagram like any other: recvfrom() returns b''. `if not message: break` " +
					"(a habit from TCP, where b'' means the client has gone) ends your server loop. UDP has no " +
					"connection to end: answer the empty datagram (or skip it) and go on.",
				Transcript: s.transcript(empty, after),
			})
		}
	})

	if env.Protocol == "udp-upper" {
		udpUTF8Specs(env)
	}

	env.It("UDP-CONC-1", must, "50 clients on distinct ports, interleaved in rounds, each get their own replies", func(t *engine.T) {
		s := newUDPSession(t)
		defer s.closeAll()
		// One loopback address for all: the clients differ by port only.
		clients := make([]*udpClient, 50)
		for i := range clients {
			clients[i] = s.dial(fmt.Sprintf("c%02d", i), -1)
		}
		// Rounds of 50 datagrams, each round answered before the next: a correct server may
		// drop a burst much larger than that (PROTOCOLS.md).
		for round := range 3 {
			for i, c := range clients {
				s.send(c, []byte(fmt.Sprintf("client %02d, round %d: hello there", i, round)))
			}
			s.round(clients...)
		}
		s.expectNoMore(clients...)
	}, engine.Timeout(2*time.Minute))

	udpGeneralSpecs(env)
}

func udpUTF8Specs(env *engine.Env) {
	badDatagrams := [][]byte{
		[]byte("bad \xff\xfe bytes"),
		[]byte("caf\xc3"),       // a character cut in half
		[]byte("\xed\xa0\x80x"), // an encoded surrogate
		[]byte("\x80\x81\x82\x83"),
	}
	env.It("UDP-UTF8-1", must, "after datagrams that are not UTF-8, the server keeps answering", func(t *engine.T) {
		s := newUDPSession(t)
		defer s.closeAll()
		bad, after := s.dial("bad", 0), s.dial("after", 1)
		for _, b := range badDatagrams {
			s.sendRaw(bad, b)
		}
		s.send(after, []byte("still there after bytes that are not utf-8?"))
		if missing := s.collectRound([]*udpClient{after}); len(missing) > 0 {
			t.Fail(engine.Failure{
				Expected: "the server to go on answering after datagrams that are not UTF-8",
				Got:      "no reply to a plain datagram sent (twice) by another client after the ones that are not UTF-8",
				Hint: "message.decode('utf-8') raises UnicodeDecodeError on bytes that are not UTF-8, and nothing " +
					"catches it, so your server ends. Catch it around the handling of one datagram (and drop it, or " +
					"decode with errors='replace'), or upper-case the bytes: bytes.upper().",
				Transcript: s.transcript(bad, after),
			})
		}
	})

	env.It("UDP-UTF8-1", should, "a datagram that is not UTF-8 is answered (upper-cased) or dropped", func(t *engine.T) {
		s := newUDPSession(t)
		defer s.closeAll()
		c := s.dial("bad", 0)
		bad := []byte("bad \xff\xfe bytes, still text")
		marker := []byte("marker after the bad bytes")
		wantMarker := s.prof.want(marker)
		s.sendRaw(c, bad)
		s.sendRaw(c, marker)
		// Everything before the marker's reply answers the bad datagram.
		var replies [][]byte
		deadline, resent := time.Now().Add(udpWait(t.Env)), false
		for {
			got, _, err := s.recv(c, deadline)
			if err != nil {
				if resent || s.exited() {
					return // the server went down: the MUST part judges that
				}
				resent = true
				s.sendRaw(c, marker)
				deadline = time.Now().Add(udpWait(t.Env))
				continue
			}
			if bytes.Equal(got, wantMarker) {
				break
			}
			replies = append(replies, got)
		}
		if len(replies) == 0 { // a server with a thread per datagram may answer out of order
			if got, _, err := c.p.Recv(udpQuiet(t.Env)); err == nil && !bytes.Equal(got, wantMarker) {
				replies = append(replies, got)
			}
		}
		want := s.prof.want(bad)
		switch {
		case len(replies) == 0: // dropped
		case len(replies) > 1:
			t.Fail(engine.Failure{
				Expected: "one reply to the datagram that is not UTF-8, or none",
				Got:      fmt.Sprintf("%d replies: %s", len(replies), wire.Quote(bytes.Join(replies, []byte(" | ")), 120)),
				Hint:     hintUDPDuplicate, Transcript: s.transcript(c),
			})
		case !bytes.Equal(udpASCIIOnly(replies[0]), udpASCIIOnly(want)):
			hint := "Your reply to a datagram that is not UTF-8 is not its upper-cased form. Either drop such a " +
				"datagram, or answer it upper-cased: bytes.upper() upper-cases the letters and keeps the other bytes; " +
				"decode('utf-8', errors='replace').upper() replaces the bad bytes."
			if bytes.Equal(replies[0], bad) {
				hint = "Your server sends a datagram it cannot decode back unchanged: its letters are not upper-cased. " +
					"bytes.upper() upper-cases the letters and keeps the other bytes; or decode with errors='replace' " +
					"and upper-case the text; or drop the datagram."
			}
			t.Fail(engine.Failure{
				Expected: "no reply, or the datagram upper-cased (the bytes that are not UTF-8 kept, replaced or left out): " + wire.Quote(want, 80),
				Got:      wire.Quote(replies[0], 80),
				Hint:     hint, Transcript: s.transcript(c),
			})
		}
	})
}

// udpGeneralSpecs are GEN-IDLE-1, GEN-LEAK-1 and GEN-BAD-1 for a datagram protocol.
func udpGeneralSpecs(env *engine.Env) {
	idleSpec(env, udpActivity, "A busy loop: a non-blocking socket (setblocking(False), settimeout(0)) polled in "+
		"`while True: try: recvfrom(...) except BlockingIOError: continue` spins even when no datagram "+
		"comes. Use a blocking recvfrom(), or select() with a timeout.")
	leakSpec(env, udpActivity, "Descriptors or threads pile up as clients come and go: a socket opened per client (or per "+
		"reply) and never closed, or a thread per client that never ends. A UDP server needs one socket.")

	env.It("GEN-BAD-1", must, "non-UTF-8, oversized and empty datagrams do not take the server down", func(t *engine.T) {
		s := newUDPSession(t)
		defer s.closeAll()
		c := s.dial("mallory", 0)
		s.sendRaw(c, []byte("\xff\xfe\xfd not text \xc3"))
		s.sendRaw(c, bytes.Repeat([]byte{'x'}, maxUDPPayload))
		s.sendRaw(c, nil)
		// The verdict: the server still answers a plain valid request afterwards (the suite's
		// probe, made here so that the wait ends early when a launched target is gone).
		probe := s.dial("probe", 1)
		payload := []byte("are you alive?")
		got, _, ok := s.exchange(probe, payload)
		if !ok || !bytes.Equal(got, s.prof.want(payload)) {
			what := "no reply to a plain datagram " + wire.Quote(payload, 40) + ", sent twice"
			if ok {
				what = "the plain datagram " + wire.Quote(payload, 40) + " was answered with " + wire.Quote(got, 60)
			}
			t.Fail(engine.Failure{
				Expected: "the server to keep answering after bad datagrams",
				Got:      what,
				Hint: "A bad datagram took the server down. Handle each datagram inside a try/except (drop the bad " +
					"one and go on): decode('utf-8') raises on bytes that are not UTF-8, and `if not message: break` " +
					"ends the loop on an empty datagram.",
				Transcript: s.transcript(c, probe),
			})
		}
	})
}

// udpActivity: eight clients come, exchange three datagrams each, and go. It judges nothing
// and stops early when the server stops answering.
func udpActivity(t *engine.T) {
	s := newUDPSession(t)
	defer s.closeAll()
	for i := range 8 {
		c := s.dial(fmt.Sprintf("visitor%d", i), -1)
		for j := range 3 {
			if _, _, ok := s.exchange(c, []byte(fmt.Sprintf("visitor %d, datagram %d", i, j))); !ok {
				return
			}
		}
		s.closeClient(c)
	}
}

// udpSession is the clients of one spec and what they sent.
type udpSession struct {
	t       *engine.T
	prof    udpProfile
	target  netip.AddrPort // invalid when the address is a host name that does not resolve
	clients []*udpClient
}

type udpClient struct {
	name   string
	p      *peer.Packet
	closed bool
	sent   []*udpSent
}

// udpSent is one datagram a client sent, and the replies that matched it.
type udpSent struct {
	payload, want []byte
	replies       int
	resent        bool
}

func newUDPSession(t *engine.T) *udpSession {
	prof, err := readUDPProfile(t.Env)
	if err != nil {
		t.Fail(engine.Failure{Expected: "a valid " + t.Env.Protocol + " profile", Got: err.Error()})
	}
	s := &udpSession{t: t, prof: prof}
	if ap, err := netip.ParseAddrPort(t.Addr()); err == nil {
		s.target = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	} else if ua, err := net.ResolveUDPAddr("udp", t.Addr()); err == nil {
		ap := ua.AddrPort()
		s.target = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return s
}

// dial opens a client socket. ip >= 0 picks a loopback source address of its own
// (127.0.0.2, ...) when the target is on the IPv4 loopback; -1 uses the default.
func (s *udpSession) dial(name string, ip int) *udpClient {
	opts := []peer.Option{peer.Name(name)}
	if ip >= 0 && s.target.Addr().Is4() && s.target.Addr().IsLoopback() {
		opts = append(opts, peer.FromIP(clientIP(ip)))
	}
	p, err := peer.DialUDP(s.t, s.t.Addr(), opts...)
	if err != nil {
		s.t.Fail(engine.Failure{Expected: "a UDP socket for client " + name, Got: err.Error()})
	}
	c := &udpClient{name: name, p: p}
	s.clients = append(s.clients, c)
	return c
}

func (s *udpSession) closeClient(c *udpClient) {
	if !c.closed {
		c.closed = true
		c.p.Close()
	}
}

func (s *udpSession) closeAll() {
	for _, c := range s.clients {
		s.closeClient(c)
	}
}

// sendRaw sends a datagram whose reply nobody awaits.
func (s *udpSession) sendRaw(c *udpClient, b []byte) {
	if err := c.p.Send(b); err != nil {
		s.t.Fail(engine.Failure{Expected: "to send a datagram", Got: err.Error(), Transcript: s.transcript(c)})
	}
}

// send sends a datagram whose reply collect awaits.
func (s *udpSession) send(c *udpClient, b []byte) {
	c.sent = append(c.sent, &udpSent{payload: b, want: s.prof.want(b)})
	s.sendRaw(c, b)
}

// exchange sends b from c and returns the first datagram that comes back, sending b again
// once when nothing comes within the reply deadline.
func (s *udpSession) exchange(c *udpClient, b []byte) ([]byte, netip.AddrPort, bool) {
	for range 2 {
		s.sendRaw(c, b)
		got, from, err := s.recv(c, time.Now().Add(udpWait(s.t.Env)))
		if err == nil {
			return got, from, true
		}
		if s.exited() {
			break
		}
	}
	return nil, netip.AddrPort{}, false
}

// recv waits until deadline for c's next datagram. A launched target that has exited sends
// nothing more, so the wait ends as soon as it is seen gone (the engine reports the crash).
func (s *udpSession) recv(c *udpClient, deadline time.Time) ([]byte, netip.AddrPort, error) {
	exited := s.t.Target.Exited()
	for {
		left := max(time.Until(deadline), time.Millisecond)
		if exited != nil {
			left = min(left, 50*time.Millisecond) // look at the process between slices of the wait
		}
		got, from, err := c.p.Recv(left)
		if err == nil || exited == nil || !errors.Is(err, os.ErrDeadlineExceeded) || time.Until(deadline) <= 0 || s.exited() {
			return got, from, err
		}
	}
}

// exited reports whether a launched target has exited.
func (s *udpSession) exited() bool {
	select {
	case <-s.t.Target.Exited(): // nil (never ready) for targets sockspec did not launch
		return true
	default:
		return false
	}
}

// round awaits the reply to each client's last datagram, sending it again once when lost,
// and fails the spec when one is still missing.
func (s *udpSession) round(cs ...*udpClient) {
	missing := s.collectRound(cs)
	if len(missing) == 0 {
		return
	}
	names := make([]string, 0, len(missing))
	for _, c := range missing {
		names = append(names, c.name)
	}
	first := missing[0]
	got := fmt.Sprintf("no reply to %s's datagram %s, even sent twice (%d of %d clients unanswered: %s)",
		first.name, wire.Quote(first.last().payload, 60), len(missing), len(cs), udpShortList(names, 10))
	hint := hintUDPMissing
	shown := []*udpClient{first}
	if c, n := s.strays(cs); n > 0 {
		// The replies went somewhere: to the wrong client.
		got += fmt.Sprintf("; meanwhile %s received %d datagrams more than the replies to its own", c.name, n)
		hint = hintUDPMisdirected
		shown = append(shown, c)
	}
	s.t.Fail(engine.Failure{
		Expected: "every client's datagram answered, to that client",
		Got:      got,
		Hint:     hint, Transcript: s.transcript(shown...),
	})
}

// collectRound awaits the reply to each client's last datagram, all within one reply
// deadline; the datagrams of those still waiting are sent once more and awaited again. It
// returns the clients whose reply never came.
func (s *udpSession) collectRound(cs []*udpClient) []*udpClient {
	pending := cs
	for attempt := range 2 {
		if attempt == 1 {
			if s.exited() {
				break // nobody left to answer: the engine reports the crash
			}
			for _, c := range pending {
				last := c.last()
				last.resent = true
				s.sendRaw(c, last.payload)
			}
		}
		deadline := time.Now().Add(udpWait(s.t.Env))
		var still []*udpClient
		for _, c := range pending {
			if !s.collect(c, deadline) {
				still = append(still, c)
			}
		}
		pending = still
		if len(pending) == 0 {
			break
		}
	}
	return pending
}

// collect reads c's datagrams until the reply to its last datagram arrives (true) or the
// deadline passes (false). Anything else that arrives fails the spec: a duplicate, another
// client's reply, a wrong reply.
func (s *udpSession) collect(c *udpClient, deadline time.Time) bool {
	last := c.last()
	for {
		got, _, err := s.recv(c, deadline)
		if err != nil {
			return false
		}
		if bytes.Equal(got, last.want) {
			last.replies++
			return true
		}
		s.judgeStray(c, got)
	}
}

// judgeStray fails the spec for a datagram that does not answer c's outstanding one, unless
// it is the second reply to a datagram c sent twice.
func (s *udpSession) judgeStray(c *udpClient, got []byte) {
	for i, d := range c.sent {
		if !bytes.Equal(got, d.want) {
			continue
		}
		if d.resent && d.replies < 2 {
			d.replies++
			return
		}
		s.t.Fail(engine.Failure{
			Expected: "one reply per datagram",
			Got:      fmt.Sprintf("%s got another reply %s to its datagram #%d %s", c.name, wire.Quote(got, 60), i+1, wire.Quote(d.payload, 60)),
			Hint:     hintUDPDuplicate, Transcript: s.transcript(c),
		})
	}
	for _, o := range s.clients {
		if o == c {
			continue
		}
		for _, d := range o.sent {
			if bytes.Equal(got, d.want) {
				s.t.Fail(engine.Failure{
					Expected: fmt.Sprintf("%s to receive only the replies to its own datagrams", c.name),
					Got:      fmt.Sprintf("%s received %s, the reply to %s's datagram %s", c.name, wire.Quote(got, 60), o.name, wire.Quote(d.payload, 60)),
					Hint:     hintUDPMisdirected, Transcript: s.transcript(c, o),
				})
			}
		}
	}
	want := c.last().want
	s.t.Fail(engine.Failure{
		Expected: fmt.Sprintf("the reply %s to %s's datagram %s", wire.Quote(want, 60), c.name, wire.Quote(c.last().payload, 60)),
		Got:      wire.Quote(got, 80),
		Hint:     hintUDPWrong(s.prof), Transcript: s.transcript(c),
	})
}

// expectNoMore fails the spec when a client receives a reply beyond one per datagram.
func (s *udpSession) expectNoMore(cs ...*udpClient) {
	end := time.Now().Add(udpQuiet(s.t.Env))
	for _, c := range cs {
		for {
			got, _, err := c.p.Recv(max(time.Until(end), time.Millisecond))
			if err != nil {
				break
			}
			if !bytes.Equal(got, c.last().want) {
				s.judgeStray(c, got)
				continue
			}
			if d := c.last(); d.resent && d.replies < 2 {
				d.replies++
				continue
			}
			s.t.Fail(engine.Failure{
				Expected: "one reply per datagram",
				Got:      fmt.Sprintf("%s sent %d datagrams and received an extra reply %s", c.name, len(c.sent), wire.Quote(got, 60)),
				Hint:     hintUDPDuplicate, Transcript: s.transcript(c),
			})
		}
	}
}

// strays finds the client holding the most datagrams nobody awaits (replies sent to the
// wrong client), reading what is already queued (bounded).
func (s *udpSession) strays(cs []*udpClient) (*udpClient, int) {
	var most *udpClient
	n := 0
	for _, c := range cs {
		k := 0
		for k < 500 {
			if _, _, err := c.p.Recv(time.Millisecond); err != nil {
				break
			}
			k++
		}
		if k > n {
			most, n = c, k
		}
	}
	return most, n
}

func (c *udpClient) last() *udpSent { return c.sent[len(c.sent)-1] }

// transcript merges the transcripts of some clients (all when none are given, at most 6).
func (s *udpSession) transcript(cs ...*udpClient) string {
	if len(cs) == 0 {
		cs = s.clients
	}
	var ts []peer.Transcript
	for i, c := range cs {
		if i == 6 {
			break
		}
		ts = append(ts, c.p.Transcript())
	}
	return udpClip(peer.Merge(ts...).String(), 40, 10)
}

// udpClip keeps the first head and last tail lines of a long transcript.
func udpClip(s string, head, tail int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) <= head+tail+1 {
		return s
	}
	left := len(lines) - head - tail
	return strings.Join(lines[:head], "") + fmt.Sprintf("... (%d lines left out)\n", left) + strings.Join(lines[len(lines)-tail:], "")
}

// udpPattern is n bytes of lower-case letters and digits whose upper-cased form has the same
// length, marked every 100 bytes with the offset so that a cut shows where it happened.
func udpPattern(n int) []byte {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 0, n+100)
	for len(b) < n {
		b = fmt.Appendf(b, "@%d:", len(b))
		for i := 0; len(b)%100 != 0; i++ {
			b = append(b, letters[i%len(letters)])
		}
	}
	return b[:n]
}

// udpASCIIOnly keeps the ASCII bytes of b: replies that keep, replace or leave out the bytes
// that are not UTF-8 compare equal.
func udpASCIIOnly(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c < 0x80 {
			out = append(out, c)
		}
	}
	return out
}

func udpShortList(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + fmt.Sprintf(" and %d more", len(names)-n)
}
