// Package oracle judges a recorded multi-client chat history against the
// broadcast requirements of PROTOCOLS.md: CHAT-RELAY-1..3 (every relay
// arrives, exactly once, never back to its sender), CHAT-ORDER-1 (per-sender
// FIFO), CHAT-ORDER-2 (one total order, SHOULD) and CHAT-FRAME-1 (relays
// intact). It is pure code: the caller records who joined when, what each
// client sent and every byte each client received, and Check lists what a
// correct server would not have done, each Violation naming its Kind, the
// requirement, the clients, the message and the bytes.
//
// Two framings are understood. With Lines every relay is one line carrying
// one message. With Raw there are no message boundaries: a relay is the
// sender's prefix followed by whatever chunk the server read, so the oracle
// works on bytes: the payloads relayed from a sender, prefixes removed, must
// concatenate to a piece of that sender's byte stream.
//
// How it decides: each receiver's stream is split into relays (by the
// senders' prefixes, or by lines; with a format that names no sender, lines
// are attributed by their exact content). Then, per receiver and sender,
// every relay is placed at its coordinates in the sender's space (message
// indices, or byte offsets of all the sender wrote). Usually a relay sits
// right after the previous one; when it does not, the candidate place that
// implies the fewest violations wins, so that a loss is not mistaken for a
// reordering when payloads resemble each other. Coverage of the sender's space
// then shows losses (a gap), duplicates (covered twice) and reordering
// (placed behind what came before); bytes found nowhere are an Integrity
// violation. Relays placed in order feed the total order comparison between
// receivers.
//
// What a receiver must get: every message sent after its welcome (plus
// Options.JoinGrace) if it is Complete. Messages sent while it was joining may
// or may not arrive; a receiver that left or stopped reading may be cut short;
// a sender that reset may lose its last bytes. Whatever arrives must still be
// exactly once and in order.
package oracle
