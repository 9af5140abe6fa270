package peer

import "time"

// DefaultBytePause is the pause BytePerSegment uses when Pause is zero.
const DefaultBytePause = 5 * time.Millisecond

// BytePerSegment sends one byte per write with TCP_NODELAY, Pause apart, so
// each byte is its own segment and the server really reads it alone. This
// catches servers that assume a whole message arrives in one recv().
type BytePerSegment struct {
	Pause time.Duration // zero means DefaultBytePause
}

func (BytePerSegment) Name() string { return "byte-per-segment" }

func (s BytePerSegment) Write(w Wire, msgs [][]byte) error {
	pause := s.Pause
	if pause <= 0 {
		pause = DefaultBytePause
	}
	if err := w.SetNoDelay(true); err != nil {
		return err
	}
	for i, b := range joined(msgs) {
		if i > 0 {
			if err := w.Pause(pause); err != nil {
				return err
			}
		}
		if _, err := w.Write([]byte{b}); err != nil {
			return err
		}
	}
	return nil
}
