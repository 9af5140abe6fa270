// Package clients is the home of sockspec's reference clients: one package per protocol of
// PROTOCOLS.md (chat, header64, block32, stream for upper and echo, udp, ping, lookup,
// datetime, http), each a library with a Config and a Run function that the CLI wraps, plus
// the teaching tools resolve (getaddrinfo) and frame (hex dumps of encoded bytes).
//
// Every client dials with a connect timeout, waits for every reply under a deadline, bounds
// every buffer, and reports failures as one-line errors (see package session).
package clients
