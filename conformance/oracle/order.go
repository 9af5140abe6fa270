package oracle

import (
	"fmt"
	"slices"
	"sort"
)

// totalOrder compares the order of relays between every two receivers
// (CHAT-ORDER-2). Relays are cut into atoms, the pieces of a sender's space
// that no receiver's relay boundary splits, so that two receivers that got the
// same bytes in differently sized chunks are still comparable. Each receiver's
// atoms are then checked against every other receiver's order in one pass:
// O(receivers² × atoms).
func (c *checker) totalOrder() {
	n := len(c.ps)
	cuts := make([][]int, n)
	total := 0
	for _, evs := range c.events {
		total += len(evs)
	}
	for s := range cuts {
		cuts[s] = make([]int, 0, 2*total/max(n, 1))
	}
	for _, evs := range c.events {
		for _, e := range evs {
			cuts[e.sender] = append(cuts[e.sender], e.lo, e.hi)
		}
	}
	base := make([]int, n+1)
	for s := range cuts {
		slices.Sort(cuts[s])
		cuts[s] = slices.Compact(cuts[s])
		base[s+1] = base[s] + max(len(cuts[s])-1, 0)
	}
	seqs := make([][]int32, n)
	for r, evs := range c.events {
		seqs[r] = make([]int32, 0, len(evs))
		for _, e := range evs {
			k0 := sort.SearchInts(cuts[e.sender], e.lo)
			k1 := sort.SearchInts(cuts[e.sender], e.hi)
			for k := k0; k < k1; k++ {
				seqs[r] = append(seqs[r], int32(base[e.sender]+k))
			}
		}
	}
	pos := make([]int32, base[n])
	for i := range pos {
		pos[i] = -1
	}
	reported := make([]bool, n)
	for r1 := range seqs {
		if len(seqs[r1]) < 2 {
			continue
		}
		for i, a := range seqs[r1] {
			pos[a] = int32(i)
		}
		for r2 := r1 + 1; r2 < n; r2++ {
			if reported[r2] {
				continue
			}
			last, lastAtom := int32(-1), int32(-1)
			for _, a := range seqs[r2] {
				p := pos[a]
				if p < 0 {
					continue
				}
				if p < last {
					c.out = append(c.out, c.orderViolation(r1, r2, a, lastAtom, cuts, base))
					reported[r2] = true
					break
				}
				last, lastAtom = p, a
			}
		}
		for _, a := range seqs[r1] {
			pos[a] = -1
		}
	}
}

// orderViolation explains that r1 got atom x before y while r2 got y first.
func (c *checker) orderViolation(r1, r2 int, x, y int32, cuts [][]int, base []int) Violation {
	describe := func(a int32) (string, int) {
		s := sort.Search(len(base)-1, func(s int) bool { return base[s+1] > int(a) })
		k := int(a) - base[s]
		lo, hi := cuts[s][k], cuts[s][k+1]
		p := &c.ps[s]
		if c.opts.Framing == Lines {
			return fmt.Sprintf("%s's message %d %s", p.name, lo+1, quote(p.payloads[lo])), s
		}
		return fmt.Sprintf("%s's bytes %d-%d %s (message %d)", p.name, lo, hi-1, quote(p.stream[lo:hi]), msgAt(p.bounds, lo)+1), s
	}
	dx, sx := describe(x)
	dy, _ := describe(y)
	return Violation{Kind: TotalOrder, Receiver: c.ps[r2].name, Sender: c.ps[sx].name, Message: -1, Offset: -1,
		key: [4]int{r2, r1, 0, 0},
		Explanation: fmt.Sprintf("%s received %s before %s, but %s received them in the opposite order: receivers do not agree on one order of messages.",
			c.ps[r1].name, dx, dy, c.ps[r2].name)}
}
