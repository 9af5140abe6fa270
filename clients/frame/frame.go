// Package frame shows the bytes a framing puts on the wire: each message's frame, its parts
// explained (the padding of a 64-byte header, a length in network byte order), and a hex
// dump with offsets and a readable column.
package frame

import (
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sockspec/sockspec/wire"
)

// Framings that Encode knows.
var Framings = []string{"header64", "block32", "lines"}

// Part is a run of bytes in a frame and what it is.
type Part struct {
	Bytes []byte
	What  string
}

// Frame is one message as encoded.
type Frame struct {
	Message string
	Parts   []Part
}

// Len is the frame's length in bytes.
func (f Frame) Len() int {
	n := 0
	for _, p := range f.Parts {
		n += len(p.Bytes)
	}
	return n
}

// Encode frames each message with framing (header64, block32 or lines). headerSize is
// header64's header size (0 means 64).
func Encode(framing string, msgs []string, headerSize int) ([]Frame, error) {
	if headerSize <= 0 {
		headerSize = wire.Header64Size
	}
	frames := make([]Frame, 0, len(msgs))
	for _, m := range msgs {
		body := []byte(m)
		var f Frame
		f.Message = m
		switch framing {
		case "header64":
			enc, err := wire.AppendHeader(nil, headerSize, body)
			if err != nil {
				return nil, fmt.Errorf("message %s: %v", wire.Quote(body, 40), err)
			}
			digits := len(strconv.Itoa(len(body)))
			f.Parts = []Part{
				{enc[:headerSize], fmt.Sprintf("header: the length %d in ASCII decimal (%s), then %s of padding to %d bytes",
					len(body), plural(digits, "digit"), plural(headerSize-digits, "space"), headerSize)},
				{enc[headerSize:], "body"},
			}
		case "block32":
			enc := wire.AppendBlock(nil, body)
			f.Parts = []Part{
				{enc[:4], fmt.Sprintf("length %d as an unsigned 32-bit integer, big-endian (network byte order, struct '!I')", binary.BigEndian.Uint32(enc[:4]))},
				{enc[4:], "body"},
			}
		case "lines":
			f.Parts = []Part{{body, "body"}, {[]byte("\n"), "end of line"}}
			if strings.Contains(m, "\n") {
				return nil, fmt.Errorf("message %s holds a newline, which would end the line early", wire.Quote(body, 40))
			}
		default:
			return nil, fmt.Errorf("framing must be one of %s, not %q", strings.Join(Framings, ", "), framing)
		}
		frames = append(frames, f)
	}
	return frames, nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// Write explains each frame and dumps its bytes, with offsets counted across the frames as
// they would follow each other on one connection.
func Write(w io.Writer, framing string, frames []Frame) {
	off := 0
	for i, f := range frames {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s message %d: %s, %d bytes of UTF-8, %d bytes framed\n",
			framing, i+1, strconv.Quote(f.Message), len(f.Message), f.Len())
		start := off
		var all []byte
		for _, p := range f.Parts {
			what := p.What
			if what == "body" {
				what = "body: " + wire.Quote(p.Bytes, 40)
			}
			switch len(p.Bytes) {
			case 0:
				fmt.Fprintf(w, "  %-15s %s (empty)\n", "no bytes", what)
			case 1:
				fmt.Fprintf(w, "  %-15s %s\n", fmt.Sprintf("byte %d", off), what)
			default:
				fmt.Fprintf(w, "  %-15s %s\n", fmt.Sprintf("bytes %d-%d", off, off+len(p.Bytes)-1), what)
			}
			off += len(p.Bytes)
			all = append(all, p.Bytes...)
		}
		Dump(w, all, start)
	}
	if len(frames) > 1 {
		fmt.Fprintf(w, "\n%d messages, %d bytes in all\n", len(frames), off)
	}
}

// Dump writes b as `hexdump -C` does: the offset (from base), 16 bytes in hex in two groups
// of 8, and the printable ASCII characters ('.' for the others).
func Dump(w io.Writer, b []byte, base int) {
	for i := 0; i < len(b); i += 16 {
		row := b[i:min(i+16, len(b))]
		var line strings.Builder
		fmt.Fprintf(&line, "%08x  ", base+i)
		for j := range 16 {
			if j < len(row) {
				fmt.Fprintf(&line, "%02x ", row[j])
			} else {
				line.WriteString("   ")
			}
			if j == 7 {
				line.WriteByte(' ')
			}
		}
		line.WriteString(" |")
		for _, c := range row {
			if c >= 0x20 && c < 0x7f {
				line.WriteByte(c)
			} else {
				line.WriteByte('.')
			}
		}
		line.WriteString("|\n")
		io.WriteString(w, line.String())
	}
}
