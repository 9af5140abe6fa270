package oracle

import "fmt"

// track judges what one receiver got from one sender. Every relay (Raw: every
// piece of a chunk; Lines: every line) is placed at its coordinates in the
// sender's space, and coverage then tells loss, duplication and reordering
// apart.
type track struct {
	c          *checker
	recv, from int

	size     int  // coordinates in the sender's space
	mustFrom int  // first coordinate the receiver must get
	pinned   int  // start implied by the amount received if it must reach the end; -1 if unknown
	toEnd    bool // the receiver must get everything to the sender's end

	got   [][]byte // every relay payload from this sender at this receiver, in order
	gotAt int      // how many whole payloads have been fed
	done  int      // Raw: bytes of got[gotAt] already placed

	total    int // lines or bytes in got; -1 until counted
	consumed int // lines or bytes of got placed so far

	// covered is nil while everything placed so far is one run
	// [minLo,maxHi), the usual case, and per coordinate otherwise.
	covered []bool
	placed  bool
	minLo   int
	maxHi   int
	cursor  int // end of the last placed piece

	dup, late tally
	broken    bool // an Integrity violation ended the comparison
	ambiguous bool // the start could be at two places: no total order from this track
	garbled   tally
}

func (t *track) sender() *party { return &t.c.ps[t.from] }

// has reports whether coordinate i has been placed.
func (t *track) has(i int) bool {
	if t.covered == nil {
		return t.placed && t.minLo <= i && i < t.maxHi
	}
	return t.covered[i]
}

// free reports whether none of [lo,hi) has been placed.
func (t *track) free(lo, hi int) bool {
	if t.covered == nil {
		return !t.placed || hi <= t.minLo || lo >= t.maxHi
	}
	for _, c := range t.covered[lo:hi] {
		if c {
			return false
		}
	}
	return true
}

// expect is where the next relay should start.
func (t *track) expect() int {
	if t.placed {
		return t.maxHi
	}
	if t.pinned >= 0 && t.pinned <= t.mustFrom {
		return t.pinned
	}
	return t.mustFrom
}

// place records that coordinates [lo,hi) arrived now.
func (t *track) place(lo, hi int) {
	switch {
	case !t.free(lo, hi):
		if t.dup.n++; t.dup.n == 1 { // only the first is explained
			t.dup.v = t.violation(Duplicate, lo, hi, t.dupText(lo, hi))
		}
	case t.placed && lo < t.maxHi:
		if t.late.n++; t.late.n == 1 {
			t.late.v = t.violation(FIFO, lo, hi, t.lateText(lo, hi))
		}
	default:
		t.c.events[t.recv] = append(t.c.events[t.recv], span{t.from, lo, hi})
	}
	if t.covered == nil && t.placed && lo != t.maxHi {
		// No longer one run: keep coverage per coordinate from now on.
		t.covered = make([]bool, t.size)
		for i := t.minLo; i < t.maxHi; i++ {
			t.covered[i] = true
		}
	}
	if !t.placed || lo < t.minLo {
		t.minLo = lo
	}
	t.placed = true
	t.maxHi = max(t.maxHi, hi)
	t.cursor = hi
	t.consumed += hi - lo
	if t.covered != nil {
		for i := lo; i < hi; i++ {
			t.covered[i] = true
		}
	}
}

