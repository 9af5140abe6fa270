package oracle

import (
	"bytes"
	"fmt"
	"sort"
)

// classifyLimit bounds how many unmatched lines per receiver are searched for
// a known payload; the rest are counted with the first ones.
const classifyLimit = 4

// line is one received line and what it was attributed to.
type line struct {
	text  []byte
	at    int   // offset in the receiver's stream
	owner int   // -1 if not a relay of any known message
	cands []int // owner's messages with this payload
}

func (c *checker) receiveLines(b int) {
	cl := &c.cl[b]
	lines := make([]line, 0, bytes.Count(cl.Received, []byte("\n")))
	var integrity, misformatted, self tally
	for at, rest := 0, cl.Received; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			if cl.Complete {
				integrity.add(c.receiverViolation(Integrity, b, at, fmt.Sprintf(
					"%s's stream ends with %s, a line without its newline: a relay was cut short.",
					c.ps[b].name, quote(rest))))
			}
			break
		}
		l := line{text: rest[:i], at: at, owner: -1}
		l.owner, l.cands = c.attributeLine(l.text)
		lines = append(lines, l)
		at += i + 1
		rest = rest[i+1:]
	}
	ts := c.newTracks(b)
	c.events[b] = make([]span, 0, len(lines))
	for _, l := range lines {
		if l.owner >= 0 && ts[l.owner] != nil {
			p := &c.ps[l.owner]
			ts[l.owner].got = append(ts[l.owner].got, l.text[len(p.pre):len(l.text)-len(p.suf)])
		}
	}
	for a, t := range ts {
		if t != nil && c.endsWith(b, a) {
			t.pinned = max(t.size-len(t.got), -1)
		}
	}
	classified, extra := 0, 0
	var firstExtra line
	for _, l := range lines {
		switch {
		case l.owner == b:
			self.add(Violation{Kind: SelfEcho, Receiver: c.ps[b].name, Sender: c.ps[b].name,
				Message: l.cands[0], Offset: -1, key: [4]int{b, -1, l.at, 0},
				Explanation: fmt.Sprintf("%s received its own message %d %s back; a sender must not receive its own message.",
					c.ps[b].name, l.cands[0]+1, quote(c.ps[b].payloads[l.cands[0]]))})
		case l.owner >= 0:
			ts[l.owner].feedLine(l.cands)
		case c.opts.Ignore != nil && c.opts.Ignore.Match(l.text):
		default:
			if classified < classifyLimit {
				classified++
				c.unmatchedLine(b, l, ts, &integrity, &misformatted)
			} else {
				if extra == 0 {
					firstExtra = l
				}
				extra++
			}
		}
	}
	// Lines beyond the classification limit are counted with the first
	// unmatched ones.
	switch {
	case extra == 0:
	case integrity.n > 0:
		integrity.n += extra
	case misformatted.n > 0:
		misformatted.n += extra
	default:
		integrity.add(c.receiverViolation(Integrity, b, firstExtra.at, fmt.Sprintf(
			"%s received the line %s, which is not a relay of any message sent (relay format %q).",
			c.ps[b].name, quote(firstExtra.text), c.opts.Format.String())))
		integrity.n += extra - 1
	}
	c.out = misformatted.emit(c.out, "misformatted line")
	c.out = integrity.emit(c.out, "unmatched line")
	c.out = self.emit(c.out, "echoed message")
	c.finishTracks(b, ts)
}

// attributeLine finds the sender and message a line relays.
func (c *checker) attributeLine(text []byte) (owner int, cands []int) {
	try := func(owners []int, n int) (int, []int) {
		for _, o := range owners {
			p := &c.ps[o]
			if !p.sends {
				break
			}
			if len(text)-n < len(p.suf) || !bytes.HasSuffix(text, p.suf) {
				continue
			}
			if idx, ok := p.byContent[string(text[n:len(text)-len(p.suf)])]; ok {
				return o, idx
			}
		}
		return -1, nil
	}
	for _, n := range c.lengths {
		if n <= len(text) {
			if owners, ok := c.prefixes[string(text[:n])]; ok {
				if o, idx := try(owners, n); o >= 0 {
					return o, idx
				}
			}
		}
	}
	return try(c.emptyOwners, 0)
}

