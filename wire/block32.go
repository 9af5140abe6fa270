package wire

import (
	"encoding/binary"
	"math"
)

// DefaultMaxBlock is block32's default max_length knob (16 MiB).
const DefaultMaxBlock = 16 << 20

// BlockDecoder decodes blocks framed by an unsigned 32-bit big-endian length.
type BlockDecoder struct {
	Max    int64 // 0 means DefaultMaxBlock
	prefix [4]byte
	have   int // prefix bytes held
	body   []byte
	want   int64 // -1 while reading the prefix
	err    error
	init   bool
}

func (d *BlockDecoder) max() int64 {
	if d.Max > 0 {
		return d.Max
	}
	return DefaultMaxBlock
}

// Feed implements Decoder.
func (d *BlockDecoder) Feed(p []byte, emit func([]byte) error) error {
	if d.err != nil {
		return d.err
	}
	if !d.init {
		d.init, d.want = true, -1
	}
	for len(p) > 0 {
		if d.want < 0 {
			n := copy(d.prefix[d.have:], p)
			d.have += n
			p = p[n:]
			if d.have < 4 {
				return nil
			}
			length := int64(binary.BigEndian.Uint32(d.prefix[:]))
			if length > d.max() {
				d.err = &LimitError{Length: length, Limit: d.max()}
				return d.err
			}
			d.want = length
			if length > 0 {
				continue
			}
		}
		var msg []byte
		if need := int(d.want) - len(d.body); len(d.body) == 0 && len(p) >= need {
			msg, p = p[:need], p[need:]
		} else {
			n := min(need, len(p))
			d.body = append(d.body, p[:n]...)
			p = p[n:]
			if len(d.body) < int(d.want) {
				return nil
			}
			msg = d.body
		}
		d.want, d.have = -1, 0
		err := emit(msg)
		d.body = d.body[:0]
		if err != nil {
			return err
		}
	}
	return nil
}

// Pending implements Decoder.
func (d *BlockDecoder) Pending() int {
	if !d.init || d.want < 0 { // before the first Feed, want is 0 but nothing is held
		return d.have
	}
	return 4 + len(d.body)
}

// AppendBlock appends a 4-byte big-endian length and msg to dst.
func AppendBlock(dst, msg []byte) []byte {
	if int64(len(msg)) > math.MaxUint32 {
		panic("wire: block longer than 4 GiB")
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(msg)))
	return append(dst, msg...)
}
