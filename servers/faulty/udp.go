package faulty

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/wire"
)

// UDPBugs lists the broken udp-upper / udp-pong servers, by name, with the bug each carries.
// Each is the seed's `recvfrom(2048)` loop with one thing done wrong.
var UDPBugs = map[string]string{
	"other-socket":      "sends every reply from a second socket (another port) instead of the one that received the datagram",
	"per-client-socket": "opens a new socket for each new client, replies from it and never closes it (TCP's accept() imitated)",
	"connected-socket":  "connect()s its socket to the first client and send()s: later clients are never answered",
	"replies-twice":     "sends every reply twice",
	"recv-1024":         "reads with recvfrom(1024): a longer datagram is cut to 1024 bytes before the reply (as on Linux)",
	"skips-large":       "reads with recvfrom(1024) and skips a datagram that does not fit (the error Windows raises, caught)",
	"stops-on-empty":    "`if not message: break`: an empty datagram ends the server loop",
	"crashes-non-utf8":  "decode('utf-8') without a try: a datagram that is not UTF-8 ends the server",
	"echoes-non-utf8":   "sends a datagram it cannot decode back unchanged, letters not upper-cased",
	"keyed-by-ip":       "remembers clients by IP address only and replies to the first port seen from that IP",
	"busy-loop":         "polls a non-blocking socket in a tight loop, burning a core even when nobody sends",
}

// UDP is a udp-upper (or, with Pong, udp-pong) server in the seed's style, carrying one bug.
type UDP struct {
	Bug  string
	Pong bool // reply "PONG" to everything instead of the upper-cased datagram

	mu      sync.Mutex
	extra   map[netip.AddrPort]net.PacketConn // per-client-socket
	first   netip.AddrPort                    // connected-socket
	byIP    map[netip.Addr]netip.AddrPort     // keyed-by-ip
	replyPC net.PacketConn                    // other-socket
}

// NewUDP returns the broken server for protocol "udp-upper" or "udp-pong", or an error for an
// unknown bug or protocol.
func NewUDP(protocol, bug string) (*UDP, error) {
	if _, ok := UDPBugs[bug]; !ok {
		return nil, fmt.Errorf("no faulty UDP server %q", bug)
	}
	if protocol != "udp-upper" && protocol != "udp-pong" {
		return nil, fmt.Errorf("faulty UDP servers speak udp-upper or udp-pong, not %q", protocol)
	}
	return &UDP{Bug: bug, Pong: protocol == "udp-pong"}, nil
}

// seedMax is the seed's recvfrom(2048); smallMax the buggy recvfrom(1024).
const (
	seedMax  = 2048
	smallMax = 1024
)

// Serve implements kit.Server. The bugs that "end the server" return early; the socket is
// closed either way.
func (s *UDP) Serve(ctx context.Context, l kit.Listener) error {
	pc := l.Packet
	if pc == nil {
		return errors.New("faulty UDP: Serve needs a packet conn")
	}
	if s.Bug == "other-socket" {
		host, _, _ := net.SplitHostPort(pc.LocalAddr().String())
		other, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
		if err != nil {
			pc.Close()
			return err
		}
		s.replyPC = other
	}
	ctx, cancel := context.WithCancel(ctx)
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		<-ctx.Done()
		pc.Close() // unblocks the read
	}()
	defer func() {
		cancel()
		<-closed
		s.closeExtra() // only once the loop has ended: nothing opens a socket after this
	}()

	if s.Bug == "busy-loop" {
		return s.spin(ctx, pc)
	}
	buf := make([]byte, 64<<10) // holds any datagram, so its real length is known
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return nil
		}
		ap := from.(*net.UDPAddr).AddrPort()
		if !s.handle(pc, buf[:n], netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())) {
			return nil // the bug ended the server loop
		}
	}
}

// spin is the busy loop: a non-blocking recvfrom retried at once on "would block", as
// `setblocking(False)` with `except BlockingIOError: continue` does.
func (s *UDP) spin(ctx context.Context, pc net.PacketConn) error {
	sc, ok := pc.(syscall.Conn)
	if !ok {
		return errors.New("faulty UDP busy-loop: needs a socket")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	buf := make([]byte, seedMax)
	for ctx.Err() == nil {
		var (
			n    int
			from unix.Sockaddr
			rerr error
		)
		err := rc.Read(func(fd uintptr) bool {
			n, from, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
			return true // never wait for the socket to become readable: that is the bug
		})
		if err != nil {
			return nil // closed
		}
		if rerr != nil {
			continue
		}
		if to, ok := addrPortOf(from); ok {
			s.handle(pc, buf[:n], to)
		}
	}
	return nil
}

func addrPortOf(sa unix.Sockaddr) (netip.AddrPort, bool) {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)), true
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(a.Port)), true
	}
	return netip.AddrPort{}, false
}

// handle answers one datagram; false means the server loop ends here.
func (s *UDP) handle(pc net.PacketConn, msg []byte, from netip.AddrPort) bool {
	limit := seedMax
	if s.Bug == "recv-1024" || s.Bug == "skips-large" {
		limit = smallMax
	}
	if len(msg) > limit {
		if s.Bug == "skips-large" {
			return true
		}
		msg = msg[:limit]
	}
	if len(msg) == 0 && s.Bug == "stops-on-empty" {
		return false
	}
	reply := []byte("PONG")
	if !s.Pong {
		reply = wire.Upper(wire.Unicode, msg)
	}
	if !utf8.Valid(msg) {
		switch s.Bug {
		case "crashes-non-utf8":
			return false
		case "echoes-non-utf8":
			reply = msg
		}
	}
	to, sock := from, pc
	s.mu.Lock()
	switch s.Bug {
	case "other-socket":
		sock = s.replyPC
	case "per-client-socket":
		if s.extra == nil {
			s.extra = map[netip.AddrPort]net.PacketConn{}
		}
		c, ok := s.extra[from]
		if !ok {
			host, _, _ := net.SplitHostPort(pc.LocalAddr().String())
			var err error
			if c, err = net.ListenPacket("udp", net.JoinHostPort(host, "0")); err != nil {
				s.mu.Unlock()
				return true
			}
			s.extra[from] = c
		}
		sock = c
	case "connected-socket":
		if !s.first.IsValid() {
			s.first = from
		}
		if from != s.first {
			s.mu.Unlock()
			return true // a connected socket only receives from its peer
		}
	case "keyed-by-ip":
		if s.byIP == nil {
			s.byIP = map[netip.Addr]netip.AddrPort{}
		}
		if _, ok := s.byIP[from.Addr()]; !ok {
			s.byIP[from.Addr()] = from
		}
		to = s.byIP[from.Addr()]
	}
	s.mu.Unlock()
	times := 1
	if s.Bug == "replies-twice" {
		times = 2
	}
	for range times {
		sock.SetWriteDeadline(time.Now().Add(time.Second))
		sock.WriteTo(reply, net.UDPAddrFromAddrPort(to))
	}
	return true
}

func (s *UDP) closeExtra() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.extra {
		c.Close()
	}
	s.extra = nil
	if s.replyPC != nil {
		s.replyPC.Close()
	}
}
