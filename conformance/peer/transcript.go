package peer

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Dir is the direction of a transcript entry.
type Dir int

const (
	Sent     Dir = iota // bytes we wrote
	Received            // bytes the target sent us
	Event               // something happened: "connected", "half-close", "EOF", "reset by target", ...
)

func (d Dir) String() string {
	switch d {
	case Sent:
		return "->"
	case Received:
		return "<-"
	default:
		return "--"
	}
}

// Entry is one line of a transcript.
type Entry struct {
	Name  string        // the peer's name ("alice")
	Dir   Dir           //
	At    time.Duration // since the peer started dialling
	Time  time.Time     // wall clock, to merge transcripts of several peers
	Bytes []byte        // the data of a Sent or Received entry, cut at maxEntryBytes
	Len   int           // the full length of the data (Bytes may be shorter)
	Event string        // what happened, for Dir == Event
}

// Transcript is a record of one or more peers' traffic, in time order.
type Transcript []Entry

// DefaultShownBytes is how many bytes of each entry String shows.
const DefaultShownBytes = 200

// String renders one line per entry, each entry's bytes quoted and cut at
// DefaultShownBytes.
func (t Transcript) String() string { return t.Render(DefaultShownBytes) }

// Render renders one line per entry, like
//
//	+12.3ms alice -> "hello\n"
//	+13.0ms alice <- "<127.0.0.2> hi"
//	+15.1ms alice -- EOF
//
// with each entry's bytes quoted and cut at maxBytes.
func (t Transcript) Render(maxBytes int) string {
	var b strings.Builder
	for _, e := range t {
		fmt.Fprintf(&b, "%s %s %s ", formatAt(e.At), e.Name, e.Dir)
		if e.Dir == Event {
			b.WriteString(e.Event)
		} else {
			b.WriteString(Quote(e.Bytes, e.Len, maxBytes))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// Quote renders data (of full length total, of which data may be a prefix)
// with %q, cut at limit bytes, and says how many more bytes there were.
func Quote(data []byte, total, limit int) string {
	total = max(total, len(data))
	limit = max(limit, 0)
	if len(data) > limit {
		data = data[:limit]
	}
	s := strconv.Quote(string(data))
	if more := total - len(data); more > 0 {
		s += fmt.Sprintf("...(%d more)", more)
	}
	return s
}

func formatAt(d time.Duration) string {
	if d < 10*time.Second {
		return fmt.Sprintf("+%.1fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("+%.3fs", d.Seconds())
}

// Merge interleaves the transcripts of several peers by wall-clock time and
// re-times every entry from the earliest one, so "+5.0ms" means the same
// moment on every line.
func Merge(ts ...Transcript) Transcript {
	var all Transcript
	for _, t := range ts {
		all = append(all, t...)
	}
	slices.SortStableFunc(all, func(a, b Entry) int { return a.Time.Compare(b.Time) })
	if len(all) > 0 {
		first := all[0].Time
		for i := range all {
			all[i].At = all[i].Time.Sub(first)
		}
	}
	return all
}

const (
	// maxEntryBytes bounds the data kept per entry.
	maxEntryBytes = 64 * 1024
	// maxEntries bounds the entries kept per peer; older ones are dropped.
	maxEntries = 10000
)

// transcriptLog is a bounded record: the latest maxEntries entries, each
// with at most maxEntryBytes of data. Its owner holds the lock.
type transcriptLog struct {
	name    string
	start   time.Time
	entries []Entry
	dropped int
}

func (l *transcriptLog) add(dir Dir, at time.Time, data []byte, event string) {
	e := Entry{Name: l.name, Dir: dir, At: at.Sub(l.start), Time: at, Len: len(data), Event: event}
	if dir != Event {
		e.Bytes = slices.Clone(data[:min(len(data), maxEntryBytes)])
	}
	l.entries = append(l.entries, e)
	if len(l.entries) >= 2*maxEntries { // trim in batches: amortised O(1)
		l.dropped += len(l.entries) - maxEntries
		l.entries = slices.Clone(l.entries[len(l.entries)-maxEntries:])
	}
}

func (l *transcriptLog) snapshot() Transcript {
	keep := l.entries[max(0, len(l.entries)-maxEntries):]
	dropped := l.dropped + len(l.entries) - len(keep)
	out := make(Transcript, 0, len(keep)+1)
	if dropped > 0 {
		first := keep[0]
		out = append(out, Entry{Name: l.name, Dir: Event, At: first.At, Time: first.Time,
			Event: fmt.Sprintf("(%d earlier entries not kept)", dropped)})
	}
	// Entries are immutable once added, so sharing their byte slices is safe.
	return append(out, keep...)
}
