// Package echofuzz fuzzes the reference echo server, in-process on 127.0.0.1, with
// fuzzer-chosen client byte streams, segmentations and endings (keep the connection,
// half-close, reset half-way, close without reading).
//
// Each input is checked: the server never panics (a panic ends the fuzz process), its heap
// and goroutines stay bounded, and every byte comes back unchanged and in order, followed by
// the server's close after a half-close. Every byte stream is a valid echo request, so there
// is no malformed input to be closed.
//
// Run it:
//
//	go test -run='^$' -fuzz='^FuzzEchoServer$' -fuzztime=20s -fuzzminimizetime=1s ./fuzz/echo/
//
// Plain `go test ./fuzz/echo/` replays the seeds in testdata/fuzz/ as regression tests.
package echofuzz

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sockspec/sockspec/servers/echo"
	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/wire"
)

const (
	maxInput    = 64 << 10 // longer inputs are cut: their echoes fit the socket buffers unread
	ioTimeout   = 2 * time.Second
	checkEvery  = 256       // inputs between two checks of the memory bounds
	maxHeap     = 256 << 20 // the server's heap (with the fuzzer's own) stays under this
	maxRoutines = 200       // goroutines: the server, its clients, the fuzzer's own
)

// Endings of an input's connection (the low two bits of the fuzzer's `end` byte).
const (
	keepOpen     = iota // send; read the echo; the connection serves the next input
	halfClose           // send, shutdown(SHUT_WR); read the echo, then the server's close
	resetHalfway        // send the first half, then reset (RST)
	closeUnread         // send everything and close without reading the echo
)

// fixture is the server and the connection kept between inputs.
type fixture struct {
	mu     sync.Mutex
	addr   string
	conn   *net.TCPConn // the kept connection; nil: dial a new one
	stop   context.CancelFunc
	done   sync.WaitGroup
	inputs int
	ip     int // rotates the client's loopback address: closed connections wait in TIME_WAIT
}

var (
	fix      *fixture
	fixOnce  sync.Once
	fixError error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fix != nil {
		fix.close()
	}
	os.Exit(code)
}

// server starts the reference server once per process.
func server() (*fixture, error) {
	fixOnce.Do(func() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fixError = err
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		f := &fixture{stop: cancel, addr: ln.Addr().String()}
		srv := echo.New(echo.Config{Buffer: echo.DefaultBuffer, Idle: time.Minute}, nil)
		f.done.Go(func() { srv.Serve(ctx, kit.Listener{Stream: ln}) })
		fix = f
	})
	return fix, fixError
}

func (f *fixture) close() {
	if f.conn != nil {
		f.conn.Close()
	}
	f.stop()
	f.done.Wait()
}

// dial returns the kept connection, or a new one from the next loopback address.
func (f *fixture) dial() (*net.TCPConn, error) {
	if f.conn != nil {
		return f.conn, nil
	}
	f.ip++
	local := &net.TCPAddr{IP: net.IPv4(127, 0, byte(1+f.ip/250%250), byte(1+f.ip%250))}
	d := net.Dialer{Timeout: ioTimeout, LocalAddr: local}
	c, err := d.Dial("tcp", f.addr)
	if err != nil {
		return nil, err
	}
	tc := c.(*net.TCPConn)
	tc.SetNoDelay(true) // each segment its own write
	f.conn = tc
	return tc, nil
}

// segments cuts data into pieces whose lengths come from cuts (1 to 256 bytes, cyclically).
func segments(data, cuts []byte) [][]byte {
	if len(cuts) == 0 {
		return [][]byte{data}
	}
	var out [][]byte
	for i := 0; len(data) > 0; i++ {
		n := min(len(data), int(cuts[i%len(cuts)])+1)
		out = append(out, data[:n])
		data = data[n:]
	}
	return out
}

func FuzzEchoServer(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzEchoServer.
	f.Fuzz(func(t *testing.T, data, cuts []byte, end byte) {
		fx, err := server()
		if err != nil {
			t.Fatal(err)
		}
		fx.mu.Lock()
		defer fx.mu.Unlock()
		data = data[:min(len(data), maxInput)]
		if err := fx.session(data, cuts, int(end&3)); err != nil {
			if fx.conn != nil {
				fx.conn.Close() // a fresh connection for the next input
				fx.conn = nil
			}
			t.Fatalf("ending %d, %d bytes in %d segments: %v", end&3, len(data), len(segments(data, cuts)), err)
		}
		fx.inputs++
		if fx.inputs%checkEvery == 0 {
			if err := bounds(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// session sends one input on the connection and checks the echo and the ending.
func (f *fixture) session(data, cuts []byte, ending int) error {
	c, err := f.dial()
	if err != nil {
		return fmt.Errorf("dial: %v", err)
	}
	segs := segments(data, cuts)
	if ending == resetHalfway {
		segs = segs[:len(segs)/2]
	}
	for _, s := range segs {
		c.SetWriteDeadline(time.Now().Add(ioTimeout))
		if _, err := c.Write(s); err != nil {
			return fmt.Errorf("write: %v", err)
		}
	}
	switch ending {
	case resetHalfway, closeUnread:
		if ending == resetHalfway {
			c.SetLinger(0)
		}
		f.conn = nil
		return c.Close()
	case halfClose:
		f.conn = nil
		defer c.Close()
		if err := c.CloseWrite(); err != nil {
			return fmt.Errorf("half-close: %v", err)
		}
	}
	got := make([]byte, len(data))
	c.SetReadDeadline(time.Now().Add(ioTimeout))
	if n, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("echo of %s: got %d of %d bytes %s: %v", wire.Quote(data, 80), n, len(data), wire.Quote(got[:n], 80), err)
	}
	if !bytes.Equal(got, data) {
		return fmt.Errorf("echo of %s: got %s", wire.Quote(data, 120), wire.Quote(got, 120))
	}
	if ending == halfClose {
		var one [1]byte
		n, err := c.Read(one[:])
		if !errors.Is(err, io.EOF) {
			return fmt.Errorf("after the echo of a half-closed stream: want the server's close, got %d more bytes %q, %v", n, one[:n], err)
		}
	}
	return nil
}

// bounds checks the process's heap and goroutines (the servers live in this process).
func bounds() error {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapInuse > maxHeap {
		return fmt.Errorf("heap in use %d bytes, over the bound of %d", ms.HeapInuse, maxHeap)
	}
	if n := runtime.NumGoroutine(); n > maxRoutines {
		return fmt.Errorf("%d goroutines, over the bound of %d: connections are not ending", n, maxRoutines)
	}
	return nil
}
