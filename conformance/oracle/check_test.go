package oracle

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

var epoch = time.Unix(1_700_000_000, 0)

func ms(n int) time.Time { return epoch.Add(time.Duration(n) * time.Millisecond) }

// room builds hand-written histories: client i is 127.0.0.(i+2), welcomed at
// i ms and a complete receiver unless changed.
type room struct{ h History }

func newRoom(names ...string) *room {
	r := &room{}
	for i, n := range names {
		r.h.Clients = append(r.h.Clients, Client{
			Name: n, ID: Identity{IP: "127.0.0." + string(rune('2'+i)), Port: 5000 + i, Nick: n},
			Welcomed: ms(i), Complete: true,
		})
	}
	return r
}

func (r *room) send(i, at int, data string) *room {
	r.h.Clients[i].Sent = append(r.h.Clients[i].Sent, Message{Data: []byte(data), At: ms(at)})
	return r
}

func (r *room) recv(i int, data string) *room {
	r.h.Clients[i].Received = append(r.h.Clients[i].Received, data...)
	return r
}

var ipFormat = MustParseFormat("<{ip}> {msg}")

func rawOpts() Options   { return Options{Framing: Raw, Format: ipFormat} }
func linesOpts() Options { return Options{Framing: Lines, Format: ipFormat} }

// expect checks that the verdict's first violation has the kind, and that its
// explanation mentions every fragment.
func expect(t *testing.T, v Verdict, k Kind, fragments ...string) *Violation {
	t.Helper()
	if v.Err != nil {
		t.Fatalf("Check could not judge: %v", v.Err)
	}
	f := v.First()
	if f == nil {
		t.Fatalf("Check accepted the history, want a %s violation", k)
	}
	if f.Kind != k {
		t.Fatalf("first violation is %s, want %s; verdict:\n%s", f.Kind, k, v)
	}
	for _, frag := range fragments {
		if !strings.Contains(f.Error(), frag) {
			t.Errorf("explanation %q does not mention %q", f.Error(), frag)
		}
	}
	return f
}

func expectOK(t *testing.T, v Verdict) {
	t.Helper()
	if !v.OK() {
		t.Fatalf("Check rejected a valid history:\n%s", v)
	}
}

const a = "<127.0.0.2> " // alice's prefix
const b = "<127.0.0.3> " // bob's prefix

func twoMessages() *room {
	return newRoom("alice", "bob").send(0, 10, "hello").send(0, 20, "world")
}

func TestRawAcceptsAnyChunking(t *testing.T) {
	expectOK(t, Check(twoMessages().recv(1, a+"hel"+a+"lowo"+a+"rld").h, rawOpts()))
	expectOK(t, Check(twoMessages().recv(1, a+"helloworld").h, rawOpts()))
}

func TestRawLoss(t *testing.T) {
	f := expect(t, Check(twoMessages().recv(1, a+"hello").h, rawOpts()), Loss,
		"CHAT-RELAY-1", "bob did not receive", "alice", `"world"`, "message 2 of 2")
	if f.Sender != "alice" || f.Receiver != "bob" || f.Message != 1 || f.Offset != 5 {
		t.Errorf("violation names %s->%s message %d offset %d, want alice->bob message 1 offset 5", f.Sender, f.Receiver, f.Message, f.Offset)
	}
	// Bytes lost in the middle of a relay (a short send()).
	expect(t, Check(twoMessages().recv(1, a+"hel"+a+"world").h, rawOpts()), Loss, `"lo"`)
}

func TestRawDuplicate(t *testing.T) {
	expect(t, Check(twoMessages().recv(1, a+"hello"+a+"hello"+a+"world").h, rawOpts()), Duplicate,
		"CHAT-RELAY-3", "more than once", `"hello"`)
}

func TestRawSelfEcho(t *testing.T) {
	expect(t, Check(twoMessages().recv(1, a+"helloworld").recv(0, a+"hello").h, rawOpts()), SelfEcho,
		"CHAT-RELAY-2", "alice received its own bytes", `"hello"`)
}

func TestRawFIFO(t *testing.T) {
	expect(t, Check(twoMessages().recv(1, a+"world"+a+"hello").h, rawOpts()), FIFO,
		"CHAT-ORDER-1", `"hello"`, "order sent")
}

