package udp

import (
	"encoding/binary"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// enablePktinfo asks for each datagram's destination address. An IPv6 dual-stack socket
// reports IPv4 datagrams with a v4-mapped IPV6_PKTINFO, and Linux accepts a v4-mapped source
// in IPV6_PKTINFO when replying to them, so the IPv6 path serves both families.
func enablePktinfo(uc *net.UDPConn, v4 bool) error {
	raw, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		if v4 {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
		} else {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// oobSize holds either packet-info control message.
var oobSize = unix.CmsgSpace(unix.SizeofInet6Pktinfo) + unix.CmsgSpace(unix.SizeofInet4Pktinfo)

// sysConn returns the constructor of each reader's conn: batched (recvmmsg/sendmmsg) when
// batch > 1, else one datagram per system call.
func sysConn(uc *net.UDPConn, v4, pktinfo bool, batch, maxDatagram int) func() (datagramConn, []datagram) {
	return func() (datagramConn, []datagram) {
		switch {
		case batch > 1:
			return newRawConn(uc, v4, pktinfo, batch, maxDatagram)
		case pktinfo:
			return &pktinfoConn{uc: uc, oob: make([]byte, oobSize), ctl: controlCache{v4: v4}}, oneSlot()
		default:
			return plainConn{uc}, oneSlot()
		}
	}
}

// pktinfoConn is a wildcard socket read one datagram at a time.
type pktinfoConn struct {
	uc  *net.UDPConn
	oob []byte
	ctl controlCache
}

func (c *pktinfoConn) recv(ds []datagram) (int, error) {
	n, oobn, _, addr, err := c.uc.ReadMsgUDPAddrPort(ds[0].buf, c.oob)
	if err != nil {
		return 0, err
	}
	ds[0].n, ds[0].from = n, peer{addr: addr}
	ds[0].from.local, ds[0].from.ifidx = parsePktinfo(c.oob[:oobn])
	return 1, nil
}

func (c *pktinfoConn) send(ds []datagram) (int, error) {
	for i := range ds {
		if _, _, err := c.uc.WriteMsgUDPAddrPort(ds[i].reply, c.ctl.control(ds[i].from), ds[i].from.addr); err != nil {
			return i, err
		}
	}
	return len(ds), nil
}

// parsePktinfo returns the destination address and interface from IP_PKTINFO or IPV6_PKTINFO.
func parsePktinfo(oob []byte) (netip.Addr, uint32) {
	for len(oob) > 0 {
		h, data, rest, err := unix.ParseOneSocketControlMessage(oob)
		if err != nil {
			break
		}
		oob = rest
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			// struct in_pktinfo: ifindex, spec_dst, addr (the header's destination).
			return netip.AddrFrom4([4]byte(data[8:12])), binary.NativeEndian.Uint32(data[0:4])
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			// struct in6_pktinfo: addr, ifindex.
			return netip.AddrFrom16([16]byte(data[0:16])), binary.NativeEndian.Uint32(data[16:20])
		}
	}
	return netip.Addr{}, 0
}

// controlCache builds the packet-info control message that sets a reply's source. Replies
// mostly leave from one address, so the last one built is reused (never modified: a batch
// may still refer to it).
type controlCache struct {
	v4    bool
	local netip.Addr
	ifidx uint32
	oob   []byte
}

func (c *controlCache) control(p peer) []byte {
	if !p.local.IsValid() {
		return nil
	}
	// Only the source is set: leaving the interface to routing keeps replies working when
	// the way back differs from the way in. A link-local IPv6 source needs its interface.
	var ifidx uint32
	if !c.v4 && !p.local.Is4In6() && p.local.IsLinkLocalUnicast() {
		ifidx = p.ifidx
	}
	if c.oob != nil && c.local == p.local && c.ifidx == ifidx {
		return c.oob
	}
	if c.v4 {
		c.oob = unix.PktInfo4(&unix.Inet4Pktinfo{Spec_dst: p.local.Unmap().As4()})
	} else {
		c.oob = unix.PktInfo6(&unix.Inet6Pktinfo{Addr: p.local.As16(), Ifindex: ifidx})
	}
	c.local, c.ifidx = p.local, ifidx
	return c.oob
}
