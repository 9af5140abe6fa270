package peer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// maxDatagram is the largest datagram Recv returns (IPv4 UDP allows 65507).
const maxDatagram = 64 * 1024

// Packet is a UDP peer of a target. It is not connected, so it sees replies
// from any address, and Recv says where each came from.
type Packet struct {
	name  string
	pc    *net.UDPConn
	to    netip.AddrPort
	start time.Time
	opts  options

	recvMu sync.Mutex // one Recv at a time shares buf
	buf    []byte

	mu  sync.Mutex
	log transcriptLog
}

// DialUDP opens a UDP socket for talking to addr. The socket is bound to
// FromIP when given, else to the loopback address of addr's family when addr
// is on loopback (never to every interface), else to any address.
func DialUDP(ctx context.Context, addr string, opts ...Option) (*Packet, error) {
	o := newOptions(opts)
	if o.err != nil {
		return nil, fmt.Errorf("%s: %w", o.name, o.err)
	}
	to, err := netip.ParseAddrPort(addr)
	if err != nil {
		resolved, rerr := net.ResolveUDPAddr("udp", addr)
		if rerr != nil {
			return nil, fmt.Errorf("%s: UDP address %q: %w", o.name, addr, rerr)
		}
		to = resolved.AddrPort()
	}
	to = netip.AddrPortFrom(to.Addr().Unmap(), to.Port())
	local := o.from
	if !local.IsValid() {
		switch {
		case to.Addr().Is4() && to.Addr().IsLoopback():
			local = netip.MustParseAddr("127.0.0.1")
		case to.Addr().IsLoopback():
			local = netip.IPv6Loopback()
		case to.Addr().Is4():
			local = netip.IPv4Unspecified()
		default:
			local = netip.IPv6Unspecified()
		}
	}
	lc := net.ListenConfig{Control: o.control}
	start := time.Now()
	pc, err := lc.ListenPacket(ctx, "udp", netip.AddrPortFrom(local, 0).String())
	if err != nil {
		return nil, fmt.Errorf("%s: UDP socket on %s: %w", o.name, local, err)
	}
	p := &Packet{
		name:  o.name,
		pc:    pc.(*net.UDPConn),
		to:    to,
		start: start,
		opts:  o,
		buf:   make([]byte, maxDatagram),
		log:   transcriptLog{name: o.name, start: start},
	}
	p.record(Event, nil, fmt.Sprintf("UDP socket %s for %s", pc.LocalAddr(), to))
	return p, nil
}

// Name returns the peer's name.
func (p *Packet) Name() string { return p.name }

// LocalAddr returns our socket's address.
func (p *Packet) LocalAddr() netip.AddrPort { return p.pc.LocalAddr().(*net.UDPAddr).AddrPort() }

// Send sends b as one datagram to the target.
func (p *Packet) Send(b []byte) error {
	at := time.Now()
	if err := p.pc.SetWriteDeadline(at.Add(p.opts.writeTimeout)); err != nil {
		return err
	}
	_, err := p.pc.WriteToUDPAddrPort(b, p.to)
	if err != nil {
		p.record(Event, nil, "error: send: "+err.Error())
		return fmt.Errorf("%s: send %d-byte datagram to %s: %w", p.name, len(b), p.to, err)
	}
	p.mu.Lock()
	p.log.add(Sent, at, b, "")
	p.mu.Unlock()
	return nil
}

// Recv waits up to timeout for one datagram and returns it with its sender.
func (p *Packet) Recv(timeout time.Duration) (data []byte, from netip.AddrPort, err error) {
	p.recvMu.Lock()
	defer p.recvMu.Unlock()
	if err := p.pc.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, from, err
	}
	n, from, err := p.pc.ReadFromUDPAddrPort(p.buf)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, from, fmt.Errorf("%s: no datagram from %s within %v: %w", p.name, p.to, timeout, err)
		}
		p.record(Event, nil, "error: receive: "+err.Error())
		return nil, from, fmt.Errorf("%s: receive: %w", p.name, err)
	}
	data = append([]byte(nil), p.buf[:n]...)
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	p.mu.Lock()
	if from != p.to {
		p.log.add(Event, time.Now(), nil, fmt.Sprintf("next datagram came from %s, not the target's address", from))
	}
	p.log.add(Received, time.Now(), data, "")
	p.mu.Unlock()
	return data, from, nil
}

// Transcript returns a snapshot of the datagrams sent and received.
func (p *Packet) Transcript() Transcript {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.snapshot()
}

// Close closes the socket.
func (p *Packet) Close() error {
	p.record(Event, nil, "closed by us")
	return p.pc.Close()
}

func (p *Packet) record(dir Dir, data []byte, event string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log.add(dir, time.Now(), data, event)
}
