//go:build linux

package echo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The epoll engine: Loops event loops, each on its own locked OS thread with its own epoll
// set, in the shape of the C yardstick (bench/echo/cecho): level-triggered, non-blocking
// sockets, one read buffer per loop shared by its connections, one read and one write per
// readiness event. Each loop accepts from a duplicate of the listener's descriptor
// (EPOLLEXCLUSIVE, so one loop is woken per new client), and an eventfd per loop wakes it
// for shutdown.
//
// Bounded memory: a write the socket does not take whole is kept (at most one buffer), and
// that connection is not read again until it has been sent; so a client that does not read
// its echo stops being read, as in the goroutine engine. After the client's FIN the read
// returns 0 only once everything before it has been echoed, so the connection closes then.

const (
	maxEvents     = 256 // events taken per EpollWait
	acceptBatch   = 64  // connections accepted per listener event, so clients are served too
	readsPerEvent = 16  // reads per readiness event while they fill the buffer (bounded: fairness)
	maxSpareBufs  = 8   // pending buffers a loop keeps for reuse
	minIdleScan   = time.Millisecond
	acceptBackoff = 100 * time.Millisecond // pause after EMFILE and the like
)

// serveEpoll serves ln with event loops. It returns errNoEpoll, having touched nothing, when
// ln's descriptor cannot be had (a listener that is not a syscall.Conn).
func (s *Server) serveEpoll(ctx context.Context, ln net.Listener) error {
	lfd, err := dupListener(ln)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	loops := make([]*loop, s.cfg.Loops)
	defer func() {
		for _, l := range loops {
			if l != nil {
				l.release()
			}
		}
		unix.Close(lfd)
		ln.Close()
	}()
	for i := range loops {
		l, err := s.newLoop(lfd)
		if err != nil {
			return fmt.Errorf("echo: epoll engine: %w", err)
		}
		loops[i] = l
	}

	var wg sync.WaitGroup
	errs := make(chan error, len(loops))
	for _, l := range loops {
		wg.Go(func() {
			defer cancel() // one loop failing stops the others
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			errs <- l.run()
		})
	}
	// The waker: on shutdown (or a loop's failure) wake every loop. The eventfds stay open
	// until all loops and the waker have ended, so this never writes to a reused descriptor.
	wg.Go(func() {
		<-ctx.Done()
		one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
		for _, l := range loops {
			unix.Write(l.wake, one)
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return fmt.Errorf("echo: epoll engine: %w", err)
		}
	}
	return nil
}

// dupListener returns a non-blocking duplicate of ln's descriptor (it shares the open file,
// which Go's listeners keep non-blocking already), so accept4 on it never blocks. Closing
// ln alone does not stop the engine: Serve stops when its context ends, and closes ln then.
func dupListener(ln net.Listener) (int, error) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return -1, errNoEpoll
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, errNoEpoll
	}
	fd, derr := -1, error(nil)
	if err := rc.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, errNoEpoll
	}
	if derr != nil {
		return -1, fmt.Errorf("echo: duplicating the listener: %w", derr)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("echo: listener: %w", err)
	}
	return fd, nil
}

// loop is one event loop. Everything but wake is touched only by the loop's own goroutine.
type loop struct {
	s     *Server
	ep    int // epoll descriptor
	wake  int // eventfd written on shutdown
	lfd   int // the listener duplicate, shared by all loops
	buf   []byte
	conns []*conn  // by descriptor
	open  int      // connections in conns
	spare [][]byte // pending buffers for reuse

	events   []unix.EpollEvent
	base     time.Time
	now      time.Duration // since base, read once per EpollWait
	nextScan time.Duration // next idle scan, while there are connections and an idle timeout

	acceptOff   bool          // the listener is out of the epoll set (EMFILE and the like)
	acceptAgain time.Duration // when to put it back
}

// conn is one client. pending[off:] holds bytes read but not yet written back; while it is
// not empty the connection waits for EPOLLOUT and is not read.
type conn struct {
	fd      int
	remote  unix.Sockaddr
	pending []byte
	off     int
	last    time.Duration // last byte read or written, loop clock
	echoed  int64
}

func (s *Server) newLoop(lfd int) (*loop, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(ep)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	l := &loop{s: s, ep: ep, wake: wake, lfd: lfd, buf: make([]byte, s.cfg.Buffer),
		events: make([]unix.EpollEvent, maxEvents), base: time.Now()}
	if err := l.ctl(unix.EPOLL_CTL_ADD, wake, unix.EPOLLIN); err != nil {
		l.release()
		return nil, fmt.Errorf("watching the eventfd: %w", err)
	}
	if err := l.watchListener(); err != nil {
		l.release()
		return nil, fmt.Errorf("watching the listener: %w", err)
	}
	return l, nil
}

