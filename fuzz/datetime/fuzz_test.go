// Package datetimefuzz feeds the reference datetime server, in-process on 127.0.0.1, with
// fuzzer-chosen client byte streams cut into fuzzer-chosen segments and ended in a
// fuzzer-chosen way (half-close, close, reset), and checks each half-closed session against a
// model of the protocol written here: the first line (or the whole stream, without a newline)
// is the request; the three options get the current local date and time (within 2 s of the
// fuzzer's clock), anything else UNKNOWN OPTION: and the request upper-cased; a request over
// the limit closes the connection without a reply; the server never panics and keeps its
// memory bounded.
package datetimefuzz

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/sockspec/sockspec/fuzz/internal/fuzznet"

	"github.com/sockspec/sockspec/servers/datetime"
	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/wire"
)

const (
	maxStream   = 4 << 10 // longer inputs are cut: a session stays small
	maxLine     = 64      // the server's max_line: small, so the fuzzer reaches it
	replyWait   = 5 * time.Second
	tolerance   = 2 * time.Second
	heapLimit   = 256 << 20 // the whole fuzz process, server included
	checkMemory = 256       // sessions between two heap readings
)

var (
	startOnce sync.Once
	addr      string
	startErr  error
)

// start runs the reference server for the life of the fuzz process. The settle time is long:
// a request without a newline is then complete only at the client's half-close, so the timing
// of the fuzzer's writes never cuts a request short.
func start() {
	srv, err := datetime.Protocol.New(map[string]string{"settle": "30s", "max_line": "64"}, kit.Discard())
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
	addr = ln.Addr().String()
}

// option is a reply form: its layout and a pattern for its shape.
type option struct {
	layout string
	shape  *regexp.Regexp
}

var options = map[string]option{
	"Date":          {"2006-01-02", regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)},
	"Time":          {"15:04:05", regexp.MustCompile(`^\d{2}:\d{2}:\d{2}$`)},
	"Date and Time": {"2006-01-02 15:04:05", regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$`)},
	"DateAndTime":   {"2006-01-02 15:04:05", regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$`)},
}

// request returns the request the server reads from a stream the client half-closes, and
// whether there is one (false: nothing to answer, or a line over the limit).
func request(stream []byte) ([]byte, bool) {
	if i := bytes.IndexByte(stream, '\n'); i >= 0 {
		stream = stream[:i]
	} else if len(stream) == 0 {
		return nil, false
	}
	if len(stream) > maxLine {
		return nil, false
	}
	return stream, true
}

// checkReply returns what is wrong with the reply to req, read between sent and got.
func checkReply(req, reply []byte, sent, got time.Time) string {
	name := string(bytes.TrimSpace(req))
	opt, ok := options[name]
	if !ok {
		want := append([]byte("UNKNOWN OPTION: "), wire.Upper(wire.Unicode, []byte(name))...)
		if !bytes.Equal(reply, want) {
			return "want " + wire.Quote(want, 200)
		}
		return ""
	}
	if !opt.shape.Match(reply) {
		return "not of the form " + opt.layout
	}
	at, err := time.ParseInLocation(opt.layout, string(reply), time.Local)
	if err != nil {
		return err.Error()
	}
	// A date or a time of day alone: compare it with the clock read the same way.
	lo, hi := sent.Add(-tolerance), got.Add(tolerance)
	if opt.layout != "2006-01-02 15:04:05" {
		lo, _ = time.ParseInLocation(opt.layout, lo.Format(opt.layout), time.Local)
		hi, _ = time.ParseInLocation(opt.layout, hi.Format(opt.layout), time.Local)
		if hi.Before(lo) { // the window crosses midnight
			if !at.Before(lo) || !at.After(hi) {
				return ""
			}
			return "not within 2 s of the clock"
		}
	}
	if at.Before(lo.Truncate(time.Second)) || at.After(hi) {
		return "not within 2 s of the clock"
	}
	return ""
}

var dialer = fuzznet.Dialer{Net: 2, Timeout: replyWait}

func dial() (*net.TCPConn, error) { return dialer.Dial(addr) }

func send(c *net.TCPConn, stream, cuts []byte) { fuzznet.Send(c, stream, cuts, replyWait) }

var heap = fuzznet.HeapCheck{Every: checkMemory, Limit: heapLimit}

func checkHeap(t *testing.T) { heap.Check(t) }

// FuzzDatetime: mode chooses the ending (half-close, close, reset); cuts the segment
// lengths; stream the bytes.
func FuzzDatetime(f *testing.F) {
	f.Add(uint8(0), []byte{}, []byte("Date"))
	f.Add(uint8(0), []byte{1}, []byte("Time\n"))
	f.Add(uint8(0), []byte{3, 0}, []byte("Date and Time\r\nextra"))
	f.Add(uint8(0), []byte{}, []byte("DateAndTime"))
	f.Add(uint8(0), []byte{2}, []byte("what day is it? straße\n"))
	f.Add(uint8(0), []byte{7}, bytes.Repeat([]byte("y"), 80))
	f.Add(uint8(1), []byte{0}, []byte("\xff\xfe"))
	f.Add(uint8(2), []byte{}, []byte("Da"))
	f.Fuzz(func(t *testing.T, mode uint8, cuts, stream []byte) {
		startOnce.Do(start)
		if startErr != nil {
			t.Fatal(startErr)
		}
		if len(stream) > maxStream {
			stream = stream[:maxStream]
		}
		c, err := dial()
		if err != nil {
			t.Fatalf("the server no longer accepts connections: %v", err)
		}
		defer c.Close()
		sent := time.Now()
		send(c, stream, cuts)
		switch mode % 3 {
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
		c.SetReadDeadline(time.Now().Add(replyWait))
		reply, err := io.ReadAll(io.LimitReader(c, 64<<10))
		got := time.Now()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("no close within %v after the half-close; got %s", replyWait, wire.Quote(reply, 200))
		}
		req, ok := request(stream)
		if !ok {
			if len(reply) > 0 {
				t.Fatalf("stream %s: want no reply (nothing to answer, or a request over %d bytes), got %s",
					wire.Quote(stream, 200), maxLine, wire.Quote(reply, 200))
			}
			checkHeap(t)
			return
		}
		if problem := checkReply(req, reply, sent, got); problem != "" {
			t.Fatalf("request %s: reply %s: %s", wire.Quote(req, 200), wire.Quote(reply, 200), problem)
		}
		checkHeap(t)
	})
}
