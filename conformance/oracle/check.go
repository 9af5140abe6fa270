package oracle

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
)

// party is one client as the checker sees it.
type party struct {
	name     string
	pre, suf []byte // its relays' prefix and suffix
	sends    bool   // it sent at least one message (Raw: at least one byte)

	// Raw framing: everything it wrote, and where each message starts
	// (bounds[len(Sent)] == len(stream)). Coordinates are byte offsets.
	stream []byte
	bounds []int

	// Lines framing: each payload without its newline, and the indices of
	// each distinct payload. Coordinates are message indices.
	payloads  [][]byte
	byContent map[string][]int
}

// size is the length of the party's coordinate space.
func (p *party) size(f Framing) int {
	if f == Lines {
		return len(p.payloads)
	}
	return len(p.stream)
}

type checker struct {
	opts Options
	cl   []Client
	ps   []party

	prefixes    map[string][]int // non-empty prefix -> clients with it, senders first
	lengths     []int            // distinct non-empty prefix lengths, longest first
	lead        []byte           // common start of all non-empty prefixes
	firstByte   [256]bool        // first bytes of non-empty prefixes
	emptyOwners []int            // clients whose prefix is empty, senders first
	single      int              // Raw without sender prefixes: the only sender, else -1

	events [][]span // per receiver: relays placed in order, for the total order
	out    []Violation

	grams    map[string]int    // lazily: 6-byte windows of raw streams -> sender
	carriers map[string][2]int // lazily: lines payload -> sender, message
	lensDesc []int             // lazily: distinct payload lengths, longest first
	work     int               // bytes scanned by look-aheads, against workBudget
}

// span is a piece of a sender's coordinates placed at a receiver.
type span struct{ sender, lo, hi int }

// Check judges a recorded history. It never panics on malformed input: what
// it cannot judge is reported in Verdict.Err.
func Check(h History, opts Options) Verdict {
	c := &checker{opts: opts, cl: h.Clients, single: -1}
	if err := c.prepare(); err != nil {
		return Verdict{Err: err}
	}
	for b := range c.cl {
		if opts.Framing == Lines {
			c.receiveLines(b)
		} else {
			c.receiveRaw(b)
		}
	}
	if !opts.SkipTotalOrder {
		c.totalOrder()
	}
	sortViolations(c.out)
	return Verdict{Violations: c.out}
}

func (c *checker) prepare() error {
	f := c.opts.Format
	c.ps = make([]party, len(c.cl))
	c.events = make([][]span, len(c.cl))
	for i := range c.cl {
		cl := &c.cl[i]
		p := &c.ps[i]
		p.name = clientName(cl, i)
		p.pre, p.suf = f.Prefix(cl.ID), f.Suffix(cl.ID)
		if c.opts.Framing == Lines {
			p.byContent = make(map[string][]int, len(cl.Sent))
			for m, msg := range cl.Sent {
				payload := bytes.TrimSuffix(msg.Data, []byte("\n"))
				if bytes.IndexByte(payload, '\n') >= 0 {
					return fmt.Errorf("%w: %s's message %d %s holds a newline before its end; with lines framing each message is one line",
						ErrInvalidHistory, p.name, m+1, quote(msg.Data))
				}
				p.payloads = append(p.payloads, payload)
				p.byContent[string(payload)] = append(p.byContent[string(payload)], m)
			}
			p.sends = len(cl.Sent) > 0
			continue
		}
		p.bounds = make([]int, 0, len(cl.Sent)+1)
		for _, msg := range cl.Sent {
			p.bounds = append(p.bounds, len(p.stream))
			p.stream = append(p.stream, msg.Data...)
		}
		p.bounds = append(p.bounds, len(p.stream))
		p.sends = len(p.stream) > 0
	}
	c.indexPrefixes()
	if c.opts.Framing == Lines {
		return c.checkLinesAttribution()
	}
	return c.checkRawAttribution()
}

func clientName(cl *Client, i int) string {
	switch {
	case cl.Name != "":
		return cl.Name
	case cl.ID.Nick != "":
		return cl.ID.Nick
	case cl.ID.IP != "" && cl.ID.Port != 0:
		return cl.ID.IP + ":" + strconv.Itoa(cl.ID.Port)
	case cl.ID.IP != "":
		return cl.ID.IP
	}
	return "client " + strconv.Itoa(i+1)
}

// indexPrefixes builds the prefix table. Senders come first among the owners
// of one prefix, so a relay is attributed to a client that could have sent it.
func (c *checker) indexPrefixes() {
	c.prefixes = make(map[string][]int)
	order := make([]int, 0, len(c.ps))
	for i := range c.ps {
		if c.ps[i].sends {
			order = append(order, i)
		}
	}
	for i := range c.ps {
		if !c.ps[i].sends {
			order = append(order, i)
		}
	}
	seenLen := map[int]bool{}
	first := true
	for _, i := range order {
		pre := c.ps[i].pre
		if len(pre) == 0 {
			c.emptyOwners = append(c.emptyOwners, i)
			continue
		}
		c.prefixes[string(pre)] = append(c.prefixes[string(pre)], i)
		if !seenLen[len(pre)] {
			seenLen[len(pre)] = true
			c.lengths = append(c.lengths, len(pre))
		}
		c.firstByte[pre[0]] = true
		if first {
			c.lead = pre
			first = false
		} else {
			c.lead = c.lead[:lcp(c.lead, pre)]
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(c.lengths)))
}

