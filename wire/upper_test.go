package wire_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"unicode/utf8"

	"pgregory.net/rapid"

	"github.com/sockspec/sockspec/wire"
)

func TestUpper(t *testing.T) {
	cases := []struct {
		c        wire.Case
		in, want string
	}{
		// Full Unicode case mapping, as Python's str.upper (values checked with Python 3.11).
		{wire.Unicode, "hello, world 123", "HELLO, WORLD 123"},
		{wire.Unicode, "ß", "SS"},
		{wire.Unicode, "straße", "STRASSE"},
		{wire.Unicode, "ﬁ", "FI"},
		{wire.Unicode, "ﬀ ﬃ", "FF FFI"},
		{wire.Unicode, "αβγδ ά ς", "ΑΒΓΔ Ά Σ"},
		{wire.Unicode, "\u0390", "\u0399\u0308\u0301"}, // one letter becomes three code points
		{wire.Unicode, "ᾳ ᾀ", "ΑΙ ἈΙ"},
		{wire.Unicode, "\u0345", "Ι"},
		{wire.Unicode, "ı i İ", "I I İ"}, // no Turkish rule: dotless i to I, i to I
		{wire.Unicode, "ŉ ǰ", "ʼN J̌"},
		{wire.Unicode, "ǆ ǅ", "Ǆ Ǆ"},
		{wire.Unicode, "привет", "ПРИВЕТ"},
		{wire.Unicode, "日本語 😀", "日本語 😀"},
		{wire.Unicode, "", ""},
		// Bytes that are not UTF-8 are kept, and the text around them is upper-cased.
		{wire.Unicode, "a\xffb", "A\xffB"},
		{wire.Unicode, "é\xc3", "É\xc3"}, // truncated character at the end
		{wire.Unicode, "\xc3é", "\xc3É"},
		{wire.Unicode, "ß\xe2\x82ß", "SS\xe2\x82SS"},
		{wire.Unicode, "a\xed\xa0\x80b", "A\xed\xa0\x80B"}, // an encoded surrogate is not UTF-8
		{wire.Unicode, "\xc0\xafz", "\xc0\xafZ"},           // overlong
		{wire.Unicode, "\xf4\x90\x80\x80x", "\xf4\x90\x80\x80X"},
		{wire.Unicode, "\ufffd\xff", "\ufffd\xff"}, // a real U+FFFD is text
		// ASCII mode maps only a-z.
		{wire.ASCII, "straße ı é", "STRAßE ı é"},
		{wire.ASCII, "az AZ `{ @[", "AZ AZ `{ @["},
		{wire.ASCII, "a\xffb", "A\xffB"},
	}
	for _, c := range cases {
		got := wire.Upper(c.c, []byte(c.in))
		if string(got) != c.want {
			t.Errorf("Upper(%v, %q): want %q, got %q", c.c, c.in, c.want, got)
		}
		prefixed := wire.AppendUpper(c.c, []byte("pre"), []byte(c.in))
		if string(prefixed) != "pre"+c.want {
			t.Errorf("AppendUpper(%v, \"pre\", %q): want %q, got %q", c.c, c.in, "pre"+c.want, prefixed)
		}
	}
}

func TestParseCase(t *testing.T) {
	for _, c := range []wire.Case{wire.Unicode, wire.ASCII} {
		got, err := wire.ParseCase(c.String())
		if err != nil || got != c {
			t.Errorf("ParseCase(%q): want %v, got %v, %v", c.String(), c, got, err)
		}
	}
	if _, err := wire.ParseCase("Unicode"); err == nil {
		t.Error(`ParseCase("Unicode"): want an error (values are lower case)`)
	}
}

// Upper never panics, keeps every invalid byte, and gives valid UTF-8 exactly for valid input.
func TestUpperAnyBytes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := rapid.SliceOfN(rapid.Byte(), 0, 64).Draw(t, "b")
		for _, c := range []wire.Case{wire.Unicode, wire.ASCII} {
			got := wire.Upper(c, b)
			if utf8.Valid(got) != utf8.Valid(b) {
				t.Logf("Upper(%v, %q) = %q", c, b, got)
				t.Fatal("UTF-8 validity changed")
			}
			if got, want := invalidBytes(got), invalidBytes(b); !bytes.Equal(got, want) {
				t.Logf("Upper(%v, %q): invalid bytes %q became %q", c, b, want, got)
				t.Fatal("invalid bytes not kept")
			}
		}
		if got, want := wire.Upper(wire.ASCII, b), asciiUpper(b); !bytes.Equal(got, want) {
			t.Logf("Upper(ASCII, %q): want %q, got %q", b, want, got)
			t.Fatal("ASCII mode changed more than a-z")
		}
	})
}

// Upper of valid text is the concatenation of each character upper-cased alone: the mapping
// has no context, which is what lets StreamUpper cut a stream at character boundaries.
func TestUpperIsPerCharacter(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.StringOfN(rapid.Rune(), 0, 32, -1).Draw(t, "s")
		var want []byte
		for _, r := range s {
			want = append(want, wire.Upper(wire.Unicode, []byte(string(r)))...)
		}
		if got := wire.Upper(wire.Unicode, []byte(s)); !bytes.Equal(got, want) {
			t.Logf("Upper(%q): whole %q, per character %q", s, got, want)
			t.Fatal("whole differs from per character")
		}
	})
}

