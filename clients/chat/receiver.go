package chat

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/sockspec/sockspec/wire"
)

// receiver shows what the server sends and counts the relayed messages in it. The welcome is
// recognised as the first bytes of the stream (it has no newline in the seed); after it, a
// relay is a line (lines framing) or, in raw framing, an occurrence of the relay format's
// prefix (such as "<127.0.0.1> "), since a raw stream has no message boundaries.
type receiver struct {
	out     io.Writer
	welcome []byte
	head    []byte // the stream's first bytes while the welcome is being recognised
	// welcomeDone: the welcome question is settled; welcomeSeen: it was there.
	welcomeDone, welcomeSeen bool
	firstBytes               []byte // what came instead of the welcome (for the error)

	lines  *wire.LineDecoder // lines framing; nil for raw
	prefix *regexp.Regexp    // raw: a relay's prefix; nil counts each read as one relay
	ignore *regexp.Regexp    // notices that are not relays; nil for none
	tail   []byte            // raw: the end of the stream so far, for a prefix split over reads
	relays int
}

// tailKeep is how much of the raw stream is kept to find a relay prefix split across reads.
const tailKeep = 256

func newReceiver(cfg Config, out io.Writer) (*receiver, error) {
	r := &receiver{out: out, welcome: []byte(cfg.Welcome)}
	r.welcomeDone = len(r.welcome) == 0
	if cfg.Framing == FramingLines {
		r.lines = &wire.LineDecoder{Max: cfg.maxMessage(), TrimCR: true}
	} else {
		p, err := relayPrefix(cfg.Relay)
		if err != nil {
			return nil, err
		}
		r.prefix = p
	}
	if cfg.Ignore != "" {
		re, err := regexp.Compile(cfg.Ignore)
		if err != nil {
			return nil, fmt.Errorf("ignore pattern %q: %v", cfg.Ignore, err)
		}
		r.ignore = re
	}
	return r, nil
}

// relayPrefix turns the part of a relay format before {msg} into a pattern; nil when the
// format has no prefix.
func relayPrefix(format string) (*regexp.Regexp, error) {
	before, _, ok := strings.Cut(format, "{msg}")
	if !ok || before == "" {
		return nil, nil
	}
	var pat strings.Builder
	for before != "" {
		i := strings.IndexByte(before, '{')
		j := strings.IndexByte(before, '}')
		if i < 0 || j < i {
			pat.WriteString(regexp.QuoteMeta(before))
			break
		}
		pat.WriteString(regexp.QuoteMeta(before[:i]))
		switch before[i : j+1] {
		case "{ip}":
			pat.WriteString(`[0-9A-Fa-f.:%]+`)
		case "{port}":
			pat.WriteString(`[0-9]+`)
		case "{nick}":
			pat.WriteString(`[^\s]+?`)
		default:
			pat.WriteString(regexp.QuoteMeta(before[i : j+1]))
		}
		before = before[j+1:]
	}
	return regexp.Compile(pat.String())
}

// sawInJoin tells the receiver what the join script consumed: the welcome may be among it.
func (r *receiver) sawInJoin(b []byte) {
	if !r.welcomeDone && bytes.Contains(b, r.welcome) {
		r.welcomeDone, r.welcomeSeen = true, true
	}
}

// feed shows p and counts relays in it.
func (r *receiver) feed(p []byte) error {
	if !r.welcomeDone {
		r.head = append(r.head, p...)
		n := min(len(r.head), len(r.welcome))
		if !bytes.Equal(r.head[:n], r.welcome[:n]) {
			r.welcomeDone = true
			r.firstBytes = r.head
			p, r.head = r.head, nil
		} else if n < len(r.welcome) {
			return nil // wait for the rest of the welcome
		} else {
			r.welcomeDone, r.welcomeSeen = true, true
			fmt.Fprintf(r.out, "%s\n", bytes.TrimRight(r.welcome, "\r\n"))
			p, r.head = r.head[len(r.welcome):], nil
		}
	}
	if len(p) == 0 {
		return nil
	}
	if r.lines != nil {
		return r.lines.Feed(p, func(line []byte) error {
			fmt.Fprintf(r.out, "%s\n", line)
			if r.ignore == nil || !r.ignore.Match(line) {
				r.relays++
			}
			return nil
		})
	}
	show := p
	if !bytes.HasSuffix(show, []byte("\n")) {
		show = append(bytes.Clone(p), '\n')
	}
	r.out.Write(show)
	r.countRaw(p)
	return nil
}

// countRaw counts relay prefixes in p, including one that began in the previous read.
func (r *receiver) countRaw(p []byte) {
	if r.prefix == nil {
		if r.ignore == nil || !r.ignore.Match(p) {
			r.relays++
		}
		return
	}
	joined := append(r.tail, p...)
	for _, m := range r.prefix.FindAllIndex(joined, -1) {
		if m[1] > len(r.tail) { // not wholly inside the part counted before
			r.relays++
		}
	}
	keep := min(len(joined), tailKeep)
	r.tail = append(r.tail[:0:0], joined[len(joined)-keep:]...)
}

// flush shows a last incomplete line when the stream ends.
func (r *receiver) flush() {
	if len(r.head) > 0 {
		r.out.Write(append(r.head, '\n'))
		r.head = nil
	}
	if r.lines != nil && r.lines.Pending() > 0 {
		r.lines.Feed([]byte("\n"), func(line []byte) error {
			fmt.Fprintf(r.out, "%s\n", line)
			return nil
		})
	}
}