// release closes the loop's own descriptors, after its goroutine and the waker have ended.
func (l *loop) release() {
	unix.Close(l.wake)
	unix.Close(l.ep)
}

func (l *loop) ctl(op, fd int, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd)}
	return unix.EpollCtl(l.ep, op, fd, &ev)
}

// watchListener adds the listener with EPOLLEXCLUSIVE (one loop woken per client), or
// without it on kernels before 4.5.
func (l *loop) watchListener() error {
	if err := l.ctl(unix.EPOLL_CTL_ADD, l.lfd, unix.EPOLLIN|unix.EPOLLEXCLUSIVE); err == nil {
		return nil
	}
	return l.ctl(unix.EPOLL_CTL_ADD, l.lfd, unix.EPOLLIN)
}

func (l *loop) scanEvery() time.Duration { return max(l.s.cfg.Idle/8, minIdleScan) }

// run serves until the eventfd is written, then closes every connection.
func (l *loop) run() error {
	for {
		n, err := unix.EpollWait(l.ep, l.events, l.waitMillis())
		if err != nil {
			if err != unix.EINTR {
				l.closeAll(net.ErrClosed)
				return fmt.Errorf("epoll_wait: %w", err)
			}
			n = 0
		}
		l.now = time.Since(l.base)
		for i := range n {
			ev := &l.events[i]
			switch fd := int(ev.Fd); {
			case fd == l.wake:
				l.closeAll(net.ErrClosed)
				return nil
			case fd == l.lfd:
				if err := l.accept(); err != nil {
					l.closeAll(net.ErrClosed)
					return err
				}
			default:
				if c := l.conns[fd]; c != nil {
					l.serve(c, ev.Events)
				}
			}
		}
		if l.open > 0 && l.s.cfg.Idle > 0 && l.now >= l.nextScan {
			l.closeIdle()
		}
		if l.acceptOff && l.now >= l.acceptAgain {
			if l.watchListener() == nil {
				l.acceptOff = false
			} else {
				l.acceptAgain = l.now + acceptBackoff
			}
		}
	}
}

// waitMillis is EpollWait's timeout: until the next idle scan or accept retry, or forever.
func (l *loop) waitMillis() int {
	next := time.Duration(-1)
	if l.open > 0 && l.s.cfg.Idle > 0 {
		next = l.nextScan
	}
	if l.acceptOff && (next < 0 || l.acceptAgain < next) {
		next = l.acceptAgain
	}
	if next < 0 {
		return -1
	}
	now := time.Since(l.base)
	if next <= now {
		return 0
	}
	return int((next - now + time.Millisecond - 1) / time.Millisecond)
}

// serve handles one readiness event: flush what is pending, or read and echo.
func (l *loop) serve(c *conn, events uint32) {
	if c.pending != nil {
		if events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
			l.flush(c)
		}
		return
	}
	// A read that fills the buffer means more is probably waiting: read again at once,
	// a bounded number of times, rather than go through EpollWait for every buffer.
	for range readsPerEvent {
		n, err := rawRead(c.fd, l.buf)
		switch {
		case n > 0:
			c.last = l.now
			if !l.send(c, l.buf[:n]) || n < len(l.buf) {
				return
			}
		case err == nil: // n == 0: the client's FIN, and everything before it has been echoed
			l.close(c, io.EOF)
			return
		case err == unix.EAGAIN || err == unix.EINTR:
			return
		default:
			l.close(c, fmt.Errorf("read: %w", err))
			return
		}
	}
}

// send writes p; what the socket does not take is kept and the connection waits for EPOLLOUT.
// It reports whether p was sent whole (so the connection may be read again).
func (l *loop) send(c *conn, p []byte) bool {
	w, err := rawWrite(c.fd, p)
	if w == len(p) {
		c.echoed += int64(w)
		return true
	}
	if err != nil && err != unix.EAGAIN && err != unix.EINTR {
		l.close(c, fmt.Errorf("write: %w", err))
		return false
	}
	w = max(w, 0)
	c.echoed += int64(w)
	c.pending = append(l.spareBuf(), p[w:]...)
	c.off = 0
	if err := l.ctl(unix.EPOLL_CTL_MOD, c.fd, unix.EPOLLOUT); err != nil {
		l.close(c, err)
	}
	return false
}

// flush writes more of what is pending; once all is sent the connection is read again.
func (l *loop) flush(c *conn) {
	w, err := rawWrite(c.fd, c.pending[c.off:])
	if err != nil {
		if err != unix.EAGAIN && err != unix.EINTR {
			l.close(c, fmt.Errorf("write: %w", err))
		}
		return
	}
	c.off += w
	c.echoed += int64(w)
	c.last = l.now
	if c.off < len(c.pending) {
		return
	}
	l.putSpare(c.pending)
	c.pending, c.off = nil, 0
	if err := l.ctl(unix.EPOLL_CTL_MOD, c.fd, unix.EPOLLIN); err != nil {
		l.close(c, err)
	}
}

