package oracle

import (
	"bytes"
	"slices"
	"sort"
)

// Where does a relay belong in its sender's space? Usually right after the
// previous one. When it does not fit there, every occurrence of its bytes is a
// candidate, and the one that implies the fewest violations, counting the
// next few relays placed greedily after it, wins. Minimising violations is
// what keeps a loss from being read as a reordering plus a duplicate when
// payloads resemble each other ("msg 1", "msg 2").

const (
	probes     = 8       // candidate occurrences in each direction
	lookUnits  = 4       // relays placed greedily when costing a candidate
	lookBytes  = 4096    // how far a candidate's alignment is measured
	minPiece   = 4       // shortest head of a broken relay worth relocating
	distinct   = 8       // a relay at least this long is not where it fits by chance
	shortLook  = 64      // how far a short relay's fit is checked against what follows
	workBudget = 1 << 26 // bytes scanned for look-ahead per Check, to bound time
)

// ---- Lines framing: coordinates are message indices.

// feedLine places one line whose payload is the sender's message at one of
// the indices cands (ascending).
func (t *track) feedLine(cands []int) {
	exp := t.expect()
	k := sort.SearchInts(cands, exp)
	var i int
	if t.placed && k < len(cands) && cands[k] == exp && !t.has(exp) {
		i = exp
	} else {
		cs := t.lineCandidates(cands, exp)
		if c := t.cursor; t.placed && c < t.size && !t.has(c) && slices.Contains(cands, c) {
			cs = append([]int{c}, cs...) // the next of a late run
		}
		i = t.choose(cs, 1)
	}
	t.place(i, i+1)
	t.gotAt++
}

// lineCandidates orders where a line with the message indices cands may go.
// For a track's first line it also decides whether the start is ambiguous.
func (t *track) lineCandidates(cands []int, exp int) []int {
	var out []int
	if !t.placed {
		if k := sort.SearchInts(cands, t.pinned); t.pinned >= 0 && k < len(cands) && cands[k] == t.pinned {
			out = append(out, t.pinned)
		}
		// The latest start, not after the first message it must get, under
		// which every line received is in order.
		top := sort.SearchInts(cands, t.mustFrom+1) - 1
		fitting := 0
		for k := top; k >= 0 && k > top-4*probes && fitting < 2; k-- {
			if t.score(cands[k], lookBytes) >= min(lookBytes, t.remaining()) {
				if fitting == 0 {
					out = append(out, cands[k])
				}
				fitting++
			}
		}
		t.ambiguous = fitting > 1 // every line received fits at two places
		k := sort.SearchInts(cands, exp+1)
		for j := k - 1; j >= 0 && j >= k-probes; j-- {
			out = append(out, cands[j])
		}
		for j := k; j < len(cands) && j < k+probes; j++ {
			out = append(out, cands[j])
		}
		return out
	}
	k := sort.SearchInts(cands, exp)
	var ahead, behind []int
	for j := k; j < len(cands) && j < k+probes; j++ {
		ahead = append(ahead, cands[j])
	}
	for j := k - 1; j >= 0 && j >= k-probes; j-- {
		behind = append(behind, cands[j])
	}
	return t.order(ahead, behind, 1)
}

// ---- Raw framing: coordinates are byte offsets into the sender's stream.

// feedRaw places one relay payload, piece by piece if it is not one
// contiguous part of the sender's stream.
func (t *track) feedRaw(chunk []byte) {
	for len(chunk) > 0 && !t.broken {
		lo, n, ok := t.locate(chunk)
		if !ok {
			t.breakAt(chunk)
			break
		}
		t.place(lo, lo+n)
		t.done += n
		chunk = chunk[n:]
	}
	t.gotAt++
	t.done = 0
}

// locate finds where chunk, or else its longest head that is a piece of the
// sender's stream, belongs.
func (t *track) locate(chunk []byte) (lo, n int, ok bool) {
	s := t.sender().stream
	exp := t.expect()
	if p := t.pinned; !t.placed && p >= 0 && p <= t.mustFrom && t.score(p, lookBytes) >= min(lookBytes, t.remaining()) {
		return p, len(chunk), true // a complete receiver that got exactly the stream's end
	}
	fits := t.placed && exp+len(chunk) <= len(s) && bytes.Equal(s[exp:exp+len(chunk)], chunk) && t.free(exp, exp+len(chunk))
	// A short relay may fit by chance: trust it only if what follows
	// lines up too.
	if fits && (len(chunk) >= distinct || t.score(exp, shortLook) >= min(t.remaining(), shortLook)) {
		return exp, len(chunk), true
	}
	cands := t.rawCandidates(chunk, exp)
	if fits {
		cands = append([]int{exp}, cands...)
	}
	// Right after the previous relay: the next piece of a late run.
	if c := t.cursor; t.placed && c != exp && c+len(chunk) <= len(s) && bytes.Equal(s[c:c+len(chunk)], chunk) && t.free(c, c+len(chunk)) {
		cands = append([]int{c}, cands...)
	}
	if len(cands) > 0 {
		return t.choose(cands, len(chunk)), len(chunk), true
	}
	// A broken relay: keep what continues the stream, relocate a long
	// enough head, and call the rest foreign.
	if exp < len(s) {
		if k := lcp(chunk, s[exp:]); k > 0 && t.free(exp, exp+k) {
			return exp, k, true
		}
	}
	if k := longestHead(s, chunk); k >= minPiece {
		if cands := t.rawCandidates(chunk[:k], exp); len(cands) > 0 {
			return t.choose(cands, k), k, true
		}
	}
	return 0, 0, false
}

