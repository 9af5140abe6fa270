package wire

import (
	"fmt"
	"strconv"
)

// Header64Size is the seed's header size (PROTOCOLS.md header64).
const Header64Size = 64

// DefaultMaxHeaderLength is header64's default max_length knob (1 MiB).
const DefaultMaxHeaderLength = 1 << 20

// HeaderDecoder decodes messages framed by a fixed-size header holding the body's length as
// ASCII decimal digits followed only by spaces (strict: no sign, no leading space, at least one
// digit), then the body.
type HeaderDecoder struct {
	Size int   // header size; 0 means 64
	Max  int64 // body length limit; 0 means DefaultMaxHeaderLength
	hdr  []byte
	body []byte
	want int64 // body length once the header is parsed, -1 while reading the header
	err  error
}

func (d *HeaderDecoder) size() int {
	if d.Size > 0 {
		return d.Size
	}
	return Header64Size
}

func (d *HeaderDecoder) max() int64 {
	if d.Max > 0 {
		return d.Max
	}
	return DefaultMaxHeaderLength
}

// Feed implements Decoder.
func (d *HeaderDecoder) Feed(p []byte, emit func([]byte) error) error {
	if d.err != nil {
		return d.err
	}
	if d.hdr == nil {
		d.want = -1
		d.hdr = make([]byte, 0, d.size())
	}
	for len(p) > 0 {
		if d.want < 0 {
			n := min(d.size()-len(d.hdr), len(p))
			d.hdr = append(d.hdr, p[:n]...)
			p = p[n:]
			if len(d.hdr) < d.size() {
				return nil
			}
			length, err := ParseHeader(d.hdr, d.max())
			if err != nil {
				d.err = err
				return err
			}
			d.want = length
			if length > 0 {
				continue
			}
		}
		var msg []byte
		if need := int(d.want) - len(d.body); len(d.body) == 0 && len(p) >= need {
			msg, p = p[:need], p[need:] // whole body in this piece: no copy
		} else {
			n := min(need, len(p))
			d.body = append(d.body, p[:n]...)
			p = p[n:]
			if len(d.body) < int(d.want) {
				return nil
			}
			msg = d.body
		}
		d.want = -1
		d.hdr = d.hdr[:0]
		err := emit(msg)
		d.body = d.body[:0]
		if err != nil {
			return err
		}
	}
	return nil
}

// Pending implements Decoder.
func (d *HeaderDecoder) Pending() int { return len(d.hdr) + len(d.body) }

// ParseHeader parses a length header strictly: one or more ASCII digits, then only spaces.
// A length over max is a *LimitError; anything else wrong is a *HeaderError.
func ParseHeader(h []byte, max int64) (int64, error) {
	digits := 0
	for digits < len(h) && h[digits] >= '0' && h[digits] <= '9' {
		digits++
	}
	bad := func(reason string) error {
		return &HeaderError{Header: append([]byte(nil), h...), Reason: reason}
	}
	if digits == 0 {
		if len(h) > 0 && h[0] == '-' {
			return 0, bad("negative length")
		}
		return 0, bad("it does not start with a decimal digit")
	}
	for _, c := range h[digits:] {
		if c != ' ' {
			return 0, bad("only spaces may follow the digits")
		}
	}
	n, err := strconv.ParseInt(string(h[:digits]), 10, 64)
	if err != nil || n > max {
		if err != nil {
			n = -1 // too big for int64: certainly over the limit
		}
		return 0, &LimitError{Length: n, Limit: max}
	}
	return n, nil
}

// AppendHeader appends a size-byte header for msg and msg itself to dst. It fails when the
// length's digits do not fit in size bytes.
func AppendHeader(dst []byte, size int, msg []byte) ([]byte, error) {
	if size <= 0 {
		size = Header64Size
	}
	digits := strconv.Itoa(len(msg))
	if len(digits) > size {
		return dst, fmt.Errorf("length %d does not fit in a %d-byte header", len(msg), size)
	}
	dst = append(dst, digits...)
	for i := len(digits); i < size; i++ {
		dst = append(dst, ' ')
	}
	return append(dst, msg...), nil
}
