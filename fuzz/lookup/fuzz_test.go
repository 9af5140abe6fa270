// Package lookupfuzz feeds the reference lookup server, in-process on 127.0.0.1, with
// fuzzer-chosen client byte streams cut into fuzzer-chosen segments and ended in a
// fuzzer-chosen way (half-close, close, reset), in both per_connection modes, and checks each
// half-closed session against a model of the protocol written here: every request line gets
// its office (or UNKNOWN), a line over the limit closes the connection, the socketserver mode
// answers one request and closes, and the server never panics and keeps its memory bounded.
package lookupfuzz

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/sockspec/sockspec/fuzz/internal/fuzznet"

	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/servers/lookup"
	"github.com/sockspec/sockspec/wire"
)

const (
	maxStream   = 4 << 10 // longer inputs are cut: a session stays small
	maxLine     = 64      // the servers' max_line: small, so the fuzzer reaches it
	replyWait   = 5 * time.Second
	heapLimit   = 256 << 20 // the whole fuzz process, servers included
	checkMemory = 256       // sessions between two heap readings
)

// directory is the seed's address book, as the model knows it.
var directory = map[string]string{"JOHN": "C45", "DENISE": "C44", "PHOEBE": "D52", "ADAM": "B23"}

var (
	startOnce sync.Once
	addrs     [2]string // [0]: per_connection=many, [1]: one
	startErr  error
)

// start runs a reference server per mode for the life of the fuzz process. The settle time is
// long: a request without a newline is then answered only at the client's half-close, so the
// timing of the fuzzer's writes never splits a request.
func start() {
	for i, mode := range []string{"many", "one"} {
		srv, err := lookup.Protocol.New(map[string]string{"per_connection": mode, "settle": "30s", "max_line": "64"}, kit.Discard())
		if err != nil {
			startErr = err
			return
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			startErr = err
			return
		}
		go srv.Serve(context.Background(), kit.Listener{Stream: ln})
		addrs[i] = ln.Addr().String()
	}
}

// answer is the model's reply to one request: the office of the trimmed, upper-cased name.
func answer(req []byte) string {
	if office, ok := directory[string(wire.Upper(wire.Unicode, bytes.TrimSpace(req)))]; ok {
		return office
	}
	return "UNKNOWN"
}

// model returns what the server sends for a stream the client then half-closes, and whether
// that is only a prefix of it (a refused line: the replies of its read may be lost).
func model(stream []byte, one bool) (want []byte, prefixOnly bool) {
	for {
		i := bytes.IndexByte(stream, '\n')
		if i < 0 {
			switch {
			case len(stream) > maxLine:
				return want, true
			case len(stream) > 0:
				want = append(want, answer(stream)...) // answered at the half-close, no newline
			}
			return want, false
		}
		if i > maxLine {
			return want, true
		}
		want = append(append(want, answer(stream[:i])...), '\n')
		if one {
			return want, false
		}
		stream = stream[i+1:]
	}
}

var dialer = fuzznet.Dialer{Net: 1, Timeout: replyWait}

func dial(addr string) (*net.TCPConn, error) { return dialer.Dial(addr) }

func send(c *net.TCPConn, stream, cuts []byte) { fuzznet.Send(c, stream, cuts, replyWait) }

// readAll reads until EOF or replyWait, at most 64 KiB.
func readAll(c *net.TCPConn) ([]byte, error) {
	c.SetReadDeadline(time.Now().Add(replyWait))
	return io.ReadAll(io.LimitReader(c, 64<<10))
}

var heap = fuzznet.HeapCheck{Every: checkMemory, Limit: heapLimit}

func checkHeap(t *testing.T) { heap.Check(t) }

// FuzzLookup: mode bit 0 chooses per_connection (many, one); bits 1-2 the ending (half-close,
// close, reset); cuts the segment lengths; stream the bytes.
func FuzzLookup(f *testing.F) {
	f.Add(uint8(0), []byte{}, []byte("John"))
	f.Add(uint8(0), []byte{1}, []byte("john\nADAM  \r\nnobody\nPhoebe"))
	f.Add(uint8(1), []byte{3, 0}, []byte("Denise\nJohn\n"))
	f.Add(uint8(0), []byte{7}, append(bytes.Repeat([]byte("x"), 80), []byte("\nJohn\n")...))
	f.Add(uint8(2), []byte{0}, []byte("Adam\n\xff\xfe\n"))
	f.Add(uint8(4), []byte{}, []byte("Jo"))
	f.Add(uint8(0), []byte{5}, []byte("straße\n\xc3\n\n"))
	f.Fuzz(func(t *testing.T, mode uint8, cuts, stream []byte) {
		startOnce.Do(start)
		if startErr != nil {
			t.Fatal(startErr)
		}
		if len(stream) > maxStream {
			stream = stream[:maxStream]
		}
		one := mode&1 == 1
		c, err := dial(addrs[mode&1])
		if err != nil {
			t.Fatalf("the server no longer accepts connections: %v", err)
		}
		defer c.Close()
		send(c, stream, cuts)
		switch (mode >> 1) % 3 {
		case 1:
			c.Close()
			checkHeap(t)
			return
		case 2:
			c.SetLinger(0)
			c.Close()
			checkHeap(t)
			return
		}
		c.CloseWrite()
		got, err := readAll(c)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("no close within %v after the half-close; got %s", replyWait, wire.Quote(got, 200))
		}
		want, prefixOnly := model(stream, one)
		if prefixOnly && !bytes.HasPrefix(want, got) || !prefixOnly && !bytes.Equal(got, want) {
			t.Fatalf("stream %s (one=%v): got %s, want %s (prefix only: %v)",
				wire.Quote(stream, 200), one, wire.Quote(got, 200), wire.Quote(want, 200), prefixOnly)
		}
		checkHeap(t)
	})
}