// finish reports what the track found once the receiver's stream is over.
func (t *track) finish(complete, senderReset bool) {
	c := t.c
	c.out = t.garbled.emit(c.out, "garbled line")
	if t.broken {
		return // the rest of the comparison would only echo the corruption
	}
	c.out = t.dup.emit(c.out, "repeated relay")
	c.out = t.late.emit(c.out, "late relay")
	if t.garbled.n > 0 {
		return // the garbled lines are likely the missing messages
	}
	lo := t.mustFrom
	if t.placed {
		lo = min(lo, t.minLo)
	}
	hi := t.maxHi
	if complete && !senderReset {
		hi = t.size
	} else if !t.placed {
		return
	}
	first, n := -1, 0
	for i := lo; i < hi; i++ {
		if !t.has(i) {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	if n == 0 {
		return
	}
	end := first
	for end < hi && !t.has(end) {
		end++
	}
	c.out = append(c.out, t.violation(Loss, first, end, t.lossText(first, end, n)))
}

func (t *track) violation(k Kind, lo, hi int, expl string) Violation {
	v := Violation{Kind: k, Receiver: t.c.ps[t.recv].name, Sender: t.sender().name,
		Message: lo, Offset: -1, Explanation: expl, key: [4]int{t.recv, t.from, lo, hi}}
	if t.c.opts.Framing == Raw {
		v.Offset = lo
		v.Message = msgAt(t.sender().bounds, lo)
	}
	return v
}

// breakAt reports bytes that are no piece of the sender's stream.
func (t *track) breakAt(rest []byte) {
	t.broken = true
	s := t.sender().stream
	exp := min(t.expect(), len(s))
	want := s[exp:min(len(s), exp+len(rest))]
	var expl string
	if len(want) == 0 {
		expl = fmt.Sprintf("%s's relays from %s carry %s after all %s that %s sent: these bytes were never sent by %s (a corrupted relay, or bytes of another client without their prefix).",
			t.c.ps[t.recv].name, t.sender().name, quote(rest), plural(len(s), "byte"), t.sender().name, t.sender().name)
	} else {
		m := msgAt(t.sender().bounds, exp)
		expl = fmt.Sprintf("%s's relays from %s carry %s where %s's stream has %s at byte %d (message %d of %d): these bytes were never sent by %s (a corrupted relay, or bytes of another client without their prefix).",
			t.c.ps[t.recv].name, t.sender().name, quote(rest), t.sender().name, quote(want), exp, m+1, len(t.sender().bounds)-1, t.sender().name)
	}
	v := t.violation(Integrity, exp, exp, expl)
	t.c.out = append(t.c.out, v)
}

// ---- explanations

// what describes coordinates [lo,hi) of the sender.
func (t *track) what(lo, hi int) string {
	p := t.sender()
	if t.c.opts.Framing == Lines {
		return fmt.Sprintf("%s's message %d of %d %s", p.name, lo+1, len(p.payloads), quote(p.payloads[lo]))
	}
	m := msgAt(p.bounds, lo)
	return fmt.Sprintf("bytes %d-%d of %s's stream (in message %d of %d) %s", lo, hi-1, p.name, m+1, len(p.bounds)-1, quote(p.stream[lo:hi]))
}

func (t *track) dupText(lo, hi int) string {
	return fmt.Sprintf("%s received %s more than once.", t.c.ps[t.recv].name, t.what(lo, hi))
}

func (t *track) lateText(lo, hi int) string {
	p := t.sender()
	var after string
	if t.c.opts.Framing == Lines {
		after = fmt.Sprintf("message %d %s", t.maxHi, quote(p.payloads[t.maxHi-1]))
	} else {
		after = fmt.Sprintf("byte %d (in message %d)", t.maxHi-1, msgAt(p.bounds, t.maxHi-1)+1)
	}
	return fmt.Sprintf("%s received %s after %s's %s: a sender's messages must arrive in the order sent.",
		t.c.ps[t.recv].name, t.what(lo, hi), p.name, after)
}

func (t *track) lossText(lo, hi, n int) string {
	r := t.c.ps[t.recv].name
	why := fmt.Sprintf("%s received later ones", r)
	if hi == t.size || !t.has(hi) {
		// Nothing after the gap arrived: the receiver had to get it anyway.
		why = fmt.Sprintf("it was sent after %s joined and %s stayed connected to the end", r, r)
		if lo < t.mustFrom {
			why = fmt.Sprintf("%s received earlier ones", r)
		}
	}
	unit := "message"
	if t.c.opts.Framing == Raw {
		unit = "byte"
	}
	verb := "are"
	if n == 1 {
		verb = "is"
	}
	return fmt.Sprintf("%s did not receive %s, although %s; in all %d of %s's %ss %s missing.",
		r, t.what(lo, hi), why, n, t.sender().name, unit, verb)
}
