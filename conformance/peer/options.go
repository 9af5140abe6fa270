package peer

import (
	"fmt"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Option configures Dial and DialUDP.
type Option func(*options)

type options struct {
	name         string
	from         netip.Addr
	err          error
	rcvBuf       int
	readLimit    int
	writeTimeout time.Duration
	dialTimeout  time.Duration
}

const (
	DefaultReadLimit    = 16 << 20
	DefaultWriteTimeout = 5 * time.Second
	DefaultDialTimeout  = 5 * time.Second
)

func newOptions(opts []Option) options {
	o := options{
		name:         "client",
		readLimit:    DefaultReadLimit,
		writeTimeout: DefaultWriteTimeout,
		dialTimeout:  DefaultDialTimeout,
	}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Name names the peer in transcripts and errors ("alice").
func Name(name string) Option { return func(o *options) { o.name = name } }

// FromIP binds the local end to ip (port 0) before connecting, so the target
// sees a chosen loopback source address such as 127.0.0.2.
func FromIP(ip string) Option {
	return func(o *options) {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			o.err = fmt.Errorf("FromIP(%q): %w", ip, err)
			return
		}
		o.from = a
	}
}

// ReceiveBuffer sets SO_RCVBUF to n bytes before connecting (the kernel
// doubles it and applies a minimum). A small buffer makes a peer that stops
// reading fill up quickly.
func ReceiveBuffer(n int) Option { return func(o *options) { o.rcvBuf = n } }

// ReadLimit bounds the bytes received and not yet consumed (default
// 16 MiB). Beyond it the peer stops reading and records the error "target
// sent more than n bytes".
func ReadLimit(n int) Option { return func(o *options) { o.readLimit = max(n, 1) } }

// WriteTimeout bounds each single write (default 5 s).
func WriteTimeout(d time.Duration) Option { return func(o *options) { o.writeTimeout = d } }

// DialTimeout bounds connecting when the context has no earlier deadline
// (default 5 s).
func DialTimeout(d time.Duration) Option { return func(o *options) { o.dialTimeout = d } }

// control sets socket options that must be in place before connect.
func (o options) control(_, _ string, rc syscall.RawConn) error {
	if o.rcvBuf <= 0 {
		return nil
	}
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, o.rcvBuf)
	})
	if err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("setting SO_RCVBUF to %d: %w", o.rcvBuf, serr)
	}
	return nil
}