func TestRawIntegrity(t *testing.T) {
	expect(t, Check(twoMessages().recv(1, a+"hexlo"+a+"world").h, rawOpts()), Integrity,
		"CHAT-FRAME-1", `"xlo"`, "never sent by alice")
	// Two relays written over each other: bob's bytes inside alice's relay.
	r := newRoom("alice", "bob", "carol").send(0, 10, "hello there").send(1, 11, "good morning")
	r.recv(2, a+"hello "+b+"good mothere"+"rning")
	expect(t, Check(r.recv(0, b+"good morning").recv(1, a+"hello there").h, rawOpts()), Integrity, "carol", "bob")
}

func TestRawMisformatted(t *testing.T) {
	expect(t, Check(twoMessages().recv(1, "127.0.0.2: helloworld").h, rawOpts()), Misformatted,
		"CHAT-RELAY-1", "alice", `"<127.0.0.2> ..."`)
}

func TestTotalOrder(t *testing.T) {
	r := newRoom("alice", "bob", "carol", "dave").send(0, 10, "from alice").send(1, 10, "from bob")
	r.recv(0, b+"from bob").recv(1, a+"from alice")
	r.recv(2, a+"from alice"+b+"from bob")
	r.recv(3, b+"from bob"+a+"from alice")
	v := Check(r.h, rawOpts())
	expect(t, v, TotalOrder, "CHAT-ORDER-2", "carol received alice's bytes 0-9", "dave received them in the opposite order")
	expectOK(t, v.Without(TotalOrder))
	opts := rawOpts()
	opts.SkipTotalOrder = true
	expectOK(t, Check(r.h, opts))
}

func TestTotalOrderAcrossDifferentChunking(t *testing.T) {
	r := newRoom("alice", "bob", "carol", "dave").send(0, 10, "from alice").send(1, 10, "from bob")
	r.recv(0, b+"from bob").recv(1, a+"from alice")
	r.recv(2, a+"from "+b+"from bob"+a+"alice")
	r.recv(3, a+"fr"+a+"om alice"+b+"from bob")
	expect(t, Check(r.h, rawOpts()), TotalOrder, "carol", "dave")
}

func TestJoiningReceiverMayOrMayNotGetEarlierMessages(t *testing.T) {
	base := func() *room {
		r := newRoom("alice", "bob").send(0, 10, "early").send(0, 30, "late")
		r.h.Clients[1].Welcomed = ms(20)
		return r
	}
	expectOK(t, Check(base().recv(1, a+"earlylate").h, rawOpts()))
	expectOK(t, Check(base().recv(1, a+"late").h, rawOpts()))
	// Raw: a chunk read after the join may start inside the earlier message.
	expectOK(t, Check(base().recv(1, a+"rlylate").h, rawOpts()))
	expect(t, Check(base().h, rawOpts()), Loss, `"late"`)
	// What does arrive must still be exactly once, in order.
	expect(t, Check(base().recv(1, a+"late"+a+"early").h, rawOpts()), FIFO, `"early"`)
	expect(t, Check(base().recv(1, a+"early"+a+"earlylate").h, rawOpts()), Duplicate)
	// No gap once started: early, then nothing of late.
	expect(t, Check(base().recv(1, a+"early").h, rawOpts()), Loss)
}

func TestJoinGrace(t *testing.T) {
	r := newRoom("alice", "bob").send(0, 25, "racy")
	r.h.Clients[1].Welcomed = ms(20)
	expect(t, Check(r.h, rawOpts()), Loss)
	opts := rawOpts()
	opts.JoinGrace = 10 * time.Millisecond
	expectOK(t, Check(r.h, opts))
}

func TestLeftReceiverMayBeTruncated(t *testing.T) {
	base := func() *room {
		r := twoMessages()
		r.h.Clients[1].Complete, r.h.Clients[1].Left, r.h.Clients[1].How = false, ms(30), Closed
		return r
	}
	expectOK(t, Check(base().h, rawOpts()))
	expectOK(t, Check(base().recv(1, a+"hello"+a+"wo").h, rawOpts()))
	expectOK(t, Check(base().recv(1, a+"hello<127.0").h, rawOpts())) // cut inside a prefix
	expect(t, Check(base().recv(1, a+"world").h, rawOpts()), Loss)
	expect(t, Check(base().recv(1, a+"hello"+a+"hello").h, rawOpts()), Duplicate)
}

