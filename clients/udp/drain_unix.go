//go:build unix

package udp

import (
	"net"
	"syscall"
)

// Drain drops datagrams already waiting (late replies to earlier datagrams, or a pending
// ICMP error) without waiting for more, and returns how many datagrams there were.
func Drain(conn *net.UDPConn, buf []byte) int {
	rc, err := conn.SyscallConn()
	if err != nil {
		return 0
	}
	dropped := 0
	for range 1000 {
		var rerr error
		rc.Read(func(fd uintptr) bool {
			_, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT)
			return true // never wait
		})
		switch rerr {
		case nil:
			dropped++
		case syscall.EAGAIN:
			return dropped
		default:
			// EINTR, or a pending ICMP error, reported (and cleared) by this read: go on.
		}
	}
	return dropped
}
