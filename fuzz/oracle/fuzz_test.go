package oracle

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	judge "github.com/sockspec/sockspec/conformance/oracle"
	"github.com/sockspec/sockspec/conformance/oracle/chatsim"
)

// FuzzOracle reads each input twice. First as an arbitrary, possibly
// nonsensical history (clients sharing addresses, streams mixing prefixes,
// copies of other clients' bytes and junk): Check must not panic and must
// answer in bounded time. Then as a script for the model of a correct server
// (joins, sends, chunked reads, leaves): Check must accept what it produces.
func FuzzOracle(f *testing.F) {
	f.Add([]byte{0, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	f.Add([]byte{1, 2, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7})
	f.Add([]byte("\x02\x04join send read leave stop send read read"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, opts := arbitraryHistory(&reader{data: data})
		start := time.Now()
		v := judge.Check(h, opts)
		if took := time.Since(start); took > 3*time.Second {
			t.Fatalf("Check took %v on an arbitrary history of %d clients", took, len(h.Clients))
		}
		_ = v.String()
		for _, x := range v.Violations {
			if x.Explanation == "" || x.Kind.Requirement() == "" {
				t.Fatalf("violation without explanation or requirement: %+v", x)
			}
		}

		sim := validSim(&reader{data: data})
		if v := judge.Check(sim.History(), sim.Options()); !v.OK() {
			t.Logf("%s\n%s", describe(sim), v)
			t.Fatalf("a history from the model of a correct server was rejected")
		}
	})
}

// reader hands out the fuzz input byte by byte; zeros once exhausted.
type reader struct {
	data []byte
	pos  int
}

func (r *reader) byte() byte {
	if r.pos >= len(r.data) {
		return 0
	}
	r.pos++
	return r.data[r.pos-1]
}

func (r *reader) intn(n int) int { return int(r.byte()) % n }

func (r *reader) more() bool { return r.pos < len(r.data) }

func (r *reader) bytes(n int) []byte {
	out := make([]byte, 0, n)
	for range n {
		out = append(out, r.byte())
	}
	return out
}

var anyFormats = []string{"{msg}", "<{ip}> {msg}", "[{nick}] {msg}", "{ip}:{port}: {msg}!", "{nick}{msg}", "> {msg}"}

func ms(n int) time.Time { return time.Unix(1_700_000_000, 0).Add(time.Duration(n) * time.Millisecond) }

func arbitraryHistory(r *reader) (judge.History, judge.Options) {
	flags := r.byte()
	opts := judge.Options{Framing: judge.Framing(flags & 1)}
	opts.Format = judge.MustParseFormat(anyFormats[int(flags>>1)%len(anyFormats)])
	if flags&0x40 != 0 {
		opts.Ignore = regexp.MustCompile(`^\*`)
	}
	opts.JoinGrace = time.Duration(flags>>7) * time.Millisecond
	var h judge.History
	n := 1 + r.intn(6)
	for i := range n {
		c := judge.Client{
			ID:       judge.Identity{IP: fmt.Sprintf("127.0.0.%d", 2+r.intn(4)), Port: r.intn(3), Nick: string("abc"[:r.intn(4)])},
			Welcomed: ms(r.intn(64)),
			How:      judge.Leave(r.intn(4)),
			Complete: r.intn(2) == 0,
		}
		if r.intn(3) == 0 {
			c.Welcomed = time.Time{}
		}
		if i%2 == 0 {
			c.Name = fmt.Sprintf("c%d", i)
		}
		for range r.intn(5) {
			c.Sent = append(c.Sent, judge.Message{Data: r.bytes(r.intn(8)), At: ms(r.intn(64))})
		}
		h.Clients = append(h.Clients, c)
	}
	// Received streams: relays of real bytes, copies, prefixes and junk.
	for i := range h.Clients {
		var got []byte
		for range r.intn(12) {
			from := &h.Clients[r.intn(n)]
			switch r.intn(4) {
			case 0:
				got = append(got, r.bytes(r.intn(6))...)
			case 1:
				got = append(got, opts.Format.Prefix(from.ID)...)
			default:
				if len(from.Sent) > 0 {
					m := from.Sent[r.intn(len(from.Sent))].Data
					lo := r.intn(len(m) + 1)
					got = append(got, opts.Format.Render(from.ID, m[lo:])...)
					if opts.Framing == judge.Lines {
						got = append(got, '\n')
					}
				}
			}
		}
		h.Clients[i].Received = got
	}
	return h, opts
}

var rawFormats = []string{"<{ip}> {msg}", "[{nick}] {msg}", "({nick}) {msg}!"}
var lineFormats = []string{"<{ip}> {msg}", "[{nick}] {msg}", "({nick}) {msg}!", "{msg}"}

// validSim plays the input as a script against the model of a correct
// server. Payloads are letters and a unique tag, as the oracle requires.
func validSim(r *reader) *chatsim.Sim {
	flags := r.byte()
	framing := judge.Framing(flags & 1)
	formats := rawFormats
	if framing == judge.Lines {
		formats = lineFormats
	}
	format := judge.MustParseFormat(formats[int(flags>>1)%len(formats)])
	n := 2 + r.intn(5)
	sim := chatsim.New(framing, format, n)
	id := 0
	for steps := 0; r.more() && steps < 200; steps++ {
		c := r.intn(n)
		switch r.intn(8) {
		case 0:
			sim.Join(c)
		case 1, 2:
			msg := make([]byte, 0, 16)
			for range r.intn(12) {
				msg = append(msg, 'a'+byte(r.intn(26)))
			}
			msg = fmt.Appendf(msg, "#%d", id)
			if framing == judge.Raw && r.intn(4) == 0 {
				msg = append(msg, '\n')
			}
			if sim.Send(c, msg) {
				id++
			}
		case 3, 4, 5:
			sim.Read(c, 1+r.intn(16))
		case 6:
			sim.Leave(c, judge.Leave(1+r.intn(3)), r.intn(40))
		case 7:
			sim.Stop(c, r.intn(40))
		}
	}
	sim.Finish()
	return sim
}

func describe(sim *chatsim.Sim) string {
	s := fmt.Sprintf("format %s, framing %s\n", sim.Format, sim.Framing)
	for i, c := range sim.Clients {
		s += fmt.Sprintf("c%d joined=%v gone=%v how=%d stopped=%v drop=%d stream=%q\n", i, c.Joined, c.Gone, c.How, c.Stopped, c.Drop, c.Stream)
		for _, rec := range c.Records {
			s += fmt.Sprintf("   got c%d [%d,%d) %q\n", rec.Sender, rec.Lo, rec.Hi, rec.Payload)
		}
	}
	return s
}
