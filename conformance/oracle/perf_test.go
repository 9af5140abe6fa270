package oracle_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sockspec/sockspec/conformance/oracle"
	"github.com/sockspec/sockspec/conformance/oracle/chatsim"
)

// bigRoom is the CHAT-CONC-1 load: 50 clients each sending 20 messages,
// interleaved, every one relayed to the 49 others. With raw framing the
// server reads in chunks that split and join messages.
func bigRoom(framing oracle.Framing) *chatsim.Sim { return room(framing, 50) }

func room(framing oracle.Framing, clients int) *chatsim.Sim {
	const messages = 20
	sim := chatsim.New(framing, oracle.MustParseFormat("<{ip}> {msg}"), clients)
	rng := rand.New(rand.NewPCG(1, 2))
	for c := range clients {
		sim.Join(c)
	}
	for m := range messages {
		for c := range clients {
			sim.Send(c, fmt.Appendf(nil, "message %d from client %d with some text\n", m, c))
			if framing == oracle.Raw {
				sim.Read(c, 1+rng.IntN(60))
			} else {
				sim.Read(c, 0)
			}
		}
	}
	sim.Finish()
	return sim
}

func BenchmarkCheck50x20x50(b *testing.B) {
	for _, f := range []oracle.Framing{oracle.Raw, oracle.Lines} {
		sim := bigRoom(f)
		h, opts := sim.History(), sim.Options()
		b.Run(f.String(), func(b *testing.B) {
			for b.Loop() {
				if v := oracle.Check(h, opts); !v.OK() {
					b.Fatal(v)
				}
			}
		})
	}
}

// The judging of a CHAT-CONC-1 history must stay far below what the spec
// can afford; the bound is generous (the benchmark shows the real figure)
// so that a loaded machine or -race cannot make it flake, yet catches a
// quadratic blow-up.
func TestCheckIsFastOnBigRooms(t *testing.T) {
	for _, f := range []oracle.Framing{oracle.Raw, oracle.Lines} {
		sim := bigRoom(f)
		h, opts := sim.History(), sim.Options()
		start := time.Now()
		v := oracle.Check(h, opts)
		took := time.Since(start)
		if !v.OK() {
			t.Fatalf("%s: valid big room rejected:\n%s", f, v)
		}
		t.Logf("%s framing: 50 clients x 20 messages x 49 receivers judged in %v", f, took)
		if took > 2*time.Second {
			t.Errorf("%s: judging took %v, want well under 100 ms (see BenchmarkCheck50x20x50)", f, took)
		}
	}
}

// brokenRoom is a faulty server under load: every receiver misses parts of
// relays and gets some out of order.
func brokenRoom(clients int) *chatsim.Sim {
	sim := room(oracle.Raw, clients)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range sim.Clients {
		recs := c.Records
		for i := range recs {
			switch rng.IntN(10) {
			case 0:
				recs[i].Payload = recs[i].Payload[:len(recs[i].Payload)/2]
			case 1:
				j := rng.IntN(len(recs))
				recs[i], recs[j] = recs[j], recs[i]
			}
		}
	}
	return sim
}

func BenchmarkCheckBroken50x20x50(b *testing.B) {
	sim := brokenRoom(50)
	h, opts := sim.History(), sim.Options()
	for b.Loop() {
		if oracle.Check(h, opts).OK() {
			b.Fatal("broken room accepted")
		}
	}
}

// Judging failures must stay fast too: the look-ahead has a work budget.
func TestCheckIsFastOnBrokenRooms(t *testing.T) {
	sim := brokenRoom(20)
	start := time.Now()
	v := oracle.Check(sim.History(), sim.Options())
	took := time.Since(start)
	t.Logf("broken room of 20: %d violations in %v", len(v.Violations), took)
	if v.OK() || !v.Has(oracle.Loss) || !v.Has(oracle.FIFO) {
		t.Fatalf("broken room judged:\n%s", v)
	}
	if took > 5*time.Second {
		t.Errorf("judging a broken room took %v", took)
	}
}
