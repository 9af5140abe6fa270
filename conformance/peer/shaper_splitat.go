package peer

import (
	"fmt"
	"slices"
	"time"
)

// SplitAt joins the messages and writes them in pieces cut at Offsets
// (positions in the joined bytes, increasing), with TCP_NODELAY, Pause apart:
// a header split from its body, a line split before its newline.
type SplitAt struct {
	Offsets []int
	Pause   time.Duration
}

func (s SplitAt) Name() string { return fmt.Sprintf("split-at%v", s.Offsets) }

func (s SplitAt) Write(w Wire, msgs [][]byte) error {
	data := joined(msgs)
	prev := 0
	for _, off := range s.Offsets {
		if off <= prev || off >= len(data) {
			return fmt.Errorf("offsets %v: %d is not inside the %d bytes after offset %d", s.Offsets, off, len(data), prev)
		}
		prev = off
	}
	if err := w.SetNoDelay(true); err != nil {
		return err
	}
	prev = 0
	for i, off := range append(slices.Clip(s.Offsets), len(data)) {
		if i > 0 && s.Pause > 0 {
			if err := w.Pause(s.Pause); err != nil {
				return err
			}
		}
		if _, err := w.Write(data[prev:off]); err != nil {
			return err
		}
		prev = off
	}
	return nil
}
