package wire_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sockspec/sockspec/wire"
)

func TestErrorsIs(t *testing.T) {
	he := error(&wire.HeaderError{Header: []byte("x"), Reason: "bad"})
	le := error(&wire.LimitError{Length: 10, Limit: 5})
	wrapped := fmt.Errorf("reading: %w", le)
	checks := []struct {
		err    error
		target error
		want   bool
	}{
		{he, wire.ErrMalformed, true},
		{he, wire.ErrTooLong, false},
		{le, wire.ErrTooLong, true},
		{le, wire.ErrMalformed, false},
		{wrapped, wire.ErrTooLong, true},
		{fmt.Errorf("x: %w", he), wire.ErrMalformed, true},
	}
	for _, c := range checks {
		if got := errors.Is(c.err, c.target); got != c.want {
			t.Errorf("errors.Is(%v, %v): want %v, got %v", c.err, c.target, c.want, got)
		}
	}
	if got := le.Error(); got != "message length 10 is over the limit of 5 bytes" {
		t.Errorf("LimitError text: got %q", got)
	}
}

func TestHeaderErrorTruncatesLongHeaders(t *testing.T) {
	e := &wire.HeaderError{Header: []byte(strings.Repeat("a", 100)), Reason: "bad"}
	got := e.Error()
	want := `malformed header "` + strings.Repeat("a", 80) + `"...(20 more bytes): bad`
	if got != want {
		t.Errorf("want %q, got %q", want, got)
	}
}

func TestQuote(t *testing.T) {
	cases := []struct {
		in   string
		max  int
		want string
	}{
		{"hello", 10, `"hello"`},
		{"hello", 5, `"hello"`},
		{"hello", 4, `"hell"...(1 more bytes)`},
		{"hello", 0, `"hello"`}, // 0: no limit
		{"hello", -1, `"hello"`},
		{"", 3, `""`},
		{"a\x00\n\xff", 10, `"a\x00\n\xff"`},
		{"\t\"q\"", 10, `"\t\"q\""`},
		{"é", 10, `"é"`},
		{"éa", 1, `"\xc3"...(2 more bytes)`}, // cut inside a character: the byte shows escaped
	}
	for _, c := range cases {
		if got := wire.Quote([]byte(c.in), c.max); got != c.want {
			t.Errorf("Quote(%q, %d): want %s, got %s", c.in, c.max, c.want, got)
		}
	}
}
