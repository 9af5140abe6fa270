package faulty

import "testing"

func TestHttptimeBugsStop(t *testing.T) {
	if _, err := NewHttptime("no-such-bug"); err == nil {
		t.Error("NewHttptime accepted an unknown bug")
	}
	for bug := range HttptimeBugs {
		t.Run(bug, func(t *testing.T) {
			s, err := NewHttptime(bug)
			if err != nil {
				t.Fatal(err)
			}
			serveAndStop(t, s, "GARBAGE\r\n\r\n")
		})
	}
}
