package oracle

import (
	"bytes"
	"fmt"
)

// record is one relay in a raw stream: a prefix, then a payload.
type record struct {
	owner   int    // whose prefix it carries
	at      int    // where the prefix starts in the receiver's stream
	payload []byte // what follows the prefix, up to the next prefix
}

// nextPrefix finds the first relay prefix at or after from: its position,
// owner and length, or -1.
func (c *checker) nextPrefix(data []byte, from int) (at, owner, n int) {
	if len(c.lengths) == 0 {
		return -1, -1, 0
	}
	if len(c.lead) > 0 {
		for from <= len(data)-len(c.lead) {
			i := bytes.Index(data[from:], c.lead)
			if i < 0 {
				break
			}
			q := from + i
			if o, n := c.prefixAt(data, q); n > 0 {
				return q, o, n
			}
			from = q + 1
		}
		return -1, -1, 0
	}
	for q := from; q < len(data); q++ {
		if c.firstByte[data[q]] {
			if o, n := c.prefixAt(data, q); n > 0 {
				return q, o, n
			}
		}
	}
	return -1, -1, 0
}

// prefixAt returns the owner and length of the longest prefix at data[q:].
func (c *checker) prefixAt(data []byte, q int) (owner, n int) {
	for _, l := range c.lengths {
		if q+l <= len(data) {
			if owners, ok := c.prefixes[string(data[q:q+l])]; ok {
				return owners[0], l
			}
		}
	}
	return -1, 0
}

// splitRaw cuts a received stream into the bytes before the first relay and
// the relays.
func (c *checker) splitRaw(data []byte) (lead []byte, recs []record) {
	if c.single >= 0 {
		if len(data) > 0 {
			recs = append(recs, record{owner: c.single, payload: data})
		}
		return nil, recs
	}
	at, owner, n := c.nextPrefix(data, 0)
	if at < 0 {
		return data, nil
	}
	lead = data[:at]
	for at >= 0 {
		body := at + n
		next, nextOwner, nextN := c.nextPrefix(data, body)
		end := next
		if next < 0 {
			end = len(data)
		}
		recs = append(recs, record{owner: owner, at: at, payload: data[body:end]})
		at, owner, n = next, nextOwner, nextN
	}
	return lead, recs
}

// trimCut drops what a receiver that stopped early may have been cut in the
// middle of: a relay prefix (or suffix) it received only the start of.
// Dropping bytes from an incomplete receiver's end can never hide a fault,
// since such a stream may end anywhere.
func (c *checker) trimCut(data []byte) []byte {
	longest := 0
	if len(c.lengths) > 0 {
		longest = c.lengths[0]
	}
	for k := min(longest-1, len(data)); k >= 1; k-- {
		tail := data[len(data)-k:]
		for pre := range c.prefixes {
			if len(pre) > k && pre[:k] == string(tail) {
				return data[:len(data)-k]
			}
		}
	}
	return data
}

