package target

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

const (
	readyPollMin = time.Millisecond
	readyPollMax = 25 * time.Millisecond
	// maxProbeWait bounds one connection attempt or one wait for a UDP answer.
	maxProbeWait = 500 * time.Millisecond
)

// awaitReady polls the target with a short backoff until it is ready, it
// exits, ctx ends or the start timeout passes.
func (p *Process) awaitReady(ctx context.Context, spec Spec) error {
	deadline := time.Now().Add(spec.StartTimeout)
	probe, closeProbe, err := p.prober(spec)
	if err != nil {
		return err
	}
	defer closeProbe()
	pause := readyPollMin
	for {
		if probe(ctx, deadline, pause) {
			return nil
		}
		select {
		case <-p.exited:
			return &ExitedDuringStartupError{Network: p.network, Addr: p.addr, Status: p.status}
		default:
		}
		left := time.Until(deadline)
		if left <= 0 {
			return &NeverListenedError{Network: p.network, Addr: p.addr, Timeout: spec.StartTimeout}
		}
		timer := time.NewTimer(min(pause, left))
		select {
		case <-p.exited:
			timer.Stop()
			return &ExitedDuringStartupError{Network: p.network, Addr: p.addr, Status: p.status}
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("target: waiting for %s to listen on %s: %w", p.command, p.addr, ctx.Err())
		case <-timer.C:
		}
		pause = min(pause*2, readyPollMax)
	}
}

// probeFunc makes one readiness attempt; wait is how long a UDP attempt may
// wait for its answer.
type probeFunc func(ctx context.Context, deadline time.Time, wait time.Duration) bool

func (p *Process) prober(spec Spec) (probeFunc, func(), error) {
	switch {
	case spec.Network == "tcp":
		return p.probeTCP, func() {}, nil
	case len(spec.Probe) == 0:
		return func(context.Context, time.Time, time.Duration) bool { return udpPortBound(p.port) }, func() {}, nil
	}
	conn, err := net.ListenPacket("udp", net.JoinHostPort(spec.Host, "0"))
	if err != nil {
		return nil, nil, fmt.Errorf("target: UDP socket for readiness probes: %w", err)
	}
	to, err := net.ResolveUDPAddr("udp", p.addr)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	buf := make([]byte, 64*1024)
	probe := func(ctx context.Context, deadline time.Time, wait time.Duration) bool {
		// The wait for an answer replaces the pause between attempts, so
		// the first attempts wait a few ms, later ones up to readyPollMax.
		end := earliest(deadline, time.Now().Add(max(wait, 5*time.Millisecond)))
		_ = conn.SetDeadline(end)
		if _, err := conn.WriteTo(spec.Probe, to); err != nil {
			return false
		}
		_, _, err := conn.ReadFrom(buf)
		return err == nil
	}
	return probe, func() { conn.Close() }, nil
}

// probeTCP looks for a listening socket on the target's port in /proc/net/tcp{,6}, without
// connecting: a connect-and-close is itself an input (GEN-BAD-1), and a seed-style server that
// dies on it would be reported as crashing in every spec. Without /proc it connects once.
func (p *Process) probeTCP(ctx context.Context, deadline time.Time, _ time.Duration) bool {
	if listening, known := tcpListening(p.port, p.addr); known {
		return listening
	}
	d := net.Dialer{Deadline: earliest(deadline, time.Now().Add(maxProbeWait))}
	c, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return false
	}
	defer c.Close()
	// With nothing listening, a connect from an ephemeral port equal to the
	// target port can connect to itself (TCP simultaneous open).
	return c.LocalAddr().String() != c.RemoteAddr().String()
}

// tcpListening reports whether a socket listens on port at an address that reaches addr's
// host (the host itself or a wildcard); known is false when /proc/net/tcp cannot be read.
func tcpListening(port int, addr string) (listening, known bool) {
	host, _, _ := net.SplitHostPort(addr)
	target, err := netip.ParseAddr(host)
	if err != nil {
		return false, false
	}
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		known = true
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 4 || fields[3] != "0A" { // 0A: LISTEN
				continue
			}
			ipHex, portHex, ok := strings.Cut(fields[1], ":")
			if n, err := strconv.ParseUint(portHex, 16, 16); !ok || err != nil || int(n) != port {
				continue
			}
			if ip, ok := procNetAddr(ipHex); ok && (ip.IsUnspecified() || ip.Unmap() == target.Unmap()) {
				f.Close()
				return true, true
			}
		}
		f.Close()
	}
	return false, known
}

// procNetAddr decodes an address of /proc/net/tcp{,6}: hex, in 32-bit words of host order.
func procNetAddr(h string) (netip.Addr, bool) {
	b, err := hex.DecodeString(h)
	if err != nil || (len(b) != 4 && len(b) != 16) {
		return netip.Addr{}, false
	}
	for i := 0; i+4 <= len(b); i += 4 { // each word is little-endian on the machines we run on
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	ip, ok := netip.AddrFromSlice(b)
	return ip, ok
}

// udpPortBound reports whether any UDP socket is bound to port, from
// /proc/net/udp and /proc/net/udp6.
func udpPortBound(port int) bool {
	want := fmt.Sprintf(":%04X", port)
	for _, name := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) > 1 && strings.HasSuffix(fields[1], want) {
				f.Close()
				return true
			}
		}
		f.Close()
	}
	return false
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
