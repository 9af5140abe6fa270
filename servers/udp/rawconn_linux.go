package udp

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawConn is the batched reader: recvmmsg and sendmmsg called directly on a duplicate of the
// socket's descriptor. The socket is put in blocking mode, so a reader waits inside recvmmsg
// (MSG_WAITFORONE: it returns with what has arrived once there is one), as a plain C
// recvfrom loop does: two system calls per batch, and no trip through the runtime's network
// poller. The sender's address is kept as the raw sockaddr the kernel filled in and the reply
// goes back to those same bytes, so nothing is allocated per datagram. It replaced x/net's
// ReadBatch/WriteBatch: ~9% more replies/s for ~2% less CPU per reply (bench/udp, 16 clients).
type rawConn struct {
	fd      int // duplicate of the socket (blocking)
	stop    *rawStop
	pktinfo bool

	rs, ws     []unix.Mmsghdr
	riov, wiov []unix.Iovec
	oob        []byte // batch × oobSize, for packet info
	ctl        controlCache
}

// rawStop ends the raw readers of one Serve. Closing the socket does not wake a thread
// blocked in recvmmsg on it (and the readers' duplicates keep it open), but shutdown(2) does,
// even on an unconnected UDP socket: every blocked call returns, and stopping tells the
// reader why.
type rawStop struct {
	stopping atomic.Bool
	fd       int // its own duplicate of the socket, for shutdown; closed by release
}

// newRawStop duplicates uc's descriptor and puts the socket in blocking mode (a file status
// flag: every duplicate, uc's own included, is blocking from now on; uc is not read again).
func newRawStop(uc *net.UDPConn) (*rawStop, error) {
	fd, err := dupSocket(uc)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("making the socket blocking: %w", err)
	}
	return &rawStop{fd: fd}, nil
}

func (s *rawStop) wake() {
	s.stopping.Store(true)
	unix.Shutdown(s.fd, unix.SHUT_RDWR)
}

// release closes the duplicate, once wake can no longer be called.
func (s *rawStop) release() { unix.Close(s.fd) }

// newRawConn gives a reader its own duplicate of the socket and batch slots of maxDatagram
// bytes each (read with MSG_TRUNC, so an over-long datagram's full length is still reported).
func newRawConn(uc *net.UDPConn, stop *rawStop, v4, pktinfo bool, batch, maxDatagram int) (datagramConn, []datagram, error) {
	fd, err := dupSocket(uc)
	if err != nil {
		return nil, nil, err
	}
	c := &rawConn{fd: fd, stop: stop, pktinfo: pktinfo, ctl: controlCache{v4: v4},
		rs: make([]unix.Mmsghdr, batch), ws: make([]unix.Mmsghdr, batch),
		riov: make([]unix.Iovec, batch), wiov: make([]unix.Iovec, batch)}
	if pktinfo {
		c.oob = make([]byte, batch*oobSize)
	}
	ds := make([]datagram, batch)
	for i := range ds {
		ds[i].buf = make([]byte, maxDatagram)
		c.riov[i].Base = &ds[i].buf[0]
		c.riov[i].SetLen(maxDatagram)
		h := &c.rs[i].Hdr
		h.Iov = &c.riov[i]
		h.SetIovlen(1)
		h.Name = &ds[i].from.sa[0]
		if pktinfo {
			h.Control = &c.oob[i*oobSize]
		}
		c.ws[i].Hdr.Iov = &c.wiov[i]
		c.ws[i].Hdr.SetIovlen(1)
	}
	return c, ds, nil
}

func dupSocket(uc *net.UDPConn) (int, error) {
	rc, err := uc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd, derr := -1, error(nil)
	if err := rc.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, fmt.Errorf("duplicating the socket: %w", derr)
	}
	return fd, nil
}

func (c *rawConn) close() { unix.Close(c.fd) }

