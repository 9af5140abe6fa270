package wire

import "bytes"

// DefaultMaxLine is the line limit when LineDecoder.Max is zero.
const DefaultMaxLine = 64 << 10

// LineDecoder splits a stream into lines ending in "\n". The message passed to emit excludes
// the "\n" (and a "\r" before it when TrimCR is set). A line longer than Max bytes is a
// *LimitError as soon as Max+1 bytes without a newline have arrived.
type LineDecoder struct {
	Max    int
	TrimCR bool
	buf    []byte
	err    error
}

func (d *LineDecoder) max() int {
	if d.Max > 0 {
		return d.Max
	}
	return DefaultMaxLine
}

// Feed implements Decoder.
func (d *LineDecoder) Feed(p []byte, emit func([]byte) error) error {
	if d.err != nil {
		return d.err
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if len(d.buf)+len(p) > d.max() {
				d.err = &LimitError{Length: int64(len(d.buf) + len(p)), Limit: int64(d.max())}
				d.buf = nil
				return d.err
			}
			d.buf = append(d.buf, p...)
			return nil
		}
		line := p[:i]
		if len(d.buf) > 0 {
			d.buf = append(d.buf, line...)
			line = d.buf
		}
		if len(line) > d.max() {
			d.err = &LimitError{Length: int64(len(line)), Limit: int64(d.max())}
			d.buf = nil
			return d.err
		}
		if d.TrimCR && len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		p = p[i+1:]
		err := emit(line)
		d.buf = d.buf[:0]
		if err != nil {
			return err
		}
	}
	return nil
}

// Pending implements Decoder.
func (d *LineDecoder) Pending() int { return len(d.buf) }

// AppendLine appends msg and a newline to dst.
func AppendLine(dst, msg []byte) []byte {
	dst = append(dst, msg...)
	return append(dst, '\n')
}
