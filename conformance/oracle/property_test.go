package oracle_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/sockspec/sockspec/conformance/oracle"
	"github.com/sockspec/sockspec/conformance/oracle/chatsim"
)

// The first `core` clients always join and stay to the end, and each sends
// two whole messages at the end, so every mutation has somewhere to apply.
const core = 4

var rawFormats = []string{"<{ip}> {msg}", "[{nick}] {msg}", "<{ip}:{port}> {msg}", "({nick}) {msg}!"}
var lineFormats = append(slices.Clone(rawFormats), "{msg}")

// message draws a unique payload: letters, then "#" and a unique id, so that
// no message is a substring of another. Payloads never hold a prefix. With a
// random source the letters are high-entropy (rapid's own strings favour
// "aaaaaa", which makes relays look alike).
func message(t *rapid.T, id int, framing oracle.Framing, rng *rand.Rand) []byte {
	var letters string
	if rng != nil {
		b := make([]byte, 6+rng.IntN(11))
		for i := range b {
			b[i] = byte('a' + rng.IntN(26))
		}
		letters = string(b)
	} else {
		letters = rapid.StringMatching(`[a-z]{6,16}`).Draw(t, "letters")
	}
	msg := fmt.Appendf(nil, "%s#%s", letters, base26(id))
	if framing == oracle.Raw && rapid.IntRange(0, 3).Draw(t, "newline") == 0 {
		msg = append(msg, '\n')
	}
	return msg
}

func base26(n int) string {
	s := ""
	for {
		s = string(rune('a'+n%26)) + s
		n /= 26
		if n == 0 {
			return s
		}
	}
}

// genSim plays a random session against the model of a correct server:
// joins at various times, sends, reads in arbitrary chunks (Raw), leaves by
// close, half-close or reset with some bytes never read, and clients that
// stop reading.
func genSim(t *rapid.T, highEntropy bool) *chatsim.Sim {
	var rng *rand.Rand
	if highEntropy {
		rng = rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 1))
	}
	framing := rapid.SampledFrom([]oracle.Framing{oracle.Raw, oracle.Lines}).Draw(t, "framing")
	formats := rawFormats
	if framing == oracle.Lines {
		formats = lineFormats
	}
	format := oracle.MustParseFormat(rapid.SampledFrom(formats).Draw(t, "format"))
	n := rapid.IntRange(core, core+3).Draw(t, "clients")
	sim := chatsim.New(framing, format, n)
	id := 0
	steps := rapid.IntRange(0, 40).Draw(t, "steps")
	for range steps {
		c := rapid.IntRange(0, n-1).Draw(t, "client")
		switch op := rapid.IntRange(0, 9).Draw(t, "op"); {
		case op < 2:
			sim.Join(c)
		case op < 5:
			if sim.Send(c, message(t, id, framing, rng)) {
				id++
			}
		case op < 9:
			sim.Read(c, rapid.IntRange(1, 12).Draw(t, "chunk"))
		case c >= core:
			how := rapid.SampledFrom([]oracle.Leave{oracle.Closed, oracle.Reset, oracle.HalfClosed, oracle.Stayed}).Draw(t, "how")
			drop := rapid.IntRange(0, 30).Draw(t, "drop")
			if how == oracle.Stayed {
				sim.Stop(c, drop)
			} else {
				sim.Leave(c, how, drop)
			}
		}
	}
	for c := range core {
		sim.Join(c)
	}
	for range 2 {
		for c := range core {
			sim.Drain(c)
			sim.Send(c, message(t, id, framing, rng))
			id++
			sim.Drain(c)
		}
	}
	sim.Finish()
	return sim
}

func TestPropertyValidHistoriesAccepted(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		sim := genSim(t, rapid.Bool().Draw(t, "highEntropy"))
		v := oracle.Check(sim.History(), sim.Options())
		if !v.OK() {
			t.Logf("%s\n%v", describe(sim), v)
			t.Fatalf("a valid history was rejected")
		}
	})
}

// A mutation changes the relays of one complete receiver.
type mutation struct {
	kind  oracle.Kind
	apply func(t *rapid.T, sim *chatsim.Sim) bool // false if it found nothing to change
}

var mutations = []mutation{
	{oracle.Loss, dropRelay},
	{oracle.Duplicate, duplicateRelay},
	{oracle.FIFO, swapOneSender},
	{oracle.SelfEcho, echoToSender},
	{oracle.TotalOrder, swapTwoSenders},
	{oracle.Integrity, flipByte},
}