func TestResetSenderMayLoseItsTail(t *testing.T) {
	r := twoMessages().recv(1, a+"hello")
	r.h.Clients[0].How, r.h.Clients[0].Left = Reset, ms(30)
	expectOK(t, Check(r.h, rawOpts()))
	r.h.Clients[0].How = Closed
	expect(t, Check(r.h, rawOpts()), Loss)
}

func TestRawUnattributable(t *testing.T) {
	r := newRoom("alice", "bob").send(0, 10, "a").send(1, 10, "b").recv(0, "b").recv(1, "a")
	v := Check(r.h, Options{Framing: Raw})
	if !errors.Is(v.Err, ErrUnattributable) || v.OK() || v.First() != nil {
		t.Fatalf("raw {msg} with two senders: got %v, want ErrUnattributable", v)
	}
	// One sender is fine: everything is its.
	one := newRoom("alice", "bob").send(0, 10, "hello").recv(1, "hel").recv(1, "lo")
	expectOK(t, Check(one.h, Options{Framing: Raw}))
	expect(t, Check(one.recv(0, "hello").h, Options{Framing: Raw}), SelfEcho)
}

func TestRawPayloadHoldingPrefixIsInvalid(t *testing.T) {
	r := newRoom("alice", "bob").send(0, 10, "say <127.0.0.3> hi")
	v := Check(r.h, rawOpts())
	if !errors.Is(v.Err, ErrInvalidHistory) || !strings.Contains(v.Err.Error(), "bob") {
		t.Fatalf("got %v, want ErrInvalidHistory naming bob's prefix", v)
	}
}

func TestLinesKinds(t *testing.T) {
	base := func() *room {
		return newRoom("alice", "bob").send(0, 10, "hello\n").send(0, 20, "world\n")
	}
	expectOK(t, Check(base().recv(1, a+"hello\n"+a+"world\n").h, linesOpts()))
	expect(t, Check(base().recv(1, a+"world\n").h, linesOpts()), Loss, `message 1 of 2 "hello"`)
	expect(t, Check(base().recv(1, a+"hello\n"+a+"hello\n"+a+"world\n").h, linesOpts()), Duplicate, `"hello"`)
	expect(t, Check(base().recv(1, a+"world\n"+a+"hello\n").h, linesOpts()), FIFO, `message 1 of 2 "hello"`)
	expect(t, Check(base().recv(1, a+"hello\n"+a+"world\n").recv(0, a+"hello\n").h, linesOpts()), SelfEcho, "alice received its own message 1")
	expect(t, Check(base().recv(1, a+"hello\n"+a+"wxrld\n").h, linesOpts()), Integrity, "labelled as alice's", "wxrld", `next expected was message 2 "world"`)
	expect(t, Check(base().recv(1, a+"hello\n"+"127.0.0.2: world\n").h, linesOpts()), Misformatted,
		`carries alice's message 2`, `expected "<127.0.0.2> world"`)
	expect(t, Check(base().recv(1, a+"hello\n"+a+"world\n"+"garbage\n").h, linesOpts()), Integrity, `"garbage"`)
	expect(t, Check(base().recv(1, a+"hello\n"+a+"wor").h, linesOpts()), Integrity, "without its newline")
	// A line split in two by the server.
	expect(t, Check(base().recv(1, a+"hello\n"+a+"wor\n"+a+"ld\n").h, linesOpts()), Integrity)
}

func TestLinesMislabelled(t *testing.T) {
	r := newRoom("alice", "bob", "carol").send(0, 10, "from alice\n").send(1, 11, "from bob\n")
	r.recv(0, b+"from bob\n").recv(1, a+"from alice\n").recv(2, a+"from alice\n"+a+"from bob\n")
	expect(t, Check(r.h, linesOpts()), Misformatted, "carries bob's message 1 but is labelled as alice's")
}

func TestLinesContentAttribution(t *testing.T) {
	opts := Options{Framing: Lines}
	r := newRoom("alice", "bob", "carol").send(0, 10, "hi from alice\n").send(1, 11, "hi from bob\n")
	r.recv(0, "hi from bob\n").recv(1, "hi from alice\n")
	expectOK(t, Check(r.recv(2, "hi from alice\nhi from bob\n").h, opts))
	r.recv(0, "hi from alice\n")
	expect(t, Check(r.h, opts), SelfEcho)

	same := newRoom("alice", "bob").send(0, 10, "hi\n").send(1, 11, "hi\n")
	if v := Check(same.h, opts); !errors.Is(v.Err, ErrUnattributable) {
		t.Fatalf("two senders of the same line with {msg}: got %v, want ErrUnattributable", v)
	}
}

