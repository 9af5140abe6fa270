// Package fuzznet holds what the fuzz targets that talk to an in-process server over loopback
// share: dialling from many source addresses, sending a stream in fuzzer-chosen segments, and
// a periodic bound on the process's heap and goroutines.
package fuzznet

import (
	"net"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"
)

// Dialer spreads connections over 127.Net.x.y source addresses so that TIME_WAIT never
// exhausts the ports of one; each fuzz package uses its own Net.
type Dialer struct {
	Net     byte
	Timeout time.Duration
	n       atomic.Uint32
}

// Dial connects to addr from the next source address.
func (d *Dialer) Dial(addr string) (*net.TCPConn, error) {
	n := d.n.Add(1)
	nd := net.Dialer{Timeout: d.Timeout, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, d.Net, byte(n/250%250), byte(2+n%250))}}
	c, err := nd.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// Send writes stream in segments whose lengths the cuts choose (1..32 bytes, at most 64
// segments, the rest in one write), under a deadline. Write errors are the server's refusal:
// ignored.
func Send(c *net.TCPConn, stream, cuts []byte, timeout time.Duration) {
	c.SetWriteDeadline(time.Now().Add(timeout))
	for i := 0; len(stream) > 0; i++ {
		n := len(stream)
		if len(cuts) > 0 && i < 64 {
			n = min(n, 1+int(cuts[i%len(cuts)]%32))
		}
		if _, err := c.Write(stream[:n]); err != nil {
			return
		}
		stream = stream[n:]
	}
}

// HeapCheck fails a fuzz input when, every Every sessions, the heap holds more than Limit
// bytes or over 2000 goroutines run (connections not released).
type HeapCheck struct {
	Every int64
	Limit uint64
	n     atomic.Int64
}

// Check counts one session and measures every Every of them.
func (h *HeapCheck) Check(t testing.TB) {
	if h.n.Add(1)%h.Every != 0 {
		return
	}
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 && s[0].Value.Uint64() > h.Limit {
		t.Fatalf("heap holds %d bytes, over the %d limit", s[0].Value.Uint64(), h.Limit)
	}
	if n := runtime.NumGoroutine(); n > 2000 {
		t.Fatalf("%d goroutines: connections are not being released", n)
	}
}
