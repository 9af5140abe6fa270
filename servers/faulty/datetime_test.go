package faulty

import "testing"

func TestDatetimeBugsStop(t *testing.T) {
	if _, err := NewDatetime("no-such-bug"); err == nil {
		t.Error("NewDatetime accepted an unknown bug")
	}
	for bug := range DatetimeBugs {
		t.Run(bug, func(t *testing.T) {
			s, err := NewDatetime(bug)
			if err != nil {
				t.Fatal(err)
			}
			serveAndStop(t, s, "Date")
		})
	}
}
