//go:build !linux

package udp

import "net"

// Outside Linux there is no batching, and a wildcard socket replies from whatever source the
// kernel picks: bind one address where UDP-SRC-1 matters.
func enablePktinfo(*net.UDPConn, bool) error { return nil }

func sysConn(uc *net.UDPConn, _, _ bool, _, _ int) func() (datagramConn, []datagram) {
	return func() (datagramConn, []datagram) { return plainConn{uc}, oneSlot() }
}