func TestLinesIgnoreNotices(t *testing.T) {
	opts := linesOpts()
	r := twoLines().recv(1, "* carol joined\n"+a+"hello\n"+a+"world\n")
	expect(t, Check(r.h, opts), Integrity, `"* carol joined"`)
	opts.Ignore = regexp.MustCompile(`^\* \w+ joined$`)
	expectOK(t, Check(r.h, opts))
}

func twoLines() *room { return newRoom("alice", "bob").send(0, 10, "hello\n").send(0, 20, "world\n") }

func TestLinesInvalidMessage(t *testing.T) {
	r := newRoom("alice", "bob").send(0, 10, "two\nlines\n")
	if v := Check(r.h, linesOpts()); !errors.Is(v.Err, ErrInvalidHistory) {
		t.Fatalf("got %v, want ErrInvalidHistory", v)
	}
}

func TestLinesRepeatedContentFromOneSender(t *testing.T) {
	r := newRoom("alice", "bob").send(0, 10, "hi\n").send(0, 20, "hi\n").send(0, 30, "ho\n")
	expectOK(t, Check(r.recv(1, a+"hi\n"+a+"hi\n"+a+"ho\n").h, linesOpts()))
	r2 := newRoom("alice", "bob").send(0, 10, "hi\n").send(0, 20, "hi\n").send(0, 30, "ho\n")
	expect(t, Check(r2.recv(1, a+"hi\n"+a+"ho\n").h, linesOpts()), Loss)
}

func TestKindRequirements(t *testing.T) {
	want := map[Kind]string{
		Loss: "CHAT-RELAY-1", Duplicate: "CHAT-RELAY-3", SelfEcho: "CHAT-RELAY-2", FIFO: "CHAT-ORDER-1",
		TotalOrder: "CHAT-ORDER-2", Integrity: "CHAT-FRAME-1", Misformatted: "CHAT-RELAY-1",
	}
	for k, id := range want {
		if k.Requirement() != id {
			t.Errorf("%s.Requirement() = %q, want %q", k, k.Requirement(), id)
		}
		if k.String() == "" || strings.HasPrefix(k.String(), "kind(") {
			t.Errorf("kind %d has no name", int(k))
		}
	}
	if got := Loss.Requirements(); len(got) != 2 || got[1] != "CHAT-RELAY-3" {
		t.Errorf("Loss.Requirements() = %v", got)
	}
}

func TestExplanationsQuoteSafely(t *testing.T) {
	long := strings.Repeat("\x00é", 100)
	r := newRoom("alice", "bob").send(0, 10, long)
	f := expect(t, Check(r.h, rawOpts()), Loss)
	if len(f.Explanation) > 400 || !strings.Contains(f.Explanation, `\x00`) || !strings.Contains(f.Explanation, "(300 bytes)") {
		t.Errorf("explanation not bounded and quoted: %q", f.Explanation)
	}
}

func TestViolationOrderIsDeterministic(t *testing.T) {
	r := newRoom("alice", "bob", "carol").send(0, 10, "one").send(1, 11, "two")
	r.recv(0, b+"two"+b+"two").recv(2, "junk junk")
	v1, v2 := Check(r.h, rawOpts()), Check(r.h, rawOpts())
	if v1.String() != v2.String() {
		t.Fatalf("two runs differ:\n%s\n---\n%s", v1, v2)
	}
	kinds := []Kind{}
	for _, x := range v1.Violations {
		kinds = append(kinds, x.Kind)
	}
	for i := 1; i < len(kinds); i++ {
		if kinds[i] < kinds[i-1] {
			t.Fatalf("violations not ordered by kind: %v", kinds)
		}
	}
	if !v1.Has(Loss) || !v1.Has(Duplicate) || !v1.Has(Integrity) {
		t.Fatalf("want loss, duplicate and integrity, got:\n%s", v1)
	}
}