// Any single mutation makes the history invalid, whatever the payloads look
// like, and the oracle must say so.
func TestPropertyMutationsRejected(t *testing.T) {
	for _, m := range mutations {
		t.Run(m.kind.String(), func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				sim := genSim(t, false)
				if !m.apply(t, sim) {
					t.Skip("nothing to mutate")
				}
				v := oracle.Check(sim.History(), sim.Options())
				if v.Err != nil || v.OK() {
					t.Logf("%s\n%v", describe(sim), v)
					t.Fatalf("mutated history not rejected")
				}
			})
		})
	}
}

// With payloads that do not resemble each other, the first violation is
// exactly the kind of the mutation.
func TestPropertyMutationsClassified(t *testing.T) {
	for _, m := range mutations {
		t.Run(m.kind.String(), func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				sim := genSim(t, true)
				if !m.apply(t, sim) {
					t.Skip("nothing to mutate")
				}
				v := oracle.Check(sim.History(), sim.Options())
				if v.Err != nil || v.OK() || v.First().Kind != m.kind {
					t.Logf("%s\n%v", describe(sim), v)
					t.Fatalf("mutated history not rejected with the expected kind")
				}
			})
		})
	}
}

// receiver draws one of the core (complete) clients.
func receiver(t *rapid.T) int { return rapid.IntRange(0, core-1).Draw(t, "receiver") }

// stillValid tells whether receiver b's relays from sender a, as mutated,
// would still be a correct delivery: exactly the sender's stream from some
// start not after the first byte it must get, to the end. Mutations that
// happen to produce one (repetitive payloads) are not mutations.
func stillValid(sim *chatsim.Sim, b, a int, recs []chatsim.Record) bool {
	var got []byte
	for _, r := range recs {
		if r.Sender == a {
			got = append(got, sim.Clients[a].Stream[r.Lo:r.Hi]...)
		}
	}
	s := sim.Clients[a].Stream
	start := len(s) - len(got)
	if start < 0 || !bytes.Equal(got, s[start:]) {
		return false
	}
	must := len(s)
	for i, m := range sim.Clients[a].Sent {
		if m.At.After(sim.Clients[b].Welcomed) {
			must = 0
			for _, p := range sim.Clients[a].Sent[:i] {
				must += len(p.Data)
			}
			break
		}
	}
	atBoundary := start == 0 || s[start-1] == '\n'
	return start <= must && (sim.Framing == oracle.Raw || atBoundary)
}

func dropRelay(t *rapid.T, sim *chatsim.Sim) bool {
	b := receiver(t)
	recs := sim.Clients[b].Records
	var cands []int
	for i, r := range recs {
		if sim.Clients[r.Sender].How != oracle.Reset {
			cands = append(cands, i)
		}
	}
	for len(cands) > 0 {
		k := rapid.IntRange(0, len(cands)-1).Draw(t, "drop")
		i := cands[k]
		r := recs[i]
		mutated := slices.Delete(slices.Clone(recs), i, i+1)
		// Raw: sometimes drop only part of the relay.
		if sim.Framing == oracle.Raw && r.Hi-r.Lo > 1 && rapid.Bool().Draw(t, "partial") {
			cut := rapid.IntRange(1, r.Hi-r.Lo-1).Draw(t, "cut")
			keep := r
			if rapid.Bool().Draw(t, "keepHead") {
				keep.Hi, keep.Payload = r.Lo+cut, r.Payload[:cut]
			} else {
				keep.Lo, keep.Payload = r.Lo+cut, r.Payload[cut:]
			}
			mutated = slices.Insert(mutated, i, keep)
		}
		if !stillValid(sim, b, r.Sender, mutated) {
			sim.Clients[b].Records = mutated
			return true
		}
		cands = slices.Delete(cands, k, k+1)
	}
	return false
}

// long reports whether a relay is long enough to be recognised wherever it
// lands (shorter ones may also occur elsewhere by chance).
func long(r chatsim.Record) bool { return len(r.Payload) >= 8 }

func duplicateRelay(t *rapid.T, sim *chatsim.Sim) bool {
	b := receiver(t)
	recs := sim.Clients[b].Records
	var cands []int
	for i, r := range recs {
		if long(r) {
			cands = append(cands, i)
		}
	}
	for len(cands) > 0 {
		k := rapid.IntRange(0, len(cands)-1).Draw(t, "dup")
		i := cands[k]
		mutated := slices.Insert(slices.Clone(recs), i+1, recs[i])
		if !stillValid(sim, b, recs[i].Sender, mutated) {
			sim.Clients[b].Records = mutated
			return true
		}
		cands = slices.Delete(cands, k, k+1)
	}
	return false
}

