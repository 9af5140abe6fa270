package scenarios

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/onsi/ginkgo/v2"

	"github.com/sockspec/sockspec/conformance/engine"
	"github.com/sockspec/sockspec/conformance/oracle"
	"github.com/sockspec/sockspec/conformance/peer"
	"github.com/sockspec/sockspec/conformance/profile"
)

// ChatMachine is a rapid state machine over a live chat server: clients connect, send (whole,
// one byte per segment, or split), close and reset, across up to 6 clients; at the end the
// oracle judges the whole history. start gives a fresh server per test case.
//
// Failure messages are constant per kind of violation (rapid shrinks only towards the same
// failure); the details go to Logf.
func ChatMachine(prof profile.Profile, scale float64, start func(ctx context.Context) (addr string, stop func(), err error)) func(*rapid.T) {
	return func(rt *rapid.T) {
		cp, err := chatProfileOf(prof)
		if err != nil {
			rt.Fatalf("bad chat profile: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(30*scale)*time.Second)
		defer cancel()
		addr, stop, err := start(ctx)
		if err != nil {
			rt.Fatalf("could not start a fresh target")
		}
		defer stop()
		m := &chatMachine{cp: cp, addr: addr, ctx: ctx, scale: scale}
		defer m.closeAll()
		// Every action is always valid (an impossible one falls back to a possible one): under
		// `go test -fuzz` the input may run out and then rapid draws the same action forever.
		rt.Repeat(map[string]func(*rapid.T){
			"connect": m.connect,
			"send":    m.send,
			"close":   func(t *rapid.T) { m.leave(t, "close") },
			"reset":   func(t *rapid.T) { m.leave(t, "reset") },
			"":        func(t *rapid.T) {},
		})
		m.check(rt)
	}
}

type chatMachine struct {
	cp      chatProfile
	addr    string
	ctx     context.Context
	scale   float64
	clients []*chatter
	seq     int
}

func (m *chatMachine) d(x time.Duration) time.Duration { return time.Duration(float64(x) * m.scale) }

func (m *chatMachine) live() []*chatter {
	var out []*chatter
	for _, c := range m.clients {
		if c.left.IsZero() {
			out = append(out, c)
		}
	}
	return out
}

func (m *chatMachine) connect(t *rapid.T) {
	if len(m.live()) >= 6 {
		m.send(t)
		return
	}
	i := len(m.clients)
	name := string(rune('A' + i))
	c, err := peer.Dial(m.ctx, m.addr, peer.FromIP(clientIP(i)), peer.Name(name))
	if err != nil {
		t.Logf("connect %s: %v", name, err)
		t.Fatalf("a client could not connect")
	}
	ch := &chatter{name: name, conn: c, id: oracle.Identity{IP: clientIP(i), Port: int(c.LocalAddr().Port()), Nick: "nick" + name}}
	m.clients = append(m.clients, ch)
	if err := probeJoinAs(m.cp, c, ch.id.Nick, m.d(2*time.Second)); err != nil {
		t.Logf("%s joining: %v", name, err)
		t.Fatalf("a client was not welcomed")
	}
	c.Consume(len(c.Received()))
	ch.welcomed = time.Now()
	t.Logf("%s connects from %s", name, ch.id.IP)
	// In the room once a relay reached it: another client says hello until then.
	if others := m.live(); len(others) > 1 {
		deadline := time.Now().Add(m.d(2 * time.Second))
		for time.Now().Before(deadline) {
			m.say(t, others[0], "hi", peer.Whole{})
			if c.WaitFor(min(m.d(50*time.Millisecond), time.Until(deadline)), func(b []byte) bool { return len(b) > 0 }) == nil {
				ch.welcomed = time.Now()
				return
			}
		}
		t.Fatalf("a welcomed client never received a relay")
	}
}

func (m *chatMachine) send(t *rapid.T) {
	live := m.live()
	if len(live) == 0 {
		m.connect(t)
		return
	}
	c := rapid.SampledFrom(live).Draw(t, "sender")
	size := rapid.IntRange(1, 30).Draw(t, "size")
	shaping := rapid.SampledFrom([]string{"whole", "byte-per-segment", "split"}).Draw(t, "shaping")
	var shaper peer.Shaper = peer.Whole{}
	switch shaping {
	case "byte-per-segment":
		shaper = peer.BytePerSegment{Pause: 200 * time.Microsecond}
	case "split":
		shaper = peer.SplitAt{Offsets: []int{(size + 3) / 2}}
	}
	m.say(t, c, strings.Repeat("z", size), shaper)
}

// say has c send one recorded message made of its name, a sequence number and body.
func (m *chatMachine) say(t *rapid.T, c *chatter, body string, shaper peer.Shaper) {
	m.seq++
	msg := []byte(fmt.Sprintf("%s%d-%s", c.name, m.seq, body))
	wireForm := msg
	if !m.cp.raw {
		wireForm = append(append([]byte(nil), msg...), '\n')
	}
	c.mu.Lock()
	c.sent = append(c.sent, oracle.Message{Data: msg, At: time.Now()})
	c.mu.Unlock()
	t.Logf("%s sends %q (%s)", c.name, msg, shaper.Name())
	if err := c.conn.Send(shaper, wireForm); err != nil {
		t.Logf("%s send: %v", c.name, err)
		t.Fatalf("the server closed a connection that was sending")
	}
}

func (m *chatMachine) leave(t *rapid.T, how string) {
	live := m.live()
	if len(live) == 0 {
		m.connect(t)
		return
	}
	c := rapid.SampledFrom(live).Draw(t, "leaver")
	t.Logf("%s leaves (%s)", c.name, how)
	c.left, c.how = time.Now(), how
	if how == "reset" {
		c.conn.Reset()
	} else {
		c.conn.Close()
	}
}

func (m *chatMachine) check(t *rapid.T) {
	// Wait until every live client has what it should get, then a quiet moment.
	deadline := time.Now().Add(m.d(2 * time.Second))
	r := &room{cp: m.cp, clients: m.clients}
	for _, rc := range m.live() {
		wantBytes, wantLines := r.expectedPayload(rc)
		want := wantBytes
		if !m.cp.raw {
			want = wantLines
		}
		rc.conn.WaitFor(time.Until(deadline), func(b []byte) bool { return r.payloadOf(b) >= want })
	}
	for _, c := range m.live() {
		c.conn.Quiet(m.d(30 * time.Millisecond))
	}
	opts := oracleOptions(m.cp, "")
	opts.SkipTotalOrder = true // a SHOULD: CHAT-ORDER-2 has its own spec
	v := oracle.Check(historyOf(m.clients), opts)
	if v.Err != nil {
		t.Logf("%v", v.Err)
		t.Fatalf("the oracle could not judge the history")
	}
	if first := v.First(); first != nil {
		t.Logf("%s: %s", first.Kind.Requirement(), first.Error())
		t.Logf("transcript:\n%s", mergedTranscript(m.clients))
		t.Fatalf("%s violated (%s)", first.Kind.Requirement(), first.Kind)
	}
}

func (m *chatMachine) closeAll() {
	for _, c := range m.clients {
		c.conn.Close()
	}
}

// rapidOnce prepares rapid inside the sockspec binary: its flags live on flag.CommandLine and
// testing.Short must not panic.
var rapidOnce sync.Once

func setupRapid(seed int64, checks int) {
	rapidOnce.Do(func() {
		testing.Init()
		if !flag.CommandLine.Parsed() {
			flag.CommandLine.Parse(nil)
		}
	})
	flag.Set("rapid.nofailfile", "true")
	flag.Set("rapid.seed", fmt.Sprint(seed))
	flag.Set("rapid.checks", fmt.Sprint(checks))
	flag.Set("rapid.shrinktime", "60s")
	flag.Set("rapid.steps", "20")
}

// runChatMachine is the CHAT-RELAY-3 spec that runs ChatMachine from inside Ginkgo.
func runChatMachine(t *engine.T) {
	setupRapid(t.Env.Seed, 12)
	rec := &recordingTB{}
	start := func(ctx context.Context) (string, func(), error) {
		tgt, err := t.Env.Starter.Start(ctx)
		if err != nil {
			return "", nil, err
		}
		return tgt.Addr(), func() { tgt.Stop() }, nil
	}
	rapid.Check(rec, ChatMachine(t.Env.Profile, t.Env.TimeScale, start))
	if rec.failed {
		t.Fail(engine.Failure{
			Expected:   "random sessions (connect, send, close, reset) to keep every relay exactly once, in order, never echoed",
			Got:        "a failing session, shrunk to its shortest form (replay with --seed " + fmt.Sprint(t.Env.Seed) + "):",
			Transcript: rec.log.String(),
		})
	}
}

// recordingTB is rapid's view of a Ginkgo spec: it collects the log and the failure and lets
// the spec report the whole shrunk sequence at the end (GinkgoT would stop at the first error).
type recordingTB struct {
	mu     sync.Mutex
	log    bytes.Buffer
	failed bool
}

func (r *recordingTB) Helper()      {}
func (r *recordingTB) Name() string { return ginkgo.CurrentSpecReport().LeafNodeText }
func (r *recordingTB) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.log.Len() < 256<<10 {
		fmt.Fprintf(&r.log, format+"\n", args...)
	}
}
func (r *recordingTB) Log(args ...any)                  { r.Logf("%s", fmt.Sprint(args...)) }
func (r *recordingTB) Skipf(format string, args ...any) { r.Logf(format, args...) }
func (r *recordingTB) Skip(args ...any)                 { r.Log(args...) }
func (r *recordingTB) SkipNow()                         {}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.Logf(format, args...)
	r.Fail()
}
func (r *recordingTB) Error(args ...any) { r.Log(args...); r.Fail() }
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
}
func (r *recordingTB) Fatal(args ...any) { r.Error(args...) }
func (r *recordingTB) FailNow()          { r.Fail() }
func (r *recordingTB) Fail() {
	r.mu.Lock()
	r.failed = true
	r.mu.Unlock()
}
func (r *recordingTB) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}
