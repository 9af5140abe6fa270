package udp

import (
	"net"
	"net/netip"
)

// datagram is one slot of a reader: a received datagram and the reply to it.
type datagram struct {
	buf   []byte // read buffer
	n     int    // the datagram's full length, which may exceed len(buf) (it was truncated)
	from  peer
	reply []byte // what to send back (points into out, or at a fixed reply)
	out   []byte // this slot's reply buffer, reused
}

// peer is where a datagram came from and which local address it was sent to.
type peer struct {
	addr  netip.AddrPort // source, for the single-datagram *net.UDPConn paths
	gen   net.Addr       // source, for any other net.PacketConn
	local netip.Addr     // the datagram's destination address (wildcard sockets only)
	ifidx uint32         // the interface it arrived on (wildcard sockets only)
	sa    [28]byte       // source as the kernel wrote it (sockaddr_in or _in6), batch path
	saLen uint32
}

func (p peer) String() string {
	if p.gen != nil {
		return p.gen.String()
	}
	return p.addr.String()
}

// datagramConn is one reader's view of the shared socket.
type datagramConn interface {
	// recv blocks until at least one datagram arrives and fills up to len(ds) slots.
	recv(ds []datagram) (int, error)
	// send sends each slot's reply to its source, from the address the datagram was sent
	// to. On an error it returns how many were sent before the one that failed.
	send(ds []datagram) (int, error)
}

// planConn decides once how the readers of pc read and reply, and returns a constructor for
// each reader's conn and slots.
//
// Replies must come from the address the client sent to (UDP-SRC-1). A socket bound to one
// address always replies from it. A socket bound to a wildcard address (0.0.0.0 or ::) would
// let the kernel choose each reply's source by routing, which is not always the address the
// client sent to; there each datagram's destination is read from the packet-info control
// message and set as its reply's source.
func planConn(pc net.PacketConn, batch, maxDatagram int, forcePktinfo bool) (func() (datagramConn, []datagram), error) {
	uc, ok := pc.(*net.UDPConn)
	if !ok {
		return func() (datagramConn, []datagram) { return genericConn{pc}, oneSlot() }, nil
	}
	la, _ := uc.LocalAddr().(*net.UDPAddr)
	if la == nil {
		return func() (datagramConn, []datagram) { return plainConn{uc}, oneSlot() }, nil
	}
	pktinfo := la.IP.IsUnspecified() || forcePktinfo
	ipv4 := la.IP.To4() != nil
	if pktinfo {
		if err := enablePktinfo(uc, ipv4); err != nil {
			return nil, err
		}
	}
	return sysConn(uc, ipv4, pktinfo, batch, maxDatagram), nil
}

// oneSlot is the slot of a reader that takes one datagram per system call. Its buffer holds
// any UDP datagram whole, so the size of an over-long one is known.
func oneSlot() []datagram { return []datagram{{buf: make([]byte, readBufSize)}} }

// plainConn is a UDP socket bound to one address: no allocation per datagram.
type plainConn struct{ uc *net.UDPConn }

func (c plainConn) recv(ds []datagram) (int, error) {
	n, addr, err := c.uc.ReadFromUDPAddrPort(ds[0].buf)
	if err != nil {
		return 0, err
	}
	ds[0].n, ds[0].from = n, peer{addr: addr}
	return 1, nil
}

func (c plainConn) send(ds []datagram) (int, error) {
	for i := range ds {
		if _, err := c.uc.WriteToUDPAddrPort(ds[i].reply, ds[i].from.addr); err != nil {
			return i, err
		}
	}
	return len(ds), nil
}

// genericConn is any other net.PacketConn (wrappers, tests).
type genericConn struct{ pc net.PacketConn }

func (c genericConn) recv(ds []datagram) (int, error) {
	n, addr, err := c.pc.ReadFrom(ds[0].buf)
	if err != nil {
		return 0, err
	}
	ds[0].n, ds[0].from = n, peer{gen: addr}
	return 1, nil
}

func (c genericConn) send(ds []datagram) (int, error) {
	for i := range ds {
		if _, err := c.pc.WriteTo(ds[i].reply, ds[i].from.gen); err != nil {
			return i, err
		}
	}
	return len(ds), nil
}