func swapOneSender(t *rapid.T, sim *chatsim.Sim) bool {
	b := receiver(t)
	recs := sim.Clients[b].Records
	type pair struct{ i, j int }
	var cands []pair
	for i := range recs {
		for j := i + 1; j < len(recs); j++ {
			if recs[i].Sender == recs[j].Sender && long(recs[i]) && long(recs[j]) && !bytes.Equal(recs[i].Payload, recs[j].Payload) {
				cands = append(cands, pair{i, j})
			}
		}
	}
	for len(cands) > 0 {
		k := rapid.IntRange(0, len(cands)-1).Draw(t, "swap")
		p := cands[k]
		mutated := slices.Clone(recs)
		mutated[p.i], mutated[p.j] = mutated[p.j], mutated[p.i]
		if !stillValid(sim, b, recs[p.i].Sender, mutated) {
			sim.Clients[b].Records = mutated
			return true
		}
		cands = slices.Delete(cands, k, k+1)
	}
	return false
}

func echoToSender(t *rapid.T, sim *chatsim.Sim) bool {
	b := receiver(t)
	s := sim.Clients[b].Stream
	lo := rapid.IntRange(0, len(s)-1).Draw(t, "lo")
	hi := rapid.IntRange(lo+1, len(s)).Draw(t, "hi")
	echo := chatsim.Record{Sender: b, Lo: lo, Hi: hi, Payload: s[lo:hi]}
	if sim.Framing == oracle.Lines {
		m := rapid.IntRange(0, len(sim.Clients[b].Sent)-1).Draw(t, "message")
		data := sim.Clients[b].Sent[m].Data
		echo.Payload = data[:len(data)-1]
	}
	recs := sim.Clients[b].Records
	at := rapid.IntRange(0, len(recs)).Draw(t, "at")
	sim.Clients[b].Records = slices.Insert(slices.Clone(recs), at, echo)
	return true
}

func swapTwoSenders(t *rapid.T, sim *chatsim.Sim) bool {
	b := receiver(t)
	recs := sim.Clients[b].Records
	var cands []int
	for i := 0; i+1 < len(recs); i++ {
		x, y := recs[i], recs[i+1]
		if x.Sender == y.Sender {
			continue
		}
		for d := range sim.Clients {
			if d != b && sim.Complete(d) && holds(sim.Clients[d].Records, x) && holds(sim.Clients[d].Records, y) {
				cands = append(cands, i)
				break
			}
		}
	}
	if len(cands) == 0 {
		return false
	}
	i := rapid.SampledFrom(cands).Draw(t, "swap")
	recs[i], recs[i+1] = recs[i+1], recs[i]
	return true
}

func holds(recs []chatsim.Record, r chatsim.Record) bool {
	for _, x := range recs {
		if x.Sender == r.Sender && x.Lo == r.Lo && x.Hi == r.Hi {
			return true
		}
	}
	return false
}

func flipByte(t *rapid.T, sim *chatsim.Sim) bool {
	b := receiver(t)
	recs := sim.Clients[b].Records
	var cands []int
	for i, r := range recs {
		if len(r.Payload) > 0 {
			cands = append(cands, i)
		}
	}
	if len(cands) == 0 {
		return false
	}
	i := rapid.SampledFrom(cands).Draw(t, "record")
	p := bytes.Clone(recs[i].Payload)
	k := rapid.IntRange(0, len(p)-1).Draw(t, "byte")
	p[k] ^= 0x80 // outside the payload alphabet, so never a byte anyone sent
	recs[i].Payload = p
	return true
}

// describe prints a simulated session for a failure report.
func describe(sim *chatsim.Sim) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "format %s, framing %s\n", sim.Format, sim.Framing)
	for i, c := range sim.Clients {
		fmt.Fprintf(&b, "c%d joined=%v gone=%v how=%d stopped=%v drop=%d complete=%v welcomed=%s stream=%q\n",
			i, c.Joined, c.Gone, c.How, c.Stopped, c.Drop, sim.Complete(i), c.Welcomed.Format("05.000"), c.Stream)
		for _, m := range c.Sent {
			fmt.Fprintf(&b, "   sent %s %q\n", m.At.Format("05.000"), m.Data)
		}
		for _, r := range c.Records {
			fmt.Fprintf(&b, "   got c%d [%d,%d) %q\n", r.Sender, r.Lo, r.Hi, r.Payload)
		}
	}
	return b.String()
}
