package wire_test

import (
	"bytes"
	"errors"
	"testing"

	"pgregory.net/rapid"

	"github.com/sockspec/sockspec/wire"
)

// Properties of every codec, checked with rapid:
//   - round trip: decode(encode(msgs)) == msgs, whole, one byte at a time, and under a drawn
//     segmentation;
//   - any bytes: whatever the input and its segmentation, the decoder emits messages or an
//     error, never panics, and Pending never exceeds its bound (header size + limit), so no
//     input makes it allocate more;
//   - segmentation invariance: the same messages and the same error whatever the split.

// checkDecode decodes stream whole, one byte at a time and split at drawn cuts. It fails unless
// all three give the same messages and the same error, and Pending stays within bound. sameErr
// says whether two errors count as the same.
func checkDecode(t *rapid.T, newDec func() wire.Decoder, stream []byte, bound int, sameErr func(a, b error) bool) decoded {
	cuts := drawCuts(t, len(stream))
	whole := decodePieces(newDec(), [][]byte{stream})
	for name, pieces := range map[string][][]byte{"bytewise": bytewise(stream), "drawn cuts": split(stream, cuts)} {
		got := decodePieces(newDec(), pieces)
		if diff := sameMessages(whole.msgs, got.msgs); diff != "" {
			t.Logf("%s of %s (cuts %v): whole vs split: %s", name, wire.Quote(stream, 200), cuts, diff)
			t.Fatal("messages depend on the segmentation")
		}
		if !sameErr(whole.err, got.err) {
			t.Logf("%s of %s (cuts %v): whole gave error %v, split gave %v", name, wire.Quote(stream, 200), cuts, whole.err, got.err)
			t.Fatal("error depends on the segmentation")
		}
		if got.maxPending > bound || got.pending > bound {
			t.Logf("%s of %s: Pending reached %d (last %d), bound %d", name, wire.Quote(stream, 200), got.maxPending, got.pending, bound)
			t.Fatal("Pending over its bound")
		}
	}
	if whole.err != nil && errClass(whole.err) != "too long" && errClass(whole.err) != "malformed" {
		t.Logf("error %v", whole.err)
		t.Fatal("an error that is neither ErrTooLong nor ErrMalformed")
	}
	return whole
}

// exactErr: the same error text (declared lengths and header bytes do not depend on the split).
func exactErr(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Error() == b.Error()
}

// lineErr: a line's LimitError counts the bytes seen so far, which depends on how they arrived
// (documented on LimitError.Length); the limit and the class do not.
func lineErr(a, b error) bool {
	var la, lb *wire.LimitError
	if errors.As(a, &la) && errors.As(b, &lb) {
		return la.Limit == lb.Limit && la.Length > la.Limit && lb.Length > lb.Limit
	}
	return exactErr(a, b)
}

// drawMessages draws up to 8 messages of at most maxLen bytes from alphabet.
func drawMessages(t *rapid.T, maxLen int, alphabet []byte) [][]byte {
	return rapid.SliceOfN(rapid.SliceOfN(rapid.SampledFrom(alphabet), 0, maxLen), 0, 8).Draw(t, "msgs")
}

var anyByte = func() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()

func TestLinesRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		max := rapid.IntRange(1, 24).Draw(t, "max")
		trimCR := rapid.Bool().Draw(t, "trimCR")
		var want [][]byte
		for _, m := range drawMessages(t, max, []byte("ab \r\x00\xff")) {
			m = bytes.ReplaceAll(m, []byte("\n"), nil)
			if trimCR {
				m = bytes.TrimRight(m, "\r")
			}
			want = append(want, m)
		}
		var stream []byte
		for _, m := range want {
			stream = wire.AppendLine(stream, m)
		}
		got := checkDecode(t, func() wire.Decoder { return &wire.LineDecoder{Max: max, TrimCR: trimCR} }, stream, max, lineErr)
		if diff := sameMessages(want, got.msgs); diff != "" || got.err != nil || got.pending != 0 {
			t.Logf("%s: %s; error %v; Pending %d", wire.Quote(stream, 200), diff, got.err, got.pending)
			t.Fatal("round trip failed")
		}
	})
}

func TestLinesAnyBytes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		max := rapid.IntRange(1, 24).Draw(t, "max")
		trimCR := rapid.Bool().Draw(t, "trimCR")
		stream := rapid.SliceOfN(rapid.SampledFrom([]byte("a\n\r\x00\xff")), 0, 100).Draw(t, "stream")
		got := checkDecode(t, func() wire.Decoder { return &wire.LineDecoder{Max: max, TrimCR: trimCR} }, stream, max, lineErr)
		// Without TrimCR the framing is exact: re-encoding the lines gives back the input up to
		// the first unfinished or over-long line.
		if !trimCR {
			var again []byte
			for _, m := range got.msgs {
				again = wire.AppendLine(again, m)
			}
			if !bytes.HasPrefix(stream, again) {
				t.Logf("%s re-encoded as %s", wire.Quote(stream, 200), wire.Quote(again, 200))
				t.Fatal("re-encoding is not a prefix of the input")
			}
		}
	})
}

// drawHeaderCodec draws a header size (64, or a small one so that limits and digit counts are
// reached) and a limit.
func drawHeaderCodec(t *rapid.T) (size int, max int64) {
	size = rapid.SampledFrom([]int{64, 1, 2, 3, 8}).Draw(t, "size")
	return size, int64(rapid.IntRange(1, 40).Draw(t, "max"))
}

