//go:build linux

package chatbench

import "testing"

func TestParseLine(t *testing.T) {
	for _, tc := range []struct {
		line   string
		s, n   int
		t      int64
		wantOK bool
	}{
		{"<127.0.0.1> s=12 n=3 t=123456 padding-padding\n", 12, 3, 123456, true},
		{"s=0 n=0 t=0 x\n", 0, 0, 0, true},
		{"<127.0.0.1> s=12 n=3 t=\n", 0, 0, 0, false},
		{"<127.0.0.1> s=x n=3 t=1 p\n", 0, 0, 0, false},
		{"<127.0.0.1> hello\n", 0, 0, 0, false},
	} {
		s, n, ts, ok := parseLine([]byte(tc.line))
		if ok != tc.wantOK || ok && (s != tc.s || n != tc.n || ts != tc.t) {
			t.Errorf("parseLine(%q) = %d, %d, %d, %v; want %d, %d, %d, %v", tc.line, s, n, ts, ok, tc.s, tc.n, tc.t, tc.wantOK)
		}
	}
	if a := testing.AllocsPerRun(100, func() { parseLine([]byte("<127.0.0.1> s=12 n=3 t=123456 padding\n")) }); a != 0 {
		t.Errorf("parseLine allocates %v times per call; want 0", a)
	}
}