// rawCandidates orders where a piece may go. For a track's first piece it
// also decides whether the start is ambiguous.
func (t *track) rawCandidates(piece []byte, exp int) []int {
	s := t.sender().stream
	if !t.placed {
		var out []int
		if p := t.pinned; p >= 0 && p+len(piece) <= len(s) && bytes.Equal(s[p:p+len(piece)], piece) {
			out = append(out, p)
		}
		// The latest start, not after the first byte it must get, under
		// which everything received is one piece of the stream: a correct
		// delivery whatever the payloads look like.
		if t.done == 0 && len(piece) == len(t.got[t.gotAt]) {
			all := bytes.Join(t.got[t.gotAt:], nil)
			hay := s[:min(len(s), t.mustFrom+len(all))]
			t.c.work += len(hay)
			if i := bytes.LastIndex(hay, all); i >= 0 {
				out = append(out, i)
				// Everything received fits at two places: which bytes
				// these are cannot be told (repetitive payloads).
				t.c.work += i + len(all)
				t.ambiguous = bytes.LastIndex(hay[:i+len(all)-1], all) >= 0
			}
		}
		out = append(out, t.behind(piece, exp+1, probes)...)
		return append(out, t.ahead(piece, exp+1, probes)...)
	}
	return t.order(t.ahead(piece, exp, probes), t.behind(piece, exp, probes), len(piece))
}

// ahead lists up to limit occurrences of u at or after from, nearest first.
func (t *track) ahead(u []byte, from, limit int) []int {
	if t.c.opts.Framing == Lines {
		cands := t.sender().byContent[string(u)]
		k := sort.SearchInts(cands, from)
		return cands[k:min(len(cands), k+limit)]
	}
	s := t.sender().stream
	var out []int
	for from < len(s) && len(out) < limit {
		i := bytes.Index(s[from:], u)
		if i < 0 {
			t.c.work += len(s) - from
			break
		}
		t.c.work += i + len(u)
		out = append(out, from+i)
		from += i + 1
	}
	return out
}

// behind lists up to limit occurrences of u starting before end, nearest
// first.
func (t *track) behind(u []byte, end, limit int) []int {
	if t.c.opts.Framing == Lines {
		cands := t.sender().byContent[string(u)]
		var out []int
		for k := sort.SearchInts(cands, end) - 1; k >= 0 && len(out) < limit; k-- {
			out = append(out, cands[k])
		}
		return out
	}
	s := t.sender().stream
	var out []int
	hay := s[:min(len(s), max(end+len(u)-1, 0))]
	for len(out) < limit {
		i := bytes.LastIndex(hay, u)
		if i < 0 {
			t.c.work += len(hay)
			break
		}
		t.c.work += len(hay) - i
		out = append(out, i)
		hay = hay[:i+len(u)-1]
	}
	return out
}

// order lists free occurrences (ahead, then behind) before covered ones.
func (t *track) order(ahead, behind []int, n int) []int {
	var free, taken []int
	for _, group := range [][]int{ahead, behind} {
		for _, i := range group {
			if t.free(i, i+n) {
				free = append(free, i)
			}
		}
	}
	for _, group := range [][]int{behind, ahead} {
		for _, i := range group {
			if !t.free(i, i+n) {
				taken = append(taken, i)
			}
		}
	}
	return append(free, taken...)
}

