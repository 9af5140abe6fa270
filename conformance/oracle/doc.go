// Package oracle judges a recorded multi-client chat history against the
// broadcast requirements of PROTOCOLS.md (CHAT-RELAY-*, CHAT-ORDER-*,
// CHAT-FRAME-1). It is pure code: the caller records who joined when, what
// each client sent and every byte each client received, and Check says what,
// if anything, a correct chat server would not have done.
//
// Two framings are understood. With Lines every relay is one line and every
// message counts as a whole. With Raw there are no message boundaries: a relay
// is the sender's prefix followed by whatever chunk the server read, so the
// oracle works on bytes. For each receiver and sender the payloads relayed
// from that sender are placed in the sender's own coordinates (message
// indices, or byte offsets of everything the sender wrote), which turns loss,
// duplication and reordering into coverage questions over one interval.
package oracle