func (c *checker) receiveRaw(b int) {
	cl := &c.cl[b]
	data := cl.Received
	if !cl.Complete {
		data = c.trimCut(data)
	}
	lead, recs := c.splitRaw(data)
	var self, silent, unframed, badSuffix tally
	if len(lead) > 0 {
		c.unframed(b, 0, lead, &unframed)
	}
	ts := c.newTracks(b)
	c.events[b] = make([]span, 0, len(recs))
	// Strip suffixes and gather each sender's payloads before judging, so
	// that the start of each track can be chosen knowing what follows.
	for i := range recs {
		r := &recs[i]
		suf := c.ps[r.owner].suf
		switch {
		case len(suf) == 0:
		case bytes.HasSuffix(r.payload, suf):
			r.payload = r.payload[:len(r.payload)-len(suf)]
		case i == len(recs)-1 && !cl.Complete:
			r.payload = trimPartial(r.payload, suf)
		default:
			badSuffix.add(c.receiverViolation(Misformatted, b, r.at, fmt.Sprintf(
				"%s received the relay %s from %s, which does not end with %s as the relay format %q requires.",
				c.ps[b].name, quote(r.payload), c.ps[r.owner].name, quote(suf), c.opts.Format.String())))
			r.payload = nil
		}
		if t := ts[r.owner]; t != nil && len(r.payload) > 0 {
			t.got = append(t.got, r.payload)
		}
	}
	for a, t := range ts {
		if t != nil && c.endsWith(b, a) {
			n := 0
			for _, g := range t.got {
				n += len(g)
			}
			t.pinned = max(t.size-n, -1)
		}
	}
	for _, r := range recs {
		if len(r.payload) == 0 {
			continue // a prefix alone carries nothing to judge
		}
		switch {
		case r.owner == b:
			if c.ps[b].sends && bytes.Contains(c.ps[b].stream, r.payload) {
				self.add(c.receiverViolation(SelfEcho, b, r.at, fmt.Sprintf(
					"%s received its own bytes %s back in a relay; a sender must not receive its own message.",
					c.ps[b].name, quote(r.payload))))
			} else {
				silent.add(c.receiverViolation(Integrity, b, r.at, fmt.Sprintf(
					"%s received a relay labelled with its own identity carrying %s, which it never sent.",
					c.ps[b].name, quote(r.payload))))
			}
		case ts[r.owner] == nil:
			silent.add(c.receiverViolation(Integrity, b, r.at, fmt.Sprintf(
				"%s received a relay labelled with %s's identity carrying %s, but %s sent nothing.",
				c.ps[b].name, c.ps[r.owner].name, quote(r.payload), c.ps[r.owner].name)))
		default:
			ts[r.owner].feedRaw(r.payload)
		}
	}
	c.out = unframed.emit(c.out, "unframed stretch")
	c.out = badSuffix.emit(c.out, "misformatted relay")
	c.out = self.emit(c.out, "echoed relay")
	c.out = silent.emit(c.out, "foreign relay")
	c.finishTracks(b, ts)
}

// trimPartial drops a proper head of suf from the end of p.
func trimPartial(p, suf []byte) []byte {
	for k := min(len(suf)-1, len(p)); k >= 1; k-- {
		if bytes.Equal(p[len(p)-k:], suf[:k]) {
			return p[:len(p)-k]
		}
	}
	return p
}

// unframed reports bytes outside any relay: misformatted relays if they carry
// a sender's bytes, garbage otherwise.
func (c *checker) unframed(b, at int, region []byte, t *tally) {
	if s, ok := c.carrier(region); ok {
		t.add(c.receiverViolation(Misformatted, b, at, fmt.Sprintf(
			"%s received %s, which carries bytes %s sent but not inside a relay of the format %q (expected relays like %s).",
			c.ps[b].name, quote(region), c.ps[s].name, c.opts.Format.String(), quote(c.opts.Format.Render(c.cl[s].ID, []byte("..."))))))
		return
	}
	t.add(c.receiverViolation(Integrity, b, at, fmt.Sprintf(
		"%s received %s, which is neither a relay of the format %q nor bytes any client sent.",
		c.ps[b].name, quote(region), c.opts.Format.String())))
}

const (
	gramLen   = 6       // window length used to recognise a sender's bytes
	gramLimit = 1 << 18 // windows indexed in all, to bound memory
)

// carrier says whose bytes an unframed region carries, if any sender's.
func (c *checker) carrier(region []byte) (int, bool) {
	if len(region) < gramLen {
		return -1, false
	}
	if c.grams == nil {
		c.grams = make(map[string]int)
		senders := c.senders()
		per := gramLimit / max(len(senders), 1)
		for _, s := range senders {
			st := c.ps[s].stream
			for i := 0; i+gramLen <= len(st) && i < per; i++ {
				if _, ok := c.grams[string(st[i:i+gramLen])]; !ok {
					c.grams[string(st[i:i+gramLen])] = s
				}
			}
		}
	}
	for i := 0; i+gramLen <= len(region) && i < 256; i++ {
		if s, ok := c.grams[string(region[i:i+gramLen])]; ok {
			return s, true
		}
	}
	return -1, false
}