func TestEmptyAndDegenerateHistories(t *testing.T) {
	expectOK(t, Check(History{}, Options{}))
	expectOK(t, Check(newRoom("alone").h, rawOpts()))
	// Clients with no identity still get names.
	r := &room{h: History{Clients: []Client{{Complete: true, Sent: []Message{{Data: []byte("x")}}}, {Complete: true}}}}
	v := Check(r.h, Options{Framing: Raw})
	expect(t, v, Loss, "client 2 did not receive", "client 1")
}

func TestRawLateRunIsOneReordering(t *testing.T) {
	// The first message and a piece of it arrive after the second: that is
	// a reordering, not a loss plus a repeat, even though "c" and "\n" also
	// occur elsewhere in the stream.
	r := newRoom("x", "c1")
	r.send(1, 10, "hwqwmmvceg#c\n").send(1, 11, "jomemkz#g\n").send(1, 12, "iridcxey#k\n")
	r.recv(0, b+"jomemkz#g\n"+b+"c"+b+"\n"+b+"hwqwmmvceg#"+b+"iridcxey#k\n")
	v := Check(r.h, rawOpts())
	expect(t, v, FIFO, "3 late relays in all")
	if len(v.Violations) != 1 {
		t.Fatalf("want one FIFO violation, got:\n%s", v)
	}
}

func TestLinesTotalOrder(t *testing.T) {
	r := newRoom("alice", "bob", "carol", "dave").send(0, 10, "from alice\n").send(1, 10, "from bob\n")
	r.recv(0, b+"from bob\n").recv(1, a+"from alice\n")
	r.recv(2, a+"from alice\n"+b+"from bob\n")
	r.recv(3, b+"from bob\n"+a+"from alice\n")
	expect(t, Check(r.h, linesOpts()), TotalOrder, `alice's message 1 "from alice"`, `bob's message 1 "from bob"`)
}

func TestAmbiguousStartsStayOutOfTotalOrder(t *testing.T) {
	// Dave left early having received one byte from each: where each lies
	// in its sender's stream cannot be told, so no order is inferred.
	r := newRoom("alice", "bob", "carol", "dave").send(0, 10, "aXa").send(1, 10, "bYb")
	r.h.Clients[3].Welcomed, r.h.Clients[3].Complete = ms(20), false
	r.recv(0, b+"bYb").recv(1, a+"aXa").recv(2, a+"aXa"+b+"bYb")
	r.recv(3, b+"b"+a+"a")
	expectOK(t, Check(r.h, rawOpts()))
}

func TestVerdictHelpers(t *testing.T) {
	v := Check(twoMessages().recv(1, a+"world"+a+"hello"+a+"hello").h, rawOpts())
	if v.OK() || !v.Has(FIFO) || !v.Has(Duplicate) || v.Has(Loss) {
		t.Fatalf("want FIFO and duplicate, got:\n%s", v)
	}
	if w := v.Without(FIFO, Duplicate); !w.OK() || w.String() != "ok" {
		t.Fatalf("Without left %s", w)
	}
	if !strings.Contains(v.String(), "CHAT-ORDER-1 fifo:") || !strings.Contains(v.String(), "\n") {
		t.Fatalf("String() = %q", v.String())
	}
	bad := Verdict{Err: ErrUnattributable}
	if bad.OK() || bad.First() != nil || !strings.HasPrefix(bad.String(), "cannot judge") {
		t.Fatalf("a verdict with an error: OK=%v First=%v String=%q", bad.OK(), bad.First(), bad.String())
	}
}

func TestSuffixFormats(t *testing.T) {
	f := MustParseFormat("({nick}) {msg}!")
	opts := Options{Framing: Raw, Format: f}
	r := newRoom("al", "bo").send(0, 10, "hello").send(0, 20, "world")
	expectOK(t, Check(r.recv(1, "(al) hel!(al) loworld!").h, opts))
	r2 := newRoom("al", "bo").send(0, 10, "hello").send(0, 20, "world")
	expect(t, Check(r2.recv(1, "(al) hel(al) loworld!").h, opts), Misformatted, `does not end with "!"`)
	// A receiver that left may be cut inside a suffix.
	r3 := newRoom("al", "bo").send(0, 10, "hello")
	r3.h.Clients[1].Complete = false
	expectOK(t, Check(r3.recv(1, "(al) hello").h, opts))
}
