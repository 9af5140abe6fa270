package peer

import "time"

// Whole writes each message with one write, back to back, or Pause apart.
// Back-to-back messages may still reach the target in one read: that is the
// case a server assuming "one recv() is one message" gets wrong.
type Whole struct {
	Pause time.Duration
}

func (Whole) Name() string { return "whole" }

func (s Whole) Write(w Wire, msgs [][]byte) error {
	for i, m := range msgs {
		if i > 0 && s.Pause > 0 {
			if err := w.Pause(s.Pause); err != nil {
				return err
			}
		}
		if _, err := w.Write(m); err != nil {
			return err
		}
	}
	return nil
}
