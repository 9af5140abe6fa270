package wire

// DefaultMaxChunk is the raw chunk size of the seeds' recv(2048).
const DefaultMaxChunk = 2048

// ChunkDecoder passes the stream on as it arrives, in pieces of at most Max bytes: the "raw"
// framing of the C199 chat, where a message is whatever one recv returned.
type ChunkDecoder struct {
	Max int // 0 means DefaultMaxChunk
}

// Feed implements Decoder.
func (d *ChunkDecoder) Feed(p []byte, emit func([]byte) error) error {
	max := d.Max
	if max <= 0 {
		max = DefaultMaxChunk
	}
	for len(p) > 0 {
		n := min(max, len(p))
		if err := emit(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// Pending implements Decoder: raw chunks hold nothing back.
func (d *ChunkDecoder) Pending() int { return 0 }