func (c *checker) senders() []int {
	var s []int
	for i := range c.ps {
		if c.ps[i].sends {
			s = append(s, i)
		}
	}
	return s
}

func (c *checker) checkRawAttribution() error {
	senders := c.senders()
	for _, s := range senders {
		if len(c.ps[s].pre) > 0 {
			continue
		}
		if len(senders) > 1 {
			return fmt.Errorf("%w: relay format %q puts nothing before the payload of %s's relays and %d clients sent bytes; with raw framing their bytes cannot be told apart",
				ErrUnattributable, c.opts.Format.String(), c.ps[s].name, len(senders))
		}
		if len(c.ps[s].suf) > 0 {
			return fmt.Errorf("%w: relay format %q has a suffix but no prefix; with raw framing relays cannot be delimited",
				ErrUnattributable, c.opts.Format.String())
		}
		c.single = s
		return nil
	}
	for _, pre := range slices.Sorted(maps.Keys(c.prefixes)) {
		if owners := c.prefixes[pre]; len(owners) > 1 && c.ps[owners[1]].sends {
			return fmt.Errorf("%w: %s and %s both relay with the prefix %s; with raw framing their bytes cannot be told apart",
				ErrUnattributable, c.ps[owners[0]].name, c.ps[owners[1]].name, quote([]byte(pre)))
		}
	}
	// The split by prefixes is only sound if no payload contains a prefix.
	for _, s := range senders {
		p := &c.ps[s]
		if at, owner, _ := c.nextPrefix(p.stream, 0); at >= 0 {
			m := msgAt(p.bounds, at)
			return fmt.Errorf("%w: %s's message %d %s contains the relay prefix %s of %s; raw relays are split at prefixes, so payloads must not contain one",
				ErrInvalidHistory, p.name, m+1, quote(c.cl[s].Sent[m].Data), quote(c.ps[owner].pre), c.ps[owner].name)
		}
	}
	return nil
}

func (c *checker) checkLinesAttribution() error {
	groups := make([][]int, 0, len(c.prefixes)+1)
	for _, pre := range slices.Sorted(maps.Keys(c.prefixes)) {
		groups = append(groups, c.prefixes[pre])
	}
	groups = append(groups, c.emptyOwners)
	for _, owners := range groups {
		var seen map[string]int
		for _, o := range owners {
			if !c.ps[o].sends {
				break
			}
			if seen == nil {
				if len(owners) < 2 || !c.ps[owners[1]].sends {
					break
				}
				seen = map[string]int{}
			}
			for _, p := range c.ps[o].payloads {
				payload := string(p)
				if other, dup := seen[payload]; dup && other != o {
					return fmt.Errorf("%w: %s and %s both sent %s and the relay format %q does not tell them apart; send unique messages",
						ErrUnattributable, c.ps[other].name, c.ps[o].name, quote([]byte(payload)), c.opts.Format.String())
				}
				seen[payload] = o
			}
		}
	}
	return nil
}

// mustFrom is the first coordinate of sender a that receiver b must get: the
// first message sent after b's welcome (plus the join grace).
func (c *checker) mustFrom(b, a int) int {
	w := c.cl[b].Welcomed
	sent := c.cl[a].Sent
	m := len(sent)
	if w.IsZero() {
		m = 0
	} else {
		limit := w.Add(c.opts.JoinGrace)
		for i, msg := range sent {
			if msg.At.After(limit) {
				m = i
				break
			}
		}
	}
	if c.opts.Framing == Lines {
		return m
	}
	return c.ps[a].bounds[m]
}

// msgAt returns the index of the message holding byte offset off.
func msgAt(bounds []int, off int) int {
	n := len(bounds) - 1
	i := sort.Search(n, func(i int) bool { return bounds[i+1] > off })
	if i >= n {
		i = n - 1
	}
	return max(i, 0)
}

// newTracks prepares one track per sender other than the receiver b.
func (c *checker) newTracks(b int) []*track {
	ts := make([]*track, len(c.ps))
	for a := range c.ps {
		if a == b || !c.ps[a].sends {
			continue
		}
		ts[a] = &track{
			c: c, recv: b, from: a,
			size:     c.ps[a].size(c.opts.Framing),
			mustFrom: c.mustFrom(b, a),
			pinned:   -1,
			total:    -1,
			toEnd:    c.endsWith(b, a),
		}
	}
	return ts
}

// finishTracks runs the end-of-stream checks of every track of receiver b.
func (c *checker) finishTracks(b int, ts []*track) {
	ambiguous := false
	for _, t := range ts {
		if t != nil {
			t.finish(c.cl[b].Complete, c.cl[t.from].How == Reset)
			ambiguous = ambiguous || t.ambiguous
		}
	}
	if ambiguous {
		kept := c.events[b][:0]
		for _, e := range c.events[b] {
			if !ts[e.sender].ambiguous {
				kept = append(kept, e)
			}
		}
		c.events[b] = kept
	}
}

// endsWith reports whether the receiver must have everything a sent, to the
// end: it is complete and a did not reset (a reset may lose a's last bytes).
func (c *checker) endsWith(b, a int) bool {
	return c.cl[b].Complete && c.cl[a].How != Reset
}

func (c *checker) receiverViolation(k Kind, b, at int, expl string) Violation {
	return Violation{Kind: k, Receiver: c.ps[b].name, Message: -1, Offset: -1,
		Explanation: expl, key: [4]int{b, -1, at, 0}}
}
