package wire

import (
	"encoding/binary"
	"fmt"
	"slices"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// Case is an upper-casing rule (the `case` knob of PROTOCOLS.md).
type Case int

const (
	// Unicode is full Unicode case mapping, as Python's str.upper: "ß" becomes "SS".
	Unicode Case = iota
	// ASCII maps only a-z; every other byte is kept as it is.
	ASCII
)

// ParseCase reads a `case` knob value.
func ParseCase(s string) (Case, error) {
	switch s {
	case "unicode":
		return Unicode, nil
	case "ascii":
		return ASCII, nil
	}
	return 0, fmt.Errorf("case must be unicode or ascii, not %q", s)
}

func (c Case) String() string {
	if c == ASCII {
		return "ascii"
	}
	return "unicode"
}

// Upper returns the upper-cased form of b under rule c.
//
// Bytes that are not UTF-8 are kept unchanged, byte for byte, and the valid text around them
// is upper-cased: the reply never panics, never grows a replacement character, and shows the
// client exactly which bytes were not text. (Python's decode('utf-8') would raise instead.)
func Upper(c Case, b []byte) []byte {
	return AppendUpper(c, make([]byte, 0, len(b)), b)
}

// AppendUpper appends the upper-cased form of b to dst.
func AppendUpper(c Case, dst, b []byte) []byte {
	if c == ASCII {
		return appendUpperASCII(dst, b)
	}
	for len(b) > 0 {
		// Fast path: a run of ASCII.
		i := asciiPrefix(b)
		dst = appendUpperASCII(dst, b[:i])
		b = b[i:]
		if len(b) == 0 {
			break
		}
		// A run of valid multi-byte text (ASCII included) up to the next invalid byte.
		j := 0
		for j < len(b) {
			r, n := utf8.DecodeRune(b[j:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			j += n
		}
		if j > 0 {
			dst = append(dst, upperCaser().Bytes(b[:j])...)
			b = b[j:]
			continue
		}
		dst = append(dst, b[0]) // not UTF-8: kept as is
		b = b[1:]
	}
	return dst
}

// upperCaser returns a fresh caser: cases.Caser keeps state and is not safe for concurrent use.
func upperCaser() cases.Caser { return cases.Upper(language.Und) }

func appendUpperASCII(dst, b []byte) []byte {
	n := len(dst)
	dst = slices.Grow(dst, len(b))[:n+len(b)]
	out := dst[n:]
	// Eight bytes at a time (SWAR): in each byte's low 7 bits h, h+0x1f carries into the top
	// bit from 'a' up and h+0x05 from 'z'+1 up (neither carries into the next byte); a byte
	// with its own top bit set is not a letter. Letters lose 0x20.
	const ones, tops = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		h := x &^ tops
		fromA := h + ones*(0x80-'a')
		pastZ := h + ones*(0x80-'z'-1)
		letters := fromA &^ pastZ &^ x & tops
		binary.LittleEndian.PutUint64(out[i:], x-letters>>2)
	}
	for ; i < len(b); i++ {
		c := b[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		out[i] = c
	}
	return dst
}

// asciiPrefix is the length of b's leading run of ASCII bytes.
func asciiPrefix(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 != 0 {
			break
		}
	}
	for i < len(b) && b[i] < utf8.RuneSelf {
		i++
	}
	return i
}

// StreamUpper upper-cases a stream given in chunks. A multi-byte character split across two
// chunks is held back (at most 3 bytes) until its end arrives, so it is upper-cased whole.
type StreamUpper struct {
	Case    Case
	pending [utf8.UTFMax]byte
	n       int
}

// Append appends the upper-cased form of the chunk p to dst, holding back an incomplete
// character at its end.
func (s *StreamUpper) Append(dst, p []byte) []byte {
	if s.Case == ASCII {
		return appendUpperASCII(dst, p)
	}
	if s.n > 0 {
		// Complete the held character with as few bytes of p as it needs.
		var joined [2 * utf8.UTFMax]byte
		k := copy(joined[:], s.pending[:s.n])
		take := min(len(p), utf8.UTFMax-s.n)
		k += copy(joined[k:], p[:take])
		if !utf8.FullRune(joined[:k]) && take == len(p) {
			copy(s.pending[:], joined[:k]) // still incomplete: keep waiting
			s.n = k
			return dst
		}
		_, size := utf8.DecodeRune(joined[:k])
		used := size - s.n // bytes of p that belonged to the held character
		if used < 0 {
			used = 0 // the held bytes were not a character prefix after all
			size = s.n
		}
		dst = AppendUpper(Unicode, dst, joined[:size])
		s.n = 0
		p = p[used:]
	}
	cut := incompleteTail(p)
	s.n = copy(s.pending[:], p[len(p)-cut:])
	return AppendUpper(Unicode, dst, p[:len(p)-cut])
}

// Flush appends any held bytes unchanged (the stream ended inside a character).
func (s *StreamUpper) Flush(dst []byte) []byte {
	dst = append(dst, s.pending[:s.n]...)
	s.n = 0
	return dst
}

// Held is the number of bytes held back for an incomplete character.
func (s *StreamUpper) Held() int { return s.n }

// incompleteTail returns how many bytes at the end of p start a UTF-8 character that is not
// complete yet (0 when p ends on a boundary or in bytes that can never become valid).
func incompleteTail(p []byte) int {
	for k := 1; k < utf8.UTFMax && k <= len(p); k++ {
		c := p[len(p)-k]
		if c < utf8.RuneSelf {
			return 0
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(p[len(p)-k:]) && validPrefix(p[len(p)-k:]) {
				return k
			}
			return 0
		}
	}
	return 0
}

// validPrefix reports whether b could still begin a valid UTF-8 encoding.
func validPrefix(b []byte) bool {
	var buf [utf8.UTFMax]byte
	n := copy(buf[:], b)
	// Pad with the smallest continuation byte values that keep each lead byte's range valid.
	for _, pad := range []byte{0x80, 0x90, 0xA0} {
		for i := n; i < utf8.UTFMax; i++ {
			buf[i] = pad
		}
		if r, size := utf8.DecodeRune(buf[:]); !(r == utf8.RuneError && size <= 1) && size > n {
			return true
		}
	}
	return false
}
