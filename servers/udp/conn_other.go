//go:build !linux

package udp

import "net"

// Outside Linux there is no batching, and a wildcard socket replies from whatever source the
// kernel picks: bind one address where UDP-SRC-1 matters.
func enablePktinfo(*net.UDPConn, bool) error { return nil }

func sysReaders(uc *net.UDPConn, _, _ bool, _, _ int) (readers, error) {
	return oneAtATime(plainConn{uc}), nil
}
