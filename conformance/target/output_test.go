package target

import (
	"strings"
	"testing"
)

func TestTailBufferKeepsTheLastBytes(t *testing.T) {
	tb := newTailBuffer(8)
	for _, w := range []string{"abc", "defgh", "ij", "0123456789", "Z"} {
		_, _ = tb.Write([]byte(w))
	}
	got, dropped := tb.snapshot()
	if got != "3456789Z" || dropped != 13 {
		t.Fatalf("snapshot = %q, dropped %d; want %q, 13", got, dropped, "3456789Z")
	}
}

func TestDescribeOutput(t *testing.T) {
	if got := describeOutput("", 0); got != "it printed nothing on stdout or stderr" {
		t.Errorf("empty: %q", got)
	}
	got := describeOutput("ok line\nbad \x1b[31m\xff\n", 0)
	want := "its output (19 bytes):\n  | ok line\n  | \"bad \\x1b[31m\\xff\""
	if got != want {
		t.Errorf("describeOutput:\n got %q\nwant %q", got, want)
	}
	long := strings.Repeat("0123456789\n", 1000)
	got = describeOutput(long, 500)
	if !strings.HasPrefix(got, "the last 2046 of 11500 bytes of its output:\n  | 0123456789") {
		t.Errorf("long output header: %q", got[:80])
	}
}

func TestParseStat(t *testing.T) {
	line := "4242 (we(ird) name) S 17 4242 4242 0 -1 4194560 1 0 0 0 250 50 7 3 20 0 3 0 123456 1000000 300 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	s, err := parseStat(4242, []byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if s.comm != "we(ird) name" || s.state != 'S' || s.ppid != 17 || s.ticks != 310 ||
		s.threads != 3 || s.startTime != 123456 || s.rssPages != 300 {
		t.Fatalf("parseStat = %+v", s)
	}
	if _, err := parseStat(1, []byte("garbage")); err == nil {
		t.Error("parseStat(garbage): want an error")
	}
}
