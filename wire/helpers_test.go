package wire_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sockspec/sockspec/wire"
)

// decoded is what a decoder made of a whole stream: the messages (copied), the first error,
// and the largest Pending seen after any Feed.
type decoded struct {
	msgs       [][]byte
	err        error
	maxPending int
	pending    int // Pending after the last Feed
}

// decodePieces feeds pieces in order and stops at the first error. It also checks that a
// broken decoder keeps returning its error and emits nothing more.
func decodePieces(d wire.Decoder, pieces [][]byte) decoded {
	var out decoded
	emit := func(m []byte) error {
		out.msgs = append(out.msgs, bytes.Clone(m))
		return nil
	}
	for _, p := range pieces {
		if err := d.Feed(p, emit); err != nil {
			out.err = err
			n := len(out.msgs)
			if again := d.Feed([]byte("more\n"), emit); again != err || len(out.msgs) != n {
				out.err = fmt.Errorf("decoder not broken after %v: Feed again gave %v and %d more messages", err, again, len(out.msgs)-n)
			}
			break
		}
		out.maxPending = max(out.maxPending, d.Pending())
	}
	out.pending = d.Pending()
	return out
}

// split cuts b at the given offsets (ascending, each within 0..len(b)).
func split(b []byte, cuts []int) [][]byte {
	var pieces [][]byte
	prev := 0
	for _, c := range cuts {
		pieces = append(pieces, b[prev:c])
		prev = c
	}
	return append(pieces, b[prev:])
}

// bytewise cuts b into one-byte pieces.
func bytewise(b []byte) [][]byte {
	pieces := make([][]byte, len(b))
	for i := range b {
		pieces[i] = b[i : i+1]
	}
	return pieces
}

// sameMessages reports how two message lists differ, or "" when they are equal.
func sameMessages(want, got [][]byte) string {
	if len(want) != len(got) {
		return fmt.Sprintf("want %d messages %s, got %d %s", len(want), showMsgs(want), len(got), showMsgs(got))
	}
	for i := range want {
		if !bytes.Equal(want[i], got[i]) {
			return fmt.Sprintf("message %d: want %s, got %s", i, wire.Quote(want[i], 60), wire.Quote(got[i], 60))
		}
	}
	return ""
}

func showMsgs(ms [][]byte) string {
	var parts []string
	for i, m := range ms {
		if i == 4 {
			parts = append(parts, fmt.Sprintf("...(%d more)", len(ms)-i))
			break
		}
		parts = append(parts, wire.Quote(m, 30))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// errClass names the kind of a decode error so that runs can be compared.
func errClass(err error) string {
	switch {
	case err == nil:
		return "none"
	case errors.Is(err, wire.ErrTooLong):
		return "too long"
	case errors.Is(err, wire.ErrMalformed):
		return "malformed"
	}
	return "other: " + err.Error()
}

// mustFeed feeds p and fails the test on error, returning copies of the emitted messages.
func mustFeed(t *testing.T, d wire.Decoder, p []byte) [][]byte {
	t.Helper()
	var msgs [][]byte
	if err := d.Feed(p, func(m []byte) error { msgs = append(msgs, bytes.Clone(m)); return nil }); err != nil {
		t.Fatalf("Feed(%s): unexpected error: %v", wire.Quote(p, 60), err)
	}
	return msgs
}

// msgs builds a message list from strings.
func msgs(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// header builds a size-byte header: s padded with spaces.
func header(s string, size int) string {
	return s + strings.Repeat(" ", size-len(s))
}

// checkSegmentations decodes stream whole, one byte at a time, and split at every single
// offset, and wants the same messages and error class each time.
func checkSegmentations(t *testing.T, newDec func() wire.Decoder, stream []byte, want [][]byte, wantErr string) {
	t.Helper()
	runs := map[string][][]byte{"whole": {stream}, "bytewise": bytewise(stream)}
	for i := 1; i < len(stream); i++ {
		runs[fmt.Sprintf("cut at %d", i)] = split(stream, []int{i})
	}
	coalesced := append(append([]byte(nil), stream...), stream...)
	for name, pieces := range runs {
		got := decodePieces(newDec(), pieces)
		if diff := sameMessages(want, got.msgs); diff != "" {
			t.Errorf("%s of %s: %s", name, wire.Quote(stream, 60), diff)
		}
		if c := errClass(got.err); c != wantErr {
			t.Errorf("%s of %s: want error %q, got %q (%v)", name, wire.Quote(stream, 60), wantErr, c, got.err)
		}
	}
	if whole := decodePieces(newDec(), [][]byte{stream}); whole.err == nil && whole.pending == 0 {
		// Two copies coalesced in one piece decode to the messages twice.
		got := decodePieces(newDec(), [][]byte{coalesced})
		if diff := sameMessages(append(append([][]byte(nil), want...), want...), got.msgs); diff != "" {
			t.Errorf("coalesced twice %s: %s", wire.Quote(stream, 60), diff)
		}
	}
}
