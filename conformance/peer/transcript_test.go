package peer

import (
	"strings"
	"testing"
	"time"
)

func TestMergeOrdersByTimeAndRetimes(t *testing.T) {
	t0 := time.Now()
	alice := Transcript{
		{Name: "alice", Dir: Sent, At: 0, Time: t0.Add(10 * time.Millisecond), Bytes: []byte("hi\n"), Len: 3},
	}
	bob := Transcript{
		{Name: "bob", Dir: Event, At: 0, Time: t0, Event: "connected"},
		{Name: "bob", Dir: Received, At: 12 * time.Millisecond, Time: t0.Add(12 * time.Millisecond), Bytes: []byte("<alice> hi\n"), Len: 11},
	}
	got := Merge(alice, bob).String()
	want := `+0.0ms bob -- connected
+10.0ms alice -> "hi\n"
+12.0ms bob <- "<alice> hi\n"
`
	if got != want {
		t.Errorf("Merge:\n%s\nwant:\n%s", got, want)
	}
}

func TestQuote(t *testing.T) {
	for _, tc := range []struct {
		data         string
		total, limit int
		want         string
	}{
		{"abc", 3, 200, `"abc"`},
		{"abcdef", 6, 2, `"ab"...(4 more)`},
		{"ab", 100, 200, `"ab"...(98 more)`},
		{"\x00\xff", 2, 200, `"\x00\xff"`},
	} {
		if got := Quote([]byte(tc.data), tc.total, tc.limit); got != tc.want {
			t.Errorf("Quote(%q, %d, %d) = %s, want %s", tc.data, tc.total, tc.limit, got, tc.want)
		}
	}
}

func TestTranscriptLogIsBounded(t *testing.T) {
	l := transcriptLog{name: "x", start: time.Now()}
	big := make([]byte, 2*maxEntryBytes)
	for i := range 3*maxEntries + 5 {
		if i == 0 {
			l.add(Sent, time.Now(), big, "")
		} else {
			l.add(Event, time.Now(), nil, "tick")
		}
	}
	if len(l.entries) >= 2*maxEntries {
		t.Fatalf("%d entries kept, want fewer than %d", len(l.entries), 2*maxEntries)
	}
	snap := l.snapshot()
	if len(snap) != maxEntries+1 || !strings.Contains(snap[0].Event, "(20005 earlier entries not kept)") {
		t.Fatalf("snapshot: %d entries, first %q", len(snap), snap[0].Event)
	}
	l2 := transcriptLog{name: "y", start: time.Now()}
	l2.add(Sent, time.Now(), big, "")
	if e := l2.snapshot()[0]; len(e.Bytes) != maxEntryBytes || e.Len != len(big) {
		t.Errorf("entry keeps %d of %d bytes, want %d", len(e.Bytes), e.Len, maxEntryBytes)
	}
}
