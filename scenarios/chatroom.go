package scenarios

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockspec/sockspec/conformance/engine"
	"github.com/sockspec/sockspec/conformance/oracle"
	"github.com/sockspec/sockspec/conformance/peer"
	"github.com/sockspec/sockspec/conformance/profile"
	"github.com/sockspec/sockspec/wire"
)

// chatProfile is the chat knobs a spec needs, read once from the profile.
type chatProfile struct {
	raw        bool
	welcome    []byte
	relay      string
	maxMessage int
	join       []joinStep
	format     oracle.Format
}

type joinStep struct {
	expect string // wait for these bytes (after {nick} substitution)
	send   string // send these bytes
}

func readChatProfile(env *engine.Env) (chatProfile, error) { return chatProfileOf(env.Profile) }

func chatProfileOf(p profile.Profile) (chatProfile, error) {
	cp := chatProfile{raw: p.Get("framing") != "lines", welcome: []byte(p.Get("welcome")), relay: p.Get("relay")}
	cp.maxMessage = int(p.Size("max_message", 2048))
	if !cp.raw {
		cp.maxMessage = int(p.Size("max_message", 64<<10))
	}
	steps, err := parseJoin(p.Get("join"))
	if err != nil {
		return cp, err
	}
	cp.join = steps
	cp.format, err = oracle.ParseFormat(cp.relay)
	return cp, err
}