// recv waits for at least one datagram and takes what has arrived, up to len(ds). ds must be
// the slots newRawConn returned (their buffers are where the headers point).
func (c *rawConn) recv(ds []datagram) (int, error) {
	rs := c.rs[:len(ds)]
	for i := range rs {
		h := &rs[i].Hdr
		h.Namelen = uint32(len(ds[i].from.sa)) // the kernel overwrites both with what it wrote
		if c.pktinfo {
			h.SetControllen(oobSize)
		}
	}
	for {
		n, errno := mmsg(unix.SYS_RECVMMSG, c.fd, rs, unix.MSG_WAITFORONE|unix.MSG_TRUNC)
		if c.stop.stopping.Load() {
			return 0, net.ErrClosed
		}
		switch errno {
		case 0:
			for i := range n {
				d, h := &ds[i], &rs[i].Hdr
				d.n = int(rs[i].Len)
				d.from.saLen = h.Namelen
				d.from.addr = sockaddrAddrPort(d.from.sa[:min(int(h.Namelen), len(d.from.sa))])
				if c.pktinfo {
					d.from.local, d.from.ifidx = parsePktinfo(c.oob[i*oobSize : i*oobSize+int(h.Controllen)])
				}
			}
			return n, nil
		case unix.EINTR:
		default:
			return 0, fmt.Errorf("recvmmsg: %w", errno)
		}
	}
}

// send sends each reply to the address its datagram came from, as the kernel reported it.
func (c *rawConn) send(ds []datagram) (int, error) {
	ws := c.ws[:len(ds)]
	for i := range ds {
		h := &ws[i].Hdr
		h.Name = &ds[i].from.sa[0]
		h.Namelen = ds[i].from.saLen
		c.wiov[i].Base = unsafe.SliceData(ds[i].reply)
		c.wiov[i].SetLen(len(ds[i].reply))
		h.Control = nil
		h.SetControllen(0)
		if c.pktinfo {
			if oob := c.ctl.control(ds[i].from); len(oob) > 0 {
				h.Control = &oob[0]
				h.SetControllen(len(oob))
			}
		}
	}
	sent := 0
	for sent < len(ws) {
		n, errno := mmsg(unix.SYS_SENDMMSG, c.fd, ws[sent:], 0)
		if c.stop.stopping.Load() {
			return sent, net.ErrClosed
		}
		switch {
		case errno == unix.EINTR:
		case errno != 0: // sendmmsg stops at the first failure: that one is reported
			return sent, fmt.Errorf("sendmmsg: %w", errno)
		case n == 0:
			return sent, fmt.Errorf("sendmmsg sent nothing")
		default:
			sent += n
		}
	}
	return sent, nil
}

// mmsg is recvmmsg or sendmmsg, as a system call that may block (the runtime hands the
// reader's P to other goroutines meanwhile).
func mmsg(trap uintptr, fd int, hs []unix.Mmsghdr, flags int) (int, unix.Errno) {
	r, _, e := unix.Syscall6(trap, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(hs))), uintptr(len(hs)), uintptr(flags), 0, 0)
	return int(r), e
}

// sockaddrAddrPort reads a sockaddr_in or sockaddr_in6 (without its zone: it is for logs; the
// reply goes to the raw bytes).
func sockaddrAddrPort(sa []byte) netip.AddrPort {
	if len(sa) < 2 {
		return netip.AddrPort{}
	}
	switch binary.NativeEndian.Uint16(sa[0:2]) {
	case unix.AF_INET:
		if len(sa) >= unix.SizeofSockaddrInet4 {
			return netip.AddrPortFrom(netip.AddrFrom4([4]byte(sa[4:8])), binary.BigEndian.Uint16(sa[2:4]))
		}
	case unix.AF_INET6:
		if len(sa) >= unix.SizeofSockaddrInet6 {
			return netip.AddrPortFrom(netip.AddrFrom16([16]byte(sa[8:24])), binary.BigEndian.Uint16(sa[2:4]))
		}
	}
	return netip.AddrPort{}
}
