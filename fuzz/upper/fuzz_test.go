// Package upperfuzz fuzzes the reference upper server, in-process on 127.0.0.1, with
// fuzzer-chosen client byte streams, segmentations and endings (keep the connection,
// half-close, reset half-way, close without reading).
//
// Each input is checked: the server never panics (a panic ends the fuzz process), its heap
// and goroutines stay bounded, and every request is answered with exactly its upper-cased
// form (wire.Upper of the whole stream: a character split across segments must be upper-cased
// whole), followed by the server's close after a half-close. Every byte stream is a valid
// upper request, so there is no malformed input to be closed.
//
// Run it:
//
//	go test -run='^$' -fuzz='^FuzzUpperServer$' -fuzztime=20s -fuzzminimizetime=1s ./fuzz/upper/
//
// Plain `go test ./fuzz/upper/` replays the seeds in testdata/fuzz/ as regression tests.
package upperfuzz

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

	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/servers/upper"
	"github.com/sockspec/sockspec/wire"
)

const (
	maxInput    = 8 << 10 // longer inputs are cut: their replies fit the socket buffers unread
	ioTimeout   = 2 * time.Second
	checkEvery  = 256       // inputs between two checks of the memory bounds
	maxHeap     = 256 << 20 // the server's heap (with the fuzzer's own) stays under this
	maxRoutines = 200       // goroutines: two servers, their clients, the fuzzer's own
)

// Endings of an input's connection (the low two bits of the fuzzer's `end` byte).
const (
	keepOpen     = iota // send, then "\n"; read the reply; the connection serves the next input
	halfClose           // send, shutdown(SHUT_WR); read the reply, then the server's close
	resetHalfway        // send the first half, then reset (RST)
	closeUnread         // send everything and close without reading the reply
)

// fixture is the servers (one per case rule) and the connections kept between inputs.
type fixture struct {
	mu     sync.Mutex
	addr   [2]string       // by wire.Case
	conn   [2]*net.TCPConn // the kept connection, by wire.Case; nil: dial a new one
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

// servers starts the reference servers once per process.
func servers() (*fixture, error) {
	fixOnce.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		f := &fixture{stop: cancel}
		for _, rule := range []wire.Case{wire.Unicode, wire.ASCII} {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				cancel()
				fixError = err
				return
			}
			f.addr[rule] = ln.Addr().String()
			srv := upper.New(upper.Config{Mode: upper.Stream, Case: rule, Idle: time.Minute}, nil)
			f.done.Go(func() { srv.Serve(ctx, kit.Listener{Stream: ln}) })
		}
		fix = f
	})
	return fix, fixError
}

func (f *fixture) close() {
	for _, c := range f.conn {
		if c != nil {
			c.Close()
		}
	}
	f.stop()
	f.done.Wait()
}

// dial returns the kept connection for rule, or a new one from the next loopback address.
func (f *fixture) dial(rule wire.Case) (*net.TCPConn, error) {
	if c := f.conn[rule]; c != nil {
		return c, nil
	}
	f.ip++
	local := &net.TCPAddr{IP: net.IPv4(127, 0, byte(1+f.ip/250%250), byte(1+f.ip%250))}
	d := net.Dialer{Timeout: ioTimeout, LocalAddr: local}
	c, err := d.Dial("tcp", f.addr[rule])
	if err != nil {
		return nil, err
	}
	tc := c.(*net.TCPConn)
	tc.SetNoDelay(true) // each segment its own write
	f.conn[rule] = tc
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

func FuzzUpperServer(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzUpperServer.
	f.Fuzz(func(t *testing.T, data, cuts []byte, end byte) {
		fx, err := servers()
		if err != nil {
			t.Fatal(err)
		}
		fx.mu.Lock()
		defer fx.mu.Unlock()
		data = data[:min(len(data), maxInput)]
		rule := wire.Case(end >> 2 & 1)
		if err := fx.session(rule, data, cuts, int(end&3)); err != nil {
			if c := fx.conn[rule]; c != nil {
				c.Close() // a fresh connection for the next input
				fx.conn[rule] = nil
			}
			t.Fatalf("case %s, ending %d, %d bytes in %d segments: %v", rule, end&3, len(data), len(segments(data, cuts)), err)
		}
		fx.inputs++
		if fx.inputs%checkEvery == 0 {
			if err := bounds(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// session sends one input on rule's connection and checks the reply and the ending.
func (f *fixture) session(rule wire.Case, data, cuts []byte, ending int) error {
	c, err := f.dial(rule)
	if err != nil {
		return fmt.Errorf("dial: %v", err)
	}
	segs := segments(data, cuts)
	if ending == resetHalfway {
		segs = segs[:len(segs)/2]
	}
	if ending == keepOpen {
		segs = append(segs, []byte("\n")) // ends any held character: the reply is complete
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
		f.conn[rule] = nil
		return c.Close()
	case halfClose:
		f.conn[rule] = nil
		defer c.Close()
		if err := c.CloseWrite(); err != nil {
			return fmt.Errorf("half-close: %v", err)
		}
	}
	req := data
	if ending == keepOpen {
		req = append(append([]byte(nil), data...), '\n')
	}
	want := wire.Upper(rule, req)
	got := make([]byte, len(want))
	c.SetReadDeadline(time.Now().Add(ioTimeout))
	if n, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("reply to %s: want %d bytes %s, got %d %s: %v", wire.Quote(req, 80), len(want), wire.Quote(want, 80), n, wire.Quote(got[:n], 80), err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("reply to %s: want %s, got %s", wire.Quote(req, 80), wire.Quote(want, 120), wire.Quote(got, 120))
	}
	if ending == halfClose {
		var one [1]byte
		n, err := c.Read(one[:])
		if !errors.Is(err, io.EOF) {
			return fmt.Errorf("after the reply to a half-closed request: want the server's close, got %d more bytes %q, %v", n, one[:n], err)
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
