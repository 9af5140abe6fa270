// Package udp is the reference client of the datagram protocol udp-upper (PROTOCOLS.md
// "udp-upper and udp-pong", seed 004): each message is one datagram, and the reply
// datagram is printed. A lost datagram is sent again, up to Retries times.
package udp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/sockspec/sockspec/clients/internal/stdinlines"
	"github.com/sockspec/sockspec/wire"
)

// MaxDatagram is the largest datagram sent or received (the UDP limit over IPv4).
const MaxDatagram = 65507

// Config is a udp run.
type Config struct {
	Addr    string
	Timeout time.Duration // wait for each reply; 0 means 1 s
	Retries int           // sends again after a timeout, this many times
	// Messages are sent in order; when nil, each stdin line is one datagram.
	Messages []string
}

// DefaultConfig is the seed's client on the seed's port.
func DefaultConfig() Config {
	return Config{Addr: "127.0.0.1:1235", Timeout: time.Second, Retries: 1}
}

// NoReplyError is a datagram that got no reply after every try.
type NoReplyError struct {
	Addr  string
	What  string
	Tries int
	Wait  time.Duration
}

func (e *NoReplyError) Error() string {
	return fmt.Sprintf("no reply to %s from %s within %v (%d tries)", e.What, e.Addr, e.Wait, e.Tries)
}

// ErrRefused is matched by the error of a datagram refused with ICMP port unreachable.
var ErrRefused = errors.New("port unreachable")

// Dial opens a UDP socket connected to addr: the kernel then delivers only datagrams from
// that address and port, and reports ICMP port unreachable as a refused read.
func Dial(ctx context.Context, addr string) (*net.UDPConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("udp %s: %w", addr, err)
	}
	return c.(*net.UDPConn), nil
}

// Run sends each message and prints each reply on its own line.
func Run(ctx context.Context, cfg Config, stdin io.Reader, stdout, stderr io.Writer) error {
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Second
	}
	conn, err := Dial(ctx, cfg.Addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, MaxDatagram+1)
	n := 0
	return stdinlines.Each(cfg.Messages, stdin, func(msg []byte) error {
		n++
		what := fmt.Sprintf("datagram %d (%s)", n, wire.Quote(msg, 40))
		if len(msg) > MaxDatagram {
			return fmt.Errorf("%s: %d bytes is over the UDP limit of %d", what, len(msg), MaxDatagram)
		}
		reply, err := Exchange(ctx, conn, msg, buf, cfg.Timeout, cfg.Retries)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return &NoReplyError{Addr: cfg.Addr, What: what, Tries: cfg.Retries + 1, Wait: cfg.Timeout}
		}
		if err != nil {
			return fmt.Errorf("%s to %s: %w", what, cfg.Addr, err)
		}
		fmt.Fprintf(stdout, "%s\n", reply)
		return nil
	})
}

// Exchange sends msg and returns the reply, sending again after each timeout up to retries
// times. Stale replies (to an earlier datagram) are dropped before sending. A timeout after
// the last try is os.ErrDeadlineExceeded; ICMP port unreachable matches ErrRefused.
func Exchange(ctx context.Context, conn *net.UDPConn, msg, buf []byte, timeout time.Duration, retries int) ([]byte, error) {
	Drain(conn, buf)
	var err error
	for try := 0; try <= retries; try++ {
		// The caller's AfterFunc sets a past deadline on cancel: check ctx after each
		// deadline set here, which would otherwise override it.
		conn.SetWriteDeadline(time.Now().Add(timeout))
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if _, err = conn.Write(msg); err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				err = fmt.Errorf("%w: nothing listens there (ICMP port unreachable)", ErrRefused)
				continue // an earlier datagram's ICMP error: send again
			}
			return nil, err
		}
		conn.SetReadDeadline(time.Now().Add(timeout))
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var n int
		n, err = conn.Read(buf)
		switch {
		case err == nil:
			return buf[:n], nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.Is(err, syscall.ECONNREFUSED):
			err = fmt.Errorf("%w: nothing listens there (ICMP port unreachable)", ErrRefused)
		case !errors.Is(err, os.ErrDeadlineExceeded):
			return nil, err
		}
	}
	return nil, err
}