func TestHeader64RoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		size, max := drawHeaderCodec(t)
		maxLen := int(max)
		if size == 1 {
			maxLen = min(maxLen, 9) // one digit
		}
		want := drawMessages(t, maxLen, anyByte)
		var stream []byte
		for _, m := range want {
			var err error
			if stream, err = wire.AppendHeader(stream, size, m); err != nil {
				t.Fatalf("AppendHeader: %v", err)
			}
		}
		newDec := func() wire.Decoder { return &wire.HeaderDecoder{Size: size, Max: max} }
		got := checkDecode(t, newDec, stream, size+int(max), exactErr)
		if diff := sameMessages(want, got.msgs); diff != "" || got.err != nil || got.pending != 0 {
			t.Logf("%s: %s; error %v; Pending %d", wire.Quote(stream, 200), diff, got.err, got.pending)
			t.Fatal("round trip failed")
		}
	})
}

func TestHeader64AnyBytes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		size, max := drawHeaderCodec(t)
		// Mostly header-like bytes, with valid frames mixed in so that decoding goes deep.
		var stream []byte
		for range rapid.IntRange(0, 6).Draw(t, "parts") {
			if rapid.Bool().Draw(t, "valid") {
				n := rapid.IntRange(0, int(max)+2).Draw(t, "length")
				if frame, err := wire.AppendHeader(nil, size, bytes.Repeat([]byte("x"), n)); err == nil {
					stream = append(stream, frame...)
				}
				continue
			}
			stream = append(stream, rapid.SliceOfN(rapid.SampledFrom([]byte("0159 +-\tx\x00")), 0, 2*size).Draw(t, "noise")...)
		}
		newDec := func() wire.Decoder { return &wire.HeaderDecoder{Size: size, Max: max} }
		got := checkDecode(t, newDec, stream, size+int(max), exactErr)
		// What decoded encodes and decodes again to the same messages.
		var again []byte
		for _, m := range got.msgs {
			again, _ = wire.AppendHeader(again, size, m)
		}
		back := decodePieces(newDec(), [][]byte{again})
		if diff := sameMessages(got.msgs, back.msgs); diff != "" || back.err != nil {
			t.Logf("%s: re-decoding gave %s, error %v", wire.Quote(stream, 200), diff, back.err)
			t.Fatal("decoded messages do not round-trip")
		}
	})
}

func TestBlock32RoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		max := rapid.IntRange(1, 40).Draw(t, "max")
		want := drawMessages(t, max, anyByte)
		var stream []byte
		for _, m := range want {
			stream = wire.AppendBlock(stream, m)
		}
		newDec := func() wire.Decoder { return &wire.BlockDecoder{Max: int64(max)} }
		got := checkDecode(t, newDec, stream, 4+max, exactErr)
		if diff := sameMessages(want, got.msgs); diff != "" || got.err != nil || got.pending != 0 {
			t.Logf("%s: %s; error %v; Pending %d", wire.Quote(stream, 200), diff, got.err, got.pending)
			t.Fatal("round trip failed")
		}
	})
}

func TestBlock32AnyBytes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		max := rapid.IntRange(1, 40).Draw(t, "max")
		// Small byte values make plausible lengths; 0xff makes huge ones.
		stream := rapid.SliceOfN(rapid.SampledFrom([]byte{0, 0, 0, 1, 2, 5, 20, 40, 41, 0xff}), 0, 120).Draw(t, "stream")
		newDec := func() wire.Decoder { return &wire.BlockDecoder{Max: int64(max)} }
		got := checkDecode(t, newDec, stream, 4+max, exactErr)
		// The framing is exact: re-encoding gives back a prefix of the input.
		var again []byte
		for _, m := range got.msgs {
			again = wire.AppendBlock(again, m)
		}
		if !bytes.HasPrefix(stream, again) {
			t.Logf("%s re-encoded as %s", wire.Quote(stream, 200), wire.Quote(again, 200))
			t.Fatal("re-encoding is not a prefix of the input")
		}
	})
}

// Raw chunks have no boundaries: only the bytes are invariant, and each chunk is 1..Max bytes
// taken from within one Feed.
func TestChunksAnyBytes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		max := rapid.IntRange(1, 16).Draw(t, "max")
		stream := rapid.SliceOfN(rapid.Byte(), 0, 100).Draw(t, "stream")
		cuts := drawCuts(t, len(stream))
		d := &wire.ChunkDecoder{Max: max}
		var joined []byte
		for _, p := range split(stream, cuts) {
			var fromFeed []byte
			err := d.Feed(p, func(m []byte) error {
				if len(m) == 0 || len(m) > max {
					t.Logf("chunk of %d bytes, max %d", len(m), max)
					t.Fatal("chunk size out of range")
				}
				fromFeed = append(fromFeed, m...)
				return nil
			})
			if err != nil || !bytes.Equal(fromFeed, p) || d.Pending() != 0 {
				t.Logf("Feed(%q) emitted %q, error %v, Pending %d", p, fromFeed, err, d.Pending())
				t.Fatal("a Feed did not pass its bytes on")
			}
			joined = append(joined, fromFeed...)
		}
		if !bytes.Equal(joined, stream) {
			t.Fatal("bytes changed")
		}
	})
}
