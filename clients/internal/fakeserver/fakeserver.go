// Package fakeserver runs small TCP and UDP servers on the loopback for the clients' tests,
// well-behaved or misbehaving (closing mid-frame, sending garbage, never answering, answering
// one byte at a time). Everything it starts ends when the test ends.
package fakeserver

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// Handler serves one connection. It must return when ctx ends or the connection is closed.
type Handler func(ctx context.Context, c net.Conn)

// TCP serves handle on 127.0.0.1:0 and returns the address. At the end of the test it closes
// the listener and every connection and waits for the handlers.
func TCP(t testing.TB, handle Handler) string {
	t.Helper()
	return TCPOn(t, "127.0.0.1:0", handle)
}

// TCPOn is TCP on a chosen loopback address ("[::1]:0" for IPv6).
func TCPOn(t testing.TB, addr string, handle Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				handle(ctx, c)
			})
		}
	})
	t.Cleanup(func() {
		cancel()
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// UDP serves reply on 127.0.0.1:0: for each datagram, reply returns the datagrams to send
// back (none to stay silent). It returns the address.
func UDP(t testing.TB, reply func(in []byte) [][]byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen udp: %v", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			for _, out := range reply(buf[:n]) {
				pc.WriteTo(out, from)
			}
		}
	})
	t.Cleanup(func() {
		pc.Close()
		wg.Wait()
	})
	return pc.LocalAddr().String()
}

// ClosedPort returns a loopback TCP address where nothing listens.
func ClosedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// ClosedUDPPort returns a loopback UDP address where nothing listens.
func ClosedUDPPort(t testing.TB) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

// ReadFull reads n bytes, or fewer when the connection ends; it gives up after 5 s.
func ReadFull(c net.Conn, n int) []byte {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, n)
	k, _ := io.ReadFull(c, b)
	return b[:k]
}

// Drain reads until the connection ends (EOF, error, or ctx), up to 5 s, and returns it all.
func Drain(ctx context.Context, c net.Conn) []byte {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	b, _ := io.ReadAll(io.LimitReader(c, 16<<20))
	return b
}

// Silent holds the connection open without a byte until the test ends.
func Silent(ctx context.Context, c net.Conn) {
	<-ctx.Done()
}

// Drip writes b one byte per Write.
func Drip(c net.Conn, b []byte) error {
	for i := range b {
		if _, err := c.Write(b[i : i+1]); err != nil {
			return err
		}
	}
	return nil
}

// Reset closes the connection with a TCP reset instead of a FIN.
func Reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// Output is a goroutine-safe writer for a client's stdout or stderr that a test can wait on.
type Output struct {
	mu     sync.Mutex
	b      []byte
	notify chan struct{} // closed and replaced on every write
}

// Write implements io.Writer.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.b = append(o.b, p...)
	if o.notify != nil {
		close(o.notify)
		o.notify = nil
	}
	return len(p), nil
}

// String returns everything written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return string(o.b)
}

// WaitFor waits until the output contains s, failing the test after timeout.
func (o *Output) WaitFor(t testing.TB, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		o.mu.Lock()
		if strings.Contains(string(o.b), s) {
			o.mu.Unlock()
			return
		}
		if o.notify == nil {
			o.notify = make(chan struct{})
		}
		ch := o.notify
		o.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("waited %v for %q in the output; got %q", timeout, s, o.String())
		}
	}
}

// Background runs fn (a client's Run) in a goroutine. The returned wait gives fn's error,
// failing the test when fn has not returned within timeout: a client must never hang.
func Background(t testing.TB, fn func() error) (wait func(timeout time.Duration) error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	var (
		once sync.Once
		err  error
	)
	wait = func(timeout time.Duration) error {
		t.Helper()
		once.Do(func() {
			select {
			case err = <-done:
			case <-time.After(timeout):
				t.Fatalf("the client did not return within %v", timeout)
			}
		})
		return err
	}
	t.Cleanup(func() { wait(10 * time.Second) })
	return wait
}