// parseJoin reads `expect NICKNAME; send {nick}\n` (\n and \t escapes allowed).
func parseJoin(script string) ([]joinStep, error) {
	var steps []joinStep
	for _, part := range strings.Split(script, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		verb, arg, _ := strings.Cut(part, " ")
		arg = strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\r`, "\r").Replace(arg)
		switch verb {
		case "expect":
			steps = append(steps, joinStep{expect: arg})
		case "send":
			steps = append(steps, joinStep{send: arg})
		default:
			return nil, fmt.Errorf("join script step %q: want `expect TEXT` or `send TEXT`", part)
		}
	}
	return steps, nil
}

// chatter is one simulated chat client with its own loopback source address.
type chatter struct {
	name     string
	conn     *peer.Conn
	id       oracle.Identity
	welcomed time.Time
	left     time.Time
	how      string
	mu       sync.Mutex
	sent     []oracle.Message
	kept     []byte // received bytes a spec consumed from the connection to keep it small
	ignored  bool   // not judged by the oracle (a silent or non-reading client)
}

// room is the set of clients of one spec and what they did.
type room struct {
	t       *engine.T
	cp      chatProfile
	clients []*chatter
	start   time.Time
	seq     atomic.Int64
}

func newRoom(t *engine.T) *room {
	cp, err := readChatProfile(t.Env)
	if err != nil {
		t.Fail(engine.Failure{Expected: "a valid chat profile", Got: err.Error()})
	}
	return &room{t: t, cp: cp, start: time.Now()}
}

// ip of the i-th client: 127.0.0.2, 127.0.0.3, ... so that {ip} in a relay names the sender.
func clientIP(i int) string {
	return fmt.Sprintf("127.0.%d.%d", (i+2)/250, (i+2)%250+boolInt((i+2)%250 == 0))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// dial connects a new client without waiting for its welcome.
func (r *room) dial(opts ...peer.Option) *chatter {
	i := len(r.clients)
	name := string(rune('A'+i%26)) + strconv.Itoa(i/26)
	if i < 26 {
		name = string(rune('A' + i))
	}
	ip := clientIP(i)
	opts = append([]peer.Option{peer.FromIP(ip), peer.Name(name)}, opts...)
	c, err := peer.Dial(r.t, r.t.Addr(), opts...)
	if err != nil {
		r.t.Fail(engine.Failure{
			Expected: "the server accepts a connection from " + ip,
			Got:      err.Error(),
			Hint:     "Is the server still listening? It may have crashed while serving earlier clients.",
		})
	}
	ch := &chatter{name: name, conn: c, id: oracle.Identity{IP: ip, Port: int(c.LocalAddr().Port()), Nick: "nick" + name}}
	r.clients = append(r.clients, ch)
	return ch
}

// joinClient runs the join script and waits for the welcome (CHAT-WELCOME-1 checks it).
func (r *room) joinClient(ch *chatter) {
	t := r.t
	for _, step := range r.cp.join {
		if step.expect != "" {
			want := []byte(strings.ReplaceAll(step.expect, "{nick}", ch.id.Nick))
			if err := ch.conn.WaitFor(t.Scale(2*time.Second), func(b []byte) bool { return bytes.Contains(b, want) }); err != nil {
				t.Fail(engine.Failure{
					Expected:   fmt.Sprintf("%s to receive %s (join script)", ch.name, wire.Quote(want, 60)),
					Got:        err.Error(),
					Transcript: r.transcript(),
				})
			}
			got := ch.conn.Received()
			ch.conn.Consume(bytes.Index(got, want) + len(want))
		} else {
			msg := []byte(strings.ReplaceAll(step.send, "{nick}", ch.id.Nick))
			r.must(ch.conn.Send(peer.Whole{}, msg), "sending the join script")
		}
	}
	if len(r.cp.welcome) > 0 {
		w := r.cp.welcome
		err := ch.conn.WaitFor(t.Scale(2*time.Second), func(b []byte) bool { return len(b) >= len(w) })
		got := ch.conn.Received()
		if err != nil || !bytes.HasPrefix(got, w) {
			t.Fail(engine.Failure{
				Expected: fmt.Sprintf("%s to receive the welcome %s first", ch.name, wire.Quote(w, 60)),
				Got:      gotText(got, err),
				Hint: "The welcome must be the first thing a client receives. Send it right after accept(), " +
					"before you add the client to the list that broadcasts go to.",
				Transcript: r.transcript(),
			})
		}
		ch.conn.Consume(len(w))
	}
	ch.welcomed = time.Now()
}

// join connects n clients one after the other, waits for each welcome, then makes sure every
// client is really in the room (sync).
func (r *room) join(n int, opts ...peer.Option) []*chatter {
	out := make([]*chatter, n)
	for i := range out {
		out[i] = r.dial(opts...)
		r.joinClient(out[i])
	}
	r.sync()
	return out
}

// sync makes sure every connected client is in the room. A welcome does not prove it: many
// servers send the welcome first and add the client to their list a moment later, so a message
// sent in between legitimately misses the newcomer. A client is in the room once it received a
// relay; its joining time is when that was seen (earlier messages may or may not reach it).
func (r *room) sync() {
	var live []*chatter
	for _, c := range r.clients {
		if c.left.IsZero() && !c.ignored {
			live = append(live, c)
		}
	}
	if len(live) < 2 {
		return
	}
	in := map[*chatter]bool{}
	deadline := time.Now().Add(r.t.Scale(3 * time.Second))
	for len(in) < len(live) {
		senders := []*chatter{live[0]}
		if !in[live[0]] {
			senders = append(senders, live[1])
		}
		for _, s := range senders {
			r.send(s, peer.Whole{}, r.message(s, 8))
		}
		for _, c := range live {
			if in[c] {
				continue
			}
			wait := min(r.t.Scale(50*time.Millisecond), time.Until(deadline))
			if c.conn.WaitFor(wait, func(b []byte) bool { return len(b) > 0 }) == nil {
				in[c] = true
				c.welcomed = time.Now()
			}
		}
		if time.Now().After(deadline) {
			for _, c := range live {
				if !in[c] {
					r.t.Fail(engine.Failure{
						Expected: fmt.Sprintf("%s, once welcomed, to receive the other clients' messages", c.name),
						Got:      "no relay at all within 3 s",
						Hint: "The welcome arrived, but the client never joined the room. Do you add the new " +
							"connection to the list of clients that broadcasts go to?",
						Transcript: r.transcript(),
					})
				}
			}
		}
	}
}

func gotText(got []byte, err error) string {
	s := wire.Quote(got, 120)
	if len(got) == 0 {
		s = "nothing"
	}
	if err != nil {
		s += " (" + err.Error() + ")"
	}
	return s
}

// message makes a unique, recognisable payload: never holds '<', '>', '[' or ']' so that it
// cannot be mistaken for a relay prefix.
func (r *room) message(from *chatter, size int) []byte {
	seq := int(r.seq.Add(1))
	base := fmt.Sprintf("%s-m%d-", from.name, seq)
	b := []byte(base)
	for len(b) < size {
		b = append(b, byte('a'+(len(b)+seq)%26))
	}
	return b[:max(size, len(base))]
}

// send has ch send msgs (each one a message) with the given shaping, and records them.
func (r *room) send(ch *chatter, shaper peer.Shaper, msgs ...[]byte) {
	wire := make([][]byte, len(msgs))
	ch.mu.Lock()
	for i, m := range msgs {
		ch.sent = append(ch.sent, oracle.Message{Data: append([]byte(nil), m...), At: time.Now()})
		if r.cp.raw {
			wire[i] = m
		} else {
			wire[i] = append(append([]byte(nil), m...), '\n')
		}
	}
	ch.mu.Unlock()
	r.must(ch.conn.Send(shaper, wire...), ch.name+" sending")
}

func (r *room) must(err error, doing string) {
	if err != nil {
		r.t.Fail(engine.Failure{
			Expected:   doing + " to succeed",
			Got:        err.Error(),
			Hint:       "The server closed or reset this connection. Did it crash, or close clients it should keep?",
			Transcript: r.transcript(),
		})
	}
}

// leave ends a client's session: "close" (FIN), "reset" (RST) or "half-close".
func (r *room) leave(ch *chatter, how string) {
	ch.left, ch.how = time.Now(), how
	switch how {
	case "reset":
		ch.conn.Reset()
	case "half-close":
		ch.conn.HalfClose()
	default:
		ch.conn.Close()
	}
}

// expectedPayload is how many payload bytes (or lines) receiver rc should get: every message
// of every other client sent after rc was welcomed.
func (r *room) expectedPayload(rc *chatter) (bytesN, lines int) {
	for _, s := range r.clients {
		if s == rc {
			continue
		}
		s.mu.Lock()
		for _, m := range s.sent {
			if m.At.After(rc.welcomed) {
				bytesN += len(m.Data)
				lines++
			}
		}
		s.mu.Unlock()
	}
	return
}

// payloadOf counts the payload bytes (raw) or lines (lines framing) in a received stream.
func (r *room) payloadOf(b []byte) int {
	if !r.cp.raw {
		return bytes.Count(b, []byte{'\n'})
	}
	n := len(b)
	for _, s := range r.clients {
		if p := r.cp.format.Prefix(s.id); len(p) > 0 {
			n -= bytes.Count(b, p) * len(p)
		}
		if suf := r.cp.format.Suffix(s.id); len(suf) > 0 {
			n -= bytes.Count(b, suf) * len(suf)
		}
	}
	return n
}

// settle waits until every connected receiver has at least the payload it should get, then
// for a quiet moment (late duplicates and echoes show up there), and returns whether all
// arrived in time.
func (r *room) settle(within time.Duration) bool {
	deadline := time.Now().Add(r.t.Scale(within))
	complete := true
	for _, rc := range r.clients {
		if !rc.left.IsZero() || rc.ignored {
			continue
		}
		wantBytes, wantLines := r.expectedPayload(rc)
		want := wantBytes
		if !r.cp.raw {
			want = wantLines
		}
		want -= r.payloadOf(rc.kept)
		if err := rc.conn.WaitFor(time.Until(deadline), func(b []byte) bool { return r.payloadOf(b) >= want }); err != nil {
			complete = false
		}
	}
	r.quiet()
	return complete
}

// quiet waits until no client received anything for a short window (bounded).
func (r *room) quiet() {
	window := r.t.Scale(150 * time.Millisecond)
	for range 20 {
		still := true
		for _, c := range r.clients {
			if c.left.IsZero() && !c.ignored && !c.conn.Quiet(window/time.Duration(len(r.clients)+1)) {
				still = false
			}
		}
		if still {
			return
		}
	}
}

func historyOf(clients []*chatter) oracle.History {
	var h oracle.History
	for _, c := range clients {
		if c.ignored {
			continue
		}
		c.mu.Lock()
		h.Clients = append(h.Clients, oracle.Client{
			Name:     c.name,
			ID:       c.id,
			Welcomed: c.welcomed,
			Left:     c.left,
			How:      leaveKind(c.how),
			Complete: c.left.IsZero(),
			Sent:     append([]oracle.Message(nil), c.sent...),
			Received: c.received(),
		})
		c.mu.Unlock()
	}
	return h
}

// received is everything the client got after its welcome, including what a spec kept aside.
func (c *chatter) received() []byte {
	if len(c.kept) == 0 {
		return c.conn.Received()
	}
	return append(append([]byte(nil), c.kept...), c.conn.Received()...)
}

func leaveKind(how string) oracle.Leave {
	switch how {
	case "close":
		return oracle.Closed
	case "reset":
		return oracle.Reset
	case "half-close":
		return oracle.HalfClosed
	case "":
		return oracle.Stayed
	}
	return oracle.Closed
}

// oracleOptions is the profile as the oracle needs it.
func oracleOptions(cp chatProfile, ignore string) oracle.Options {
	o := oracle.Options{Framing: oracle.Raw, Format: cp.format}
	if !cp.raw {
		o.Framing = oracle.Lines
	}
	if ignore != "" {
		o.Ignore = mustRegexp(ignore)
	}
	return o
}

// judge runs the oracle and fails the spec on the first violation of one of the given kinds.
func (r *room) judge(kinds ...oracle.Kind) {
	v := oracle.Check(historyOf(r.clients), oracleOptions(r.cp, r.t.Env.Profile.Get("ignore")))
	if v.Err != nil {
		r.t.Fail(engine.Failure{Expected: "a history the oracle can judge", Got: v.Err.Error(), Transcript: r.transcript()})
	}
	for _, viol := range v.Violations {
		for _, k := range kinds {
			if viol.Kind == k {
				r.t.Fail(engine.Failure{
					Expected:   expectationOf(k),
					Got:        viol.Error(),
					Hint:       chatHint(k, r.cp.raw),
					Transcript: r.transcript(),
				})
			}
		}
	}
}

func (r *room) transcript() string { return mergedTranscript(r.clients) }

// mergedTranscript interleaves every client's transcript by wall-clock time.
func mergedTranscript(clients []*chatter) string {
	var all peer.Transcript
	for _, c := range clients {
		all = append(all, c.conn.Transcript()...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Time.Before(all[j].Time) })
	return all.String()
}

func (r *room) closeAll() {
	for _, c := range r.clients {
		c.conn.Close()
	}
}

// payloadCounter counts payload bytes of a stream given in pieces: the bytes that are not a
// relay prefix, suffix or line end. It keeps a short tail so that a prefix split between two
// pieces is still recognised.
type payloadCounter struct {
	marks [][]byte // prefixes and suffixes of every client, and "\n" in lines framing
	tail  []byte
	n     int
}

func (r *room) newPayloadCounter() *payloadCounter {
	pc := &payloadCounter{}
	for _, c := range r.clients {
		for _, m := range [][]byte{r.cp.format.Prefix(c.id), r.cp.format.Suffix(c.id)} {
			if len(m) > 0 {
				pc.marks = append(pc.marks, m)
			}
		}
	}
	if !r.cp.raw {
		pc.marks = append(pc.marks, []byte{'\n'})
	}
	return pc
}

func (pc *payloadCounter) add(p []byte) {
	buf := append(pc.tail, p...)
	pc.n += len(p)
	longest := 0
	for _, m := range pc.marks {
		// Only occurrences that end inside p are new.
		start := max(0, len(pc.tail)-len(m)+1)
		pc.n -= bytes.Count(buf[start:], m) * len(m)
		longest = max(longest, len(m))
	}
	keep := min(len(buf), max(longest-1, 0))
	pc.tail = append(pc.tail[:0:0], buf[len(buf)-keep:]...)
}

// setAside moves what c received so far out of its connection's buffer (the oracle still sees
// it), so that the next look at the connection shows only what comes next; it returns the
// bytes it moved.
func (r *room) setAside(c *chatter) []byte {
	got := c.conn.Received()
	c.kept = append(c.kept, got...)
	c.conn.Consume(len(got))
	return got
}