// unmatchedLine explains a line that relays no known message.
func (c *checker) unmatchedLine(b int, l line, ts []*track, integrity, misformatted *tally) {
	r := c.ps[b].name
	// Labelled as a known sender's relay?
	labelled := -1
	for _, n := range c.lengths {
		if n <= len(l.text) {
			if owners, ok := c.prefixes[string(l.text[:n])]; ok {
				labelled = owners[0]
				break
			}
		}
	}
	if s, m, ok := c.carried(l.text); ok {
		v := Violation{Kind: Misformatted, Receiver: r, Sender: c.ps[s].name, Message: m, Offset: -1,
			key: [4]int{b, -1, l.at, 0}}
		want := c.opts.Format.Render(c.cl[s].ID, c.ps[s].payloads[m])
		if labelled >= 0 && labelled != s {
			v.Explanation = fmt.Sprintf("%s received the line %s, which carries %s's message %d but is labelled as %s's; expected %s.",
				r, quote(l.text), c.ps[s].name, m+1, c.ps[labelled].name, quote(want))
		} else {
			v.Explanation = fmt.Sprintf("%s received the line %s, which carries %s's message %d but does not follow the relay format %q; expected %s.",
				r, quote(l.text), c.ps[s].name, m+1, c.opts.Format.String(), quote(want))
		}
		misformatted.add(v)
		return
	}
	if labelled >= 0 && labelled != b && ts[labelled] != nil {
		t := ts[labelled]
		next := ""
		if exp := t.expect(); exp < t.size {
			next = fmt.Sprintf(" (the next expected was message %d %s)", exp+1, quote(c.ps[labelled].payloads[exp]))
		}
		t.garbled.add(Violation{Kind: Integrity, Receiver: r, Sender: c.ps[labelled].name, Message: -1, Offset: -1,
			key: [4]int{b, labelled, l.at, 0},
			Explanation: fmt.Sprintf("%s received the line %s, labelled as %s's relay, but %s sent no such message%s: a garbled relay.",
				r, quote(l.text), c.ps[labelled].name, c.ps[labelled].name, next)})
		return
	}
	integrity.add(c.receiverViolation(Integrity, b, l.at, fmt.Sprintf(
		"%s received the line %s, which is not a relay of any message sent (relay format %q).",
		r, quote(l.text), c.opts.Format.String())))
}

// carried finds the longest known payload (3 bytes or more) inside a line.
func (c *checker) carried(text []byte) (sender, msg int, ok bool) {
	if c.carriers == nil {
		c.carriers = make(map[string][2]int)
		seen := map[int]bool{}
		for s := range c.ps {
			for m, p := range c.ps[s].payloads {
				if len(p) < 3 {
					continue
				}
				if _, dup := c.carriers[string(p)]; !dup {
					c.carriers[string(p)] = [2]int{s, m}
				}
				if !seen[len(p)] {
					seen[len(p)] = true
					c.lensDesc = append(c.lensDesc, len(p))
				}
			}
		}
		sort.Sort(sort.Reverse(sort.IntSlice(c.lensDesc)))
	}
	const searched = 512 // longer lines are only searched at their ends
	for _, n := range c.lensDesc {
		if n > len(text) {
			continue
		}
		for i := 0; i+n <= len(text); i++ {
			if len(text) > searched && i > 0 && i+n < len(text) {
				i = len(text) - n
			}
			if sm, ok := c.carriers[string(text[i:i+n])]; ok {
				return sm[0], sm[1], true
			}
		}
	}
	return -1, -1, false
}
