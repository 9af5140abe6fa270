package wirefuzz

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"unicode/utf8"

	"github.com/sockspec/sockspec/wire"
)

// pieces cuts data by seed: a low byte of 0 means one byte at a time; otherwise pieces of 0
// to 1+seed%64 bytes (empty pieces included) drawn from a generator seeded with seed.
func pieces(data []byte, seed uint64) [][]byte {
	if seed&0xff == 0 {
		out := make([][]byte, len(data))
		for i := range data {
			out[i] = data[i : i+1]
		}
		return out
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	maxPiece := 1 + int(seed%64)
	var out [][]byte
	for len(data) > 0 {
		n := min(r.IntN(maxPiece+1), len(data))
		out = append(out, data[:n])
		data = data[n:]
	}
	return out
}

// run is what a decoder made of a stream.
type run struct {
	msgs    [][]byte
	err     error
	pending int // Pending after the last Feed
}

// decode feeds ps in order, stops at the first error, and fails t if Pending ever exceeds
// bound or a broken decoder does not keep returning its error.
func decode(t *testing.T, d wire.Decoder, ps [][]byte, bound int) run {
	t.Helper()
	var r run
	emit := func(m []byte) error {
		r.msgs = append(r.msgs, bytes.Clone(m))
		return nil
	}
	for _, p := range ps {
		err := d.Feed(p, emit)
		if d.Pending() > bound {
			t.Fatalf("Pending %d is over the bound %d after Feed(%s)", d.Pending(), bound, wire.Quote(p, 40))
		}
		if err != nil {
			if !errors.Is(err, wire.ErrTooLong) && !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("error matches neither ErrTooLong nor ErrMalformed: %v", err)
			}
			n := len(r.msgs)
			if again := d.Feed([]byte("x\n"), emit); again != err || len(r.msgs) != n {
				t.Fatalf("broken decoder: Feed again gave %v (want %v) and %d more messages", again, err, len(r.msgs)-n)
			}
			r.err = err
			break
		}
	}
	r.pending = d.Pending()
	return r
}

// compare fails t unless whole and split decoded the same messages and errors (sameErr).
func compare(t *testing.T, data []byte, whole, split run, sameErr func(a, b error) bool) {
	t.Helper()
	if len(whole.msgs) != len(split.msgs) {
		t.Fatalf("%s: whole gave %d messages, split %d", wire.Quote(data, 100), len(whole.msgs), len(split.msgs))
	}
	for i := range whole.msgs {
		if !bytes.Equal(whole.msgs[i], split.msgs[i]) {
			t.Fatalf("%s: message %d whole %s, split %s", wire.Quote(data, 100), i, wire.Quote(whole.msgs[i], 60), wire.Quote(split.msgs[i], 60))
		}
	}
	if !sameErr(whole.err, split.err) {
		t.Fatalf("%s: whole gave error %v, split %v", wire.Quote(data, 100), whole.err, split.err)
	}
	if whole.err == nil && whole.pending != split.pending {
		t.Fatalf("%s: whole leaves %d pending, split %d", wire.Quote(data, 100), whole.pending, split.pending)
	}
}

func exactErr(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Error() == b.Error()
}

// lineErr: a line's LimitError.Length counts the bytes seen so far, which depends on the
// segmentation (documented); the limit does not.
func lineErr(a, b error) bool {
	var la, lb *wire.LimitError
	if errors.As(a, &la) && errors.As(b, &lb) {
		return la.Limit == lb.Limit && la.Length > la.Limit && lb.Length > lb.Limit
	}
	return exactErr(a, b)
}

// sameMsgs fails t unless got equals want.
func sameMsgs(t *testing.T, what string, want, got [][]byte) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%s: want %d messages, got %d", what, len(want), len(got))
	}
	for i := range want {
		if !bytes.Equal(want[i], got[i]) {
			t.Fatalf("%s: message %d: want %s, got %s", what, i, wire.Quote(want[i], 60), wire.Quote(got[i], 60))
		}
	}
}

func asciiUpper(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// invalidBytes lists the bytes of b that are not part of a valid UTF-8 character.
func invalidBytes(b []byte) []byte {
	var out []byte
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			out = append(out, b[0])
		}
		b = b[n:]
	}
	return out
}
