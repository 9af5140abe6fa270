package peer

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testServer accepts connections on 127.0.0.1:0 and runs handle for each;
// cleanup closes the listener and every connection and waits for handlers.
type testServer struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

func serve(t *testing.T, handle func(c *net.TCPConn)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				// Handlers must end by themselves; cleanup closing the
				// connection unblocks any that still wait.
				handle(c.(*net.TCPConn))
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *testServer) addr() string { return s.ln.Addr().String() }

// dialT dials s and closes the connection at cleanup.
func dialT(t *testing.T, addr string, opts ...Option) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// echo copies back everything it reads until EOF.
func echo(c *net.TCPConn) {
	buf := make([]byte, 4096)
	for {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Read(buf)
		if n > 0 {
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// result passes one value from a handler to the test, with a deadline.
type result[T any] chan T

func newResult[T any]() result[T] { return make(chan T, 1) }

func (r result[T]) get(t *testing.T) T {
	t.Helper()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case v := <-r:
		return v
	case <-timer.C:
		t.Fatal("the test server reported nothing within 10s")
		panic("unreachable")
	}
}
