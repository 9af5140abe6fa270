package oracle

import (
	"regexp"
	"time"
)

// Framing says how relays are delimited in a received stream.
type Framing int

const (
	// Raw: no message boundaries. A relay is the sender's prefix followed by
	// whatever chunk the server read, so payloads are compared as bytes.
	Raw Framing = iota
	// Lines: each relay is one line ending in "\n" and carries one message.
	Lines
)

func (f Framing) String() string {
	if f == Lines {
		return "lines"
	}
	return "raw"
}

// Leave says how a client left the room.
type Leave int

const (
	Stayed     Leave = iota // still connected at the end of the observation window
	Closed                  // closed its socket (FIN)
	Reset                   // reset its connection (RST): what it sent last may be lost
	HalfClosed              // shut down its write side
)

// Message is one write by a sender.
type Message struct {
	// Data is what was written. With Lines framing it is one line; a final
	// "\n" is not part of the payload and any other "\n" is invalid.
	Data []byte
	At   time.Time // when it was written
}

// Client is everything recorded about one simulated client.
type Client struct {
	Name string   // used in explanations; defaults to the nick, then the address
	ID   Identity // what the server may print in its relays

	// Welcomed is when the client had received the welcome, i.e. joined. A
	// zero time means before anything was sent.
	Welcomed time.Time
	Left     time.Time // zero if still connected at the end
	How      Leave

	// Complete marks a receiver that stayed connected and kept reading until
	// the end of the observation window. Only complete receivers must have
	// every relay; others may have a truncated (but otherwise correct) stream.
	Complete bool

	Sent     []Message
	Received []byte // every byte received after the welcome
}

// History is a recorded chat session.
type History struct {
	Clients []Client
}

// Options describe the server's profile.
type Options struct {
	Framing Framing
	Format  Format

	// Ignore matches server notices (e.g. "alice joined") that are not
	// relays. Lines framing only: a line that is not a relay and matches is
	// skipped. Anchor it (^...$) to match whole lines only.
	Ignore *regexp.Regexp

	// JoinGrace widens the window in which a message counts as sent while
	// the receiver was joining: a message sent less than JoinGrace after a
	// receiver's welcome may or may not reach it.
	JoinGrace time.Duration

	// SkipTotalOrder turns off the CHAT-ORDER-2 comparison between receivers.
	SkipTotalOrder bool
}
