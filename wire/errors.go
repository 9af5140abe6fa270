package wire

import (
	"fmt"
	"strconv"
)

// HeaderError reports a length header that is not a valid length.
type HeaderError struct {
	Header []byte // the raw header bytes (copied)
	Reason string // what is wrong, in words
}

func (e *HeaderError) Error() string {
	return fmt.Sprintf("malformed header %s: %s", Quote(e.Header, 80), e.Reason)
}

// Is makes errors.Is(err, ErrMalformed) true.
func (e *HeaderError) Is(target error) bool { return target == ErrMalformed }

// LimitError reports a message whose declared (or accumulated) length is over the limit.
type LimitError struct {
	Length int64 // declared length, or the bytes seen so far for undelimited messages; -1 when too big for int64
	Limit  int64
}

func (e *LimitError) Error() string {
	if e.Length < 0 {
		return fmt.Sprintf("message length is over the limit of %d bytes (too big for a 64-bit integer)", e.Limit)
	}
	return fmt.Sprintf("message length %d is over the limit of %d bytes", e.Length, e.Limit)
}

// Is makes errors.Is(err, ErrTooLong) true.
func (e *LimitError) Is(target error) bool { return target == ErrTooLong }

// Quote shows bytes safely for people: Go-quoted, cut after max bytes with a note of the rest.
func Quote(b []byte, max int) string {
	if max > 0 && len(b) > max {
		return strconv.Quote(string(b[:max])) + fmt.Sprintf("...(%d more bytes)", len(b)-max)
	}
	return strconv.Quote(string(b))
}