// longestHead is the length of the longest head of b found in s.
func longestHead(s, b []byte) int {
	lo, hi := 0, len(b) // b[:lo] occurs; b[:hi+1] does not
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if bytes.Contains(s, b[:mid]) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// ---- choosing among candidates, both framings

// choose picks the candidate position for the current unit (n coordinates
// long) that implies the fewest violations; ties go to the one under which
// more of what follows lines up, then to the earlier in the list. When a
// track's start could be at two places that both explain everything received
// (short, repetitive payloads at a receiver that joined or left midway), the
// track is marked ambiguous and kept out of the total order comparison.
func (t *track) choose(cands []int, n int) int {
	cands = uniq(cands)
	if len(cands) == 1 || t.c.work > workBudget {
		return cands[0]
	}
	perfect := min(lookBytes, t.remaining())
	best, bestCost, bestScore := cands[0], int(^uint(0)>>1), -1
	flawless := 0
	look := t.lookahead(n)
	for _, p := range cands {
		score := t.score(p, lookBytes)
		cost := t.cost(p, n, look)
		if cost == 0 && score >= perfect {
			if t.placed || p == t.pinned {
				return p // everything ahead lines up without a fault
			}
			flawless++
			if flawless > 1 {
				t.ambiguous = true
				return best
			}
		}
		if cost < bestCost || cost == bestCost && score > bestScore {
			best, bestCost, bestScore = p, cost, score
		}
	}
	return best
}

// remaining is how much of what was received is not placed yet: lines, or
// bytes.
func (t *track) remaining() int {
	if t.total < 0 {
		t.total = len(t.got)
		if t.c.opts.Framing == Raw {
			t.total = 0
			for _, g := range t.got {
				t.total += len(g)
			}
		}
	}
	return t.total - t.consumed
}

// score is how much of what was received, from the current unit on, matches
// the sender's space from p on (at most lookBytes).
func (t *track) score(p, limit int) int {
	if t.c.opts.Framing == Lines {
		ps := t.sender().payloads
		n := 0
		for j := t.gotAt; j < len(t.got) && n < limit && p+n < len(ps) && bytes.Equal(t.got[j], ps[p+n]); j++ {
			n++
		}
		return n
	}
	s := t.sender().stream[p:]
	n := 0
	for j := t.gotAt; j < len(t.got) && len(s) > 0 && n < limit; j++ {
		g := t.got[j]
		if j == t.gotAt {
			g = g[min(t.done, len(g)):]
		}
		g = g[:min(len(g), limit-n)]
		k := lcp(g, s)
		n += k
		t.c.work += k
		if k < len(g) {
			break
		}
		s = s[k:]
	}
	return n
}

// stepCost is the number of violations placing [lo,hi) implies at once, given
// the state placed/maxHi/cursor and extra coverage ov (from a look-ahead): a
// repeat, or the start of a late run. Gaps are counted at the end, since a
// later relay may fill them (then the fault is a late arrival, not a loss).
func (t *track) stepCost(lo, hi int, placed bool, maxHi, cursor int, ov [][2]int) int {
	c := 0
	repeat := !t.free(lo, hi)
	for _, o := range ov {
		repeat = repeat || lo < o[1] && o[0] < hi
	}
	if repeat {
		c++
	}
	if placed && lo < maxHi && lo != cursor && !t.onlyRepeats(lo, min(hi, maxHi), ov) {
		c++ // new coordinates behind what came before: a late arrival
	}
	return c
}

// onlyRepeats reports whether [lo,hi) is entirely covered (really or by ov).
func (t *track) onlyRepeats(lo, hi int, ov [][2]int) bool {
	t.c.work += hi - lo
	for i := lo; i < hi; i++ {
		covered := t.has(i)
		for _, o := range ov {
			covered = covered || o[0] <= i && i < o[1]
		}
		if !covered {
			return false
		}
	}
	return true
}

// cost counts the violations implied by placing the current unit at p and
// then the next few units greedily: repeats, late runs, foreign units, and
// the gaps left open at the end of the look-ahead.
func (t *track) cost(p, n int, look *lookahead) int {
	var buf [lookUnits + 2][2]int
	ov := append(buf[:0], [2]int{p, p + n})
	c := t.stepCost(p, p+n, t.placed, t.maxHi, t.cursor, nil)
	from := t.maxHi
	if !t.placed {
		from = t.mustFrom
	}
	from = min(from, p)
	maxHi := max(t.maxHi, p+n)
	if !t.placed {
		maxHi = p + n
	}
	cursor := p + n
	for j, u := range look.units {
		un := 1
		if t.c.opts.Framing == Raw {
			un = len(u)
		}
		q := -1
		switch {
		case cursor != maxHi && t.at(u, cursor) && t.stepCost(cursor, cursor+un, true, maxHi, cursor, ov) == 0:
			q = cursor
		case t.at(u, maxHi):
			q = maxHi
		default:
			if q = look.near(t, j, maxHi+1, true); q < 0 {
				q = look.near(t, j, maxHi, false)
			}
		}
		if q < 0 {
			c += 2 // foreign bytes
			continue
		}
		c += t.stepCost(q, q+un, true, maxHi, cursor, ov)
		ov = append(ov, [2]int{q, q + un})
		maxHi = max(maxHi, q+un)
		cursor = q + un
		from = min(from, q)
	}
	c += gaps(look.holes, from, maxHi, ov)
	if t.toEnd && t.lookedToEnd(n, len(look.units)) && maxHi < t.size {
		c++ // the end is missing
	}
	return c
}

// holes lists the runs of the sender's space not placed yet, in order.
func (t *track) holes() [][2]int {
	if !t.placed {
		return [][2]int{{0, t.size}}
	}
	if t.covered == nil {
		var out [][2]int
		if t.minLo > 0 {
			out = append(out, [2]int{0, t.minLo})
		}
		if t.maxHi < t.size {
			out = append(out, [2]int{t.maxHi, t.size})
		}
		return out
	}
	var out [][2]int
	t.c.work += t.size
	for i := 0; i < t.size; {
		if t.covered[i] {
			i++
			continue
		}
		j := i
		for j < t.size && !t.covered[j] {
			j++
		}
		out = append(out, [2]int{i, j})
		i = j
	}
	return out
}

// gaps counts the runs of [lo,hi) left uncovered: holes not covered by ov.
func gaps(holes [][2]int, lo, hi int, ov [][2]int) int {
	slices.SortFunc(ov, func(a, b [2]int) int { return a[0] - b[0] })
	n := 0
	for _, h := range holes {
		a, b := max(h[0], lo), min(h[1], hi)
		if a >= b {
			continue
		}
		for _, o := range ov { // sweep the hole, skipping what ov covers
			if o[1] <= a {
				continue
			}
			if o[0] >= b {
				break
			}
			if o[0] > a {
				n++
			}
			a = o[1]
			if a >= b {
				break
			}
		}
		if a < b {
			n++
		}
	}
	return n
}

// lookedToEnd reports whether the look-ahead after placing n coordinates of
// the current unit saw every unit received.
func (t *track) lookedToEnd(n, looked int) bool {
	left := len(t.got) - t.gotAt - 1
	if t.c.opts.Framing == Raw && t.gotAt < len(t.got) && t.done+n < len(t.got[t.gotAt]) {
		left++ // the rest of the current chunk
	}
	return looked >= left
}

// following lists the units after the current one (n coordinates of which
// are being placed), at most lookUnits.
func (t *track) following(n int) [][]byte {
	var out [][]byte
	if t.c.opts.Framing == Raw && t.gotAt < len(t.got) {
		if rest := t.got[t.gotAt][min(t.done+n, len(t.got[t.gotAt])):]; len(rest) > 0 {
			out = append(out, rest)
		}
	}
	for j := t.gotAt + 1; j < len(t.got) && len(out) < lookUnits; j++ {
		out = append(out, t.got[j])
	}
	return out
}

// at reports whether unit u sits at position p of the sender's space.
func (t *track) at(u []byte, p int) bool {
	if t.c.opts.Framing == Lines {
		ps := t.sender().payloads
		return p < len(ps) && bytes.Equal(ps[p], u)
	}
	s := t.sender().stream
	return p+len(u) <= len(s) && bytes.Equal(s[p:p+len(u)], u)
}

// lookahead is what costing the candidates of one decision shares: the
// holes in the coverage so far, the units that follow and where they occur.
type lookahead struct {
	holes [][2]int
	units [][]byte
	occ   [][]int // per unit, ascending; nil if too many to list
}

const maxOcc = 64 // occurrences listed per unit; beyond, search directly

func (t *track) lookahead(n int) *lookahead {
	l := &lookahead{holes: t.holes(), units: t.following(n)}
	l.occ = make([][]int, len(l.units))
	for j, u := range l.units {
		if t.c.opts.Framing == Lines {
			l.occ[j] = t.sender().byContent[string(u)]
			continue
		}
		if all := t.ahead(u, 0, maxOcc+1); len(all) <= maxOcc {
			l.occ[j] = append(all, -1)[:len(all)] // non-nil even when empty
		}
	}
	return l
}

// near finds the nearest occurrence of unit j at or after p (fwd) or
// starting before p; -1 if none.
func (l *lookahead) near(t *track, j, p int, fwd bool) int {
	if occ := l.occ[j]; occ != nil {
		k := sort.SearchInts(occ, p)
		if fwd && k < len(occ) {
			return occ[k]
		}
		if !fwd && k > 0 {
			return occ[k-1]
		}
		return -1
	}
	var r []int
	if fwd {
		r = t.ahead(l.units[j], p, 1)
	} else {
		r = t.behind(l.units[j], p, 1)
	}
	if len(r) == 0 {
		return -1
	}
	return r[0]
}

// uniq drops repeated candidates, keeping the first of each.
func uniq(cands []int) []int {
	out := cands[:0:0]
	for _, c := range cands {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}