func (l *loop) spareBuf() []byte {
	if n := len(l.spare); n > 0 {
		b := l.spare[n-1]
		l.spare = l.spare[:n-1]
		return b[:0]
	}
	return make([]byte, 0, len(l.buf))
}

func (l *loop) putSpare(b []byte) {
	if len(l.spare) < maxSpareBufs {
		l.spare = append(l.spare, b)
	}
}

// accept takes up to acceptBatch new clients. Running out of descriptors pauses accepting
// for a while instead of spinning on the still-readable listener; an error that means the
// listener itself is gone ends the loop.
func (l *loop) accept() error {
	for range acceptBatch {
		fd, sa, err := unix.Accept4(l.lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		switch err {
		case nil:
		case unix.EAGAIN:
			return nil
		case unix.EINTR, unix.ECONNABORTED, unix.EPROTO:
			continue
		case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
			l.s.log.Warn("accept failed, retrying", "err", err, "in", acceptBackoff)
			if unix.EpollCtl(l.ep, unix.EPOLL_CTL_DEL, l.lfd, nil) == nil {
				l.acceptOff, l.acceptAgain = true, l.now+acceptBackoff
			}
			return nil
		default:
			return fmt.Errorf("accept4: %w", err)
		}
		if _, ok := sa.(*unix.SockaddrUnix); !ok {
			tcpDefaults(fd)
		}
		if err := l.ctl(unix.EPOLL_CTL_ADD, fd, unix.EPOLLIN); err != nil {
			unix.Close(fd)
			l.s.log.Warn("cannot watch a new connection; closed it", "err", err)
			continue
		}
		for fd >= len(l.conns) {
			l.conns = append(l.conns, make([]*conn, max(64, len(l.conns)))...)
		}
		l.conns[fd] = &conn{fd: fd, remote: sa, last: l.now}
		if l.open == 0 { // no scan is due while there are no connections
			l.nextScan = l.now + l.scanEvery()
		}
		l.open++
		if l.s.log.Enabled(context.Background(), slog.LevelDebug) {
			l.s.log.Debug("client connected", "remote", sockaddrString(sa))
		}
	}
	return nil
}

// close ends a connection; why is io.EOF, os.ErrDeadlineExceeded (idle), net.ErrClosed
// (shutdown) or the failed call's error, as the goroutine engine reports them.
func (l *loop) close(c *conn, why error) {
	// Logged before the close, as the goroutine engine does, so the line is there when the
	// client sees the close.
	l.s.ended(sockaddrString(c.remote), c.echoed, why)
	// Removed from the set explicitly: a forked child may briefly hold a copy of the
	// descriptor, and then closing it would not remove it.
	unix.EpollCtl(l.ep, unix.EPOLL_CTL_DEL, c.fd, nil)
	unix.Close(c.fd)
	l.conns[c.fd] = nil
	l.open--
	if c.pending != nil {
		l.putSpare(c.pending)
		c.pending = nil
	}
}

func (l *loop) closeAll(why error) {
	for _, c := range l.conns {
		if c != nil {
			l.close(c, why)
		}
	}
}

// closeIdle closes connections that have neither sent nor taken a byte for Idle: checked
// every Idle/8 while there are connections (a loop without any sleeps until something
// happens), so one closes between Idle and 9/8 of Idle after its last byte.
func (l *loop) closeIdle() {
	idle := l.s.cfg.Idle
	for _, c := range l.conns {
		if c != nil && l.now-c.last >= idle {
			l.close(c, os.ErrDeadlineExceeded)
		}
	}
	l.nextScan = l.now + l.scanEvery()
}

// tcpDefaults sets what Go sets on every accepted TCP connection, so both engines behave
// alike: no Nagle delay on small echoes, and keep-alive probes after 15 s of silence, every
// 15 s, 9 times (a vanished client is dropped even with idle=0).
func tcpDefaults(fd int) {
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 15)
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, 15)
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPCNT, 9)
}

func sockaddrString(sa unix.Sockaddr) string {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)).String()
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port)).String()
	case *unix.SockaddrUnix:
		return sa.Name
	}
	return "?"
}

// rawRead and rawWrite are read(2) and write(2) without telling the scheduler (RawSyscall):
// on a non-blocking socket they never block, and the scheduler's bookkeeping around each
// call is measurable here: while streaming, unix.Read and unix.Write made the process
// switch context twice as often (its monitor thread and P hand-offs) as these do.
func rawRead(fd int, p []byte) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

func rawWrite(fd int, p []byte) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}