func TestStreamUpperSplitCharacter(t *testing.T) {
	var s wire.StreamUpper
	out := s.Append(nil, []byte("a\xc3"))
	if string(out) != "A" || s.Held() != 1 {
		t.Fatalf("first half of ß: want \"A\" and 1 held, got %q and %d", out, s.Held())
	}
	out = s.Append(out, []byte("\x9fb"))
	if string(out) != "ASSB" || s.Held() != 0 {
		t.Fatalf("second half: want \"ASSB\" and 0 held, got %q and %d", out, s.Held())
	}
	// A 4-byte character one byte at a time, then a cut that never completes.
	s = wire.StreamUpper{}
	out = nil
	for _, b := range []byte("😀\xf0\x9f") {
		out = s.Append(out, []byte{b})
	}
	if string(out) != "😀" || s.Held() != 2 {
		t.Fatalf("want the emoji out and 2 bytes held, got %q, %d held", out, s.Held())
	}
	out = s.Flush(out)
	if string(out) != "😀\xf0\x9f" || s.Held() != 0 {
		t.Fatalf("Flush: want the held bytes unchanged, got %q, %d held", out, s.Held())
	}
}

func TestStreamUpperHeldBytesThatTurnOutInvalid(t *testing.T) {
	cases := []struct{ a, b, want string }{
		{"\xe2", "x", "\xe2X"},
		{"\xf0\x90", "x", "\xf0\x90X"},
		{"\xf0\x90", "\x80", "\xf0\x90\x80"}, // still incomplete: held until Flush
		{"\xe0", "\x80", "\xe0\x80"},         // E0 80 can never be valid
		{"\xc3", "\xc3\xa9", "\xc3É"},
		{"\xc3", "", "\xc3"},
	}
	for _, c := range cases {
		for _, mode := range []wire.Case{wire.Unicode, wire.ASCII} {
			var s wire.StreamUpper
			s.Case = mode
			out := s.Append(nil, []byte(c.a))
			out = s.Append(out, []byte(c.b))
			out = s.Flush(out)
			if want := wire.Upper(mode, []byte(c.a+c.b)); string(out) != string(want) {
				t.Errorf("%v: %q then %q: want %q as Upper of the whole, got %q", mode, c.a, c.b, want, out)
			}
			if mode == wire.Unicode && string(out) != c.want {
				t.Errorf("%q then %q: want %q, got %q", c.a, c.b, c.want, out)
			}
		}
	}
}

// Any segmentation of any stream, valid UTF-8 or not, gives Upper of the whole; at most 3
// bytes are ever held.
func TestStreamUpperSegmentationInvariant(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var b []byte
		if rapid.Bool().Draw(t, "valid") {
			b = []byte(rapid.StringOfN(rapid.Rune(), 0, 24, -1).Draw(t, "text"))
		} else {
			b = rapid.SliceOfN(rapid.SampledFrom(interestingBytes), 0, 48).Draw(t, "bytes")
		}
		mode := rapid.SampledFrom([]wire.Case{wire.Unicode, wire.ASCII}).Draw(t, "case")
		cuts := drawCuts(t, len(b))
		s := wire.StreamUpper{Case: mode}
		var out []byte
		for _, p := range split(b, cuts) {
			out = s.Append(out, p)
			if s.Held() > utf8.UTFMax-1 {
				t.Logf("%d bytes held", s.Held())
				t.Fatal("more than 3 bytes held")
			}
		}
		out = s.Flush(out)
		if want := wire.Upper(mode, b); !bytes.Equal(out, want) {
			t.Logf("%v, %q cut at %v: want %q, got %q", mode, b, cuts, want, out)
			t.Fatal("segmented output differs from Upper of the whole")
		}
	})
}

// interestingBytes favours UTF-8 lead and continuation bytes so that random bytes often form
// characters, partial characters and near-misses.
var interestingBytes = []byte{
	'a', 'z', 'A', ' ', '\n', 0x00, 0x7f,
	0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, // continuation bytes
	0xc0, 0xc1, 0xc2, 0xc3, 0xce, 0xdf, // 2-byte leads (C0, C1 never valid)
	0xe0, 0xe1, 0xe2, 0xed, 0xef, // 3-byte leads (E0 and ED restrict the next byte)
	0xf0, 0xf1, 0xf4, 0xf5, 0xff, // 4-byte leads (F5 and up never valid)
}

// drawCuts draws ascending cut offsets within 0..n.
func drawCuts(t *rapid.T, n int) []int {
	if n == 0 {
		return nil
	}
	if rapid.IntRange(0, 9).Draw(t, "bytewise") == 0 {
		cuts := make([]int, n-1)
		for i := range cuts {
			cuts[i] = i + 1
		}
		return cuts
	}
	cuts := rapid.SliceOfN(rapid.IntRange(0, n), 0, n).Draw(t, "cuts")
	slices.Sort(cuts)
	return cuts
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

func ExampleUpper() {
	fmt.Printf("%q\n", wire.Upper(wire.Unicode, []byte("straße \xff ﬁx")))
	fmt.Printf("%q\n", wire.Upper(wire.ASCII, []byte("straße")))
	// Output:
	// "STRASSE \xff FIX"
	// "STRAßE"
}

// Every byte value in every lane of the eight-bytes-at-a-time path, and in the tail: ASCII
// mode maps a-z only, Unicode mode agrees with it on ASCII.
func TestUpperEveryByteInEveryLane(t *testing.T) {
	base := []byte("mixed Case text!!") // 17 bytes: two words of eight and a tail
	for p := range base {
		for v := range 256 {
			b := bytes.Clone(base)
			b[p] = byte(v)
			if got, want := wire.Upper(wire.ASCII, b), asciiUpper(b); !bytes.Equal(got, want) {
				t.Fatalf("Upper(ASCII, %q): want %q, got %q", b, want, got)
			}
			if v < 0x80 {
				if got, want := wire.Upper(wire.Unicode, b), asciiUpper(b); !bytes.Equal(got, want) {
					t.Fatalf("Upper(Unicode, %q): want %q, got %q", b, want, got)
				}
			}
		}
	}
}
