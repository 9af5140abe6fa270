//go:build !unix

package udp

import (
	"net"
	"time"
)

// Drain drops datagrams already waiting (late replies to earlier datagrams) and returns how
// many there were. Without MSG_DONTWAIT it polls with a 1 ms deadline.
func Drain(conn *net.UDPConn, buf []byte) int {
	dropped := 0
	for range 1000 {
		conn.SetReadDeadline(time.Now().Add(time.Millisecond))
		if _, err := conn.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return dropped
			}
			continue
		}
		dropped++
	}
	return dropped
}
