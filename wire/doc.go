// Package wire holds the framing codecs and text rules that sockspec's servers, clients and
// checks share: newline-terminated lines, the 64-byte ASCII length header, the 4-byte
// big-endian block, raw chunks, and upper-casing.
//
// Decoders are incremental: Feed takes input in pieces of any size (one byte at a time
// included) and calls emit once per whole message. They never allocate a declared length up
// front: a body buffer grows with the bytes that actually arrive, and a length over the limit
// is an error before any body byte is stored. A decoder that returned an error is broken and
// keeps returning it.
package wire

import "errors"

// A Decoder turns a byte stream into messages.
//
// emit receives a message that is valid only until emit returns (it may alias the input or
// the decoder's buffer); copy it to keep it. An error from emit stops Feed and is returned.
type Decoder interface {
	Feed(p []byte, emit func(msg []byte) error) error
	// Pending is the number of bytes held for an incomplete message.
	Pending() int
}

// ErrMalformed is matched (errors.Is) by every header error.
var ErrMalformed = errors.New("malformed header")

// ErrTooLong is matched (errors.Is) by every limit error.
var ErrTooLong = errors.New("message too long")
