package wirefuzz

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"github.com/sockspec/sockspec/wire"
)

// Knobs come from the seed's upper bits so that small limits (reached often) are tried; its
// low bits choose the segmentation (see pieces).

func FuzzLines(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		max := 1 + int(seed>>8%64)
		trimCR := seed>>16&1 == 1
		newDec := func() wire.Decoder { return &wire.LineDecoder{Max: max, TrimCR: trimCR} }
		whole := decode(t, newDec(), [][]byte{data}, max)
		compare(t, data, whole, decode(t, newDec(), pieces(data, seed), max), lineErr)

		var again []byte
		for _, m := range whole.msgs {
			if bytes.IndexByte(m, '\n') >= 0 || len(m) > max {
				t.Fatalf("line %s holds a newline or is over the limit %d", wire.Quote(m, 60), max)
			}
			again = wire.AppendLine(again, m)
		}
		if !trimCR && !bytes.HasPrefix(data, again) {
			t.Fatalf("re-encoded lines %s are not a prefix of the input", wire.Quote(again, 100))
		}
		want := whole.msgs
		if trimCR { // "a\r\r\n" gives "a\r", which re-decodes as "a"
			want = nil
			for _, m := range whole.msgs {
				want = append(want, bytes.TrimSuffix(m, []byte("\r")))
			}
		}
		back := decode(t, newDec(), [][]byte{again}, max)
		if back.err != nil || back.pending != 0 {
			t.Fatalf("re-decoding the decoded lines: error %v, %d pending", back.err, back.pending)
		}
		sameMsgs(t, "re-decoding the decoded lines", want, back.msgs)
	})
}

func FuzzHeader64(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		size := []int{64, 1, 2, 3, 8}[seed>>8%5]
		max := int64(1 + seed>>16%64)
		bound := size + int(max)
		newDec := func() wire.Decoder { return &wire.HeaderDecoder{Size: size, Max: max} }
		whole := decode(t, newDec(), [][]byte{data}, bound)
		compare(t, data, whole, decode(t, newDec(), pieces(data, seed), bound), exactErr)

		var again []byte
		for _, m := range whole.msgs {
			var err error
			if again, err = wire.AppendHeader(again, size, m); err != nil {
				t.Fatalf("a decoded message of %d bytes does not re-encode: %v", len(m), err)
			}
		}
		back := decode(t, newDec(), [][]byte{again}, bound)
		if back.err != nil || back.pending != 0 {
			t.Fatalf("re-decoding the decoded messages: error %v, %d pending", back.err, back.pending)
		}
		sameMsgs(t, "re-decoding the decoded messages", whole.msgs, back.msgs)
	})
}

func FuzzBlock32(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		max := int64(1 + seed>>8%64)
		bound := 4 + int(max)
		newDec := func() wire.Decoder { return &wire.BlockDecoder{Max: max} }
		whole := decode(t, newDec(), [][]byte{data}, bound)
		compare(t, data, whole, decode(t, newDec(), pieces(data, seed), bound), exactErr)

		var again []byte
		for _, m := range whole.msgs {
			again = wire.AppendBlock(again, m)
		}
		if !bytes.HasPrefix(data, again) {
			t.Fatalf("re-encoded blocks %s are not a prefix of the input", wire.Quote(again, 100))
		}
	})
}

func FuzzChunks(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		max := 1 + int(seed>>8%64)
		d := &wire.ChunkDecoder{Max: max}
		var joined []byte
		for _, p := range pieces(data, seed) {
			var fromFeed []byte
			err := d.Feed(p, func(m []byte) error {
				if len(m) == 0 || len(m) > max {
					t.Fatalf("a chunk of %d bytes (max %d)", len(m), max)
				}
				fromFeed = append(fromFeed, m...)
				return nil
			})
			if err != nil || !bytes.Equal(fromFeed, p) || d.Pending() != 0 {
				t.Fatalf("Feed(%s) emitted %s, error %v, Pending %d", wire.Quote(p, 60), wire.Quote(fromFeed, 60), err, d.Pending())
			}
			joined = append(joined, fromFeed...)
		}
		if !bytes.Equal(joined, data) {
			t.Fatalf("bytes changed: %s became %s", wire.Quote(data, 60), wire.Quote(joined, 60))
		}
		n := 0
		if err := (&wire.ChunkDecoder{Max: max}).Feed(data, func([]byte) error { n++; return nil }); err != nil || n != (len(data)+max-1)/max {
			t.Fatalf("whole input of %d bytes: %d chunks of at most %d, error %v", len(data), n, max, err)
		}
	})
}

func FuzzUpper(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range []wire.Case{wire.Unicode, wire.ASCII} {
			got := wire.Upper(c, data)
			if utf8.Valid(got) != utf8.Valid(data) {
				t.Fatalf("Upper(%v, %q) = %q: UTF-8 validity changed", c, data, got)
			}
			if want, have := invalidBytes(data), invalidBytes(got); !bytes.Equal(want, have) {
				t.Fatalf("Upper(%v, %q): invalid bytes %q became %q", c, data, want, have)
			}
			if pre := wire.AppendUpper(c, []byte("pre"), data); !bytes.Equal(pre, append([]byte("pre"), got...)) {
				t.Fatalf("AppendUpper(%v, \"pre\", %q) = %q, Upper gave %q", c, data, pre, got)
			}
		}
		ascii := wire.Upper(wire.ASCII, data)
		if want := asciiUpper(data); !bytes.Equal(ascii, want) {
			t.Fatalf("Upper(ASCII, %q): want %q, got %q", data, want, ascii)
		}
		uni := wire.Upper(wire.Unicode, data)
		if isASCII(data) && !bytes.Equal(uni, ascii) {
			t.Fatalf("Upper(Unicode, %q) of ASCII: want %q, got %q", data, ascii, uni)
		}
		// No context: upper-casing each character (or invalid byte) alone gives the same.
		var each []byte
		for rest := data; len(rest) > 0; {
			_, n := utf8.DecodeRune(rest)
			each = append(each, wire.Upper(wire.Unicode, rest[:n])...)
			rest = rest[n:]
		}
		if !bytes.Equal(each, uni) {
			t.Fatalf("Upper(%q): whole %q, character by character %q", data, uni, each)
		}
	})
}

func FuzzStreamUpper(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		for _, c := range []wire.Case{wire.Unicode, wire.ASCII} {
			s := wire.StreamUpper{Case: c}
			var out []byte
			for _, p := range pieces(data, seed) {
				out = s.Append(out, p)
				if s.Held() > utf8.UTFMax-1 {
					t.Fatalf("%d bytes held", s.Held())
				}
			}
			out = s.Flush(out)
			if want := wire.Upper(c, data); !bytes.Equal(out, want) {
				t.Fatalf("%v, %q split by seed %d: want %q as Upper of the whole, got %q", c, data, seed, want, out)
			}
		}
	})
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
