package header64

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/wire"
)

// frame is msg with a 64-byte header, as the seed client sends it.
func frame(msg string) []byte {
	b, err := wire.AppendHeader(nil, 64, []byte(msg))
	if err != nil {
		panic(err)
	}
	return b
}

// header is a raw 64-byte header holding text, space padded.
func header(text string) []byte {
	return []byte(text + strings.Repeat(" ", 64-len(text)))
}

// The seed client: sends "Hi" then "!DISCONNECT", each as a header write and a body write;
// the server (reply none) sends nothing and closes (HDR-FRAME-1, HDR-DISC-1).
func TestSeedClientSession(t *testing.T) {
	s := start(t, nil)
	c := dial(t, s.addr)
	for _, msg := range []string{"Hi", "!DISCONNECT"} {
		f := frame(msg)
		write(t, c, f[:64])
		write(t, c, f[64:])
	}
	if got := readToEOF(t, c, 0, 2*time.Second); len(got) != 0 {
		t.Fatalf("reply none: want no bytes, got %s", quote(got))
	}
}

// Without the token the connection stays open after a well-formed message (HDR-FRAME-1).
func TestConnectionStaysOpenWithoutToken(t *testing.T) {
	s := start(t, map[string]string{"reply": "ack"})
	c := dial(t, s.addr)
	for range 3 {
		write(t, c, frame("hello"))
		if got := readN(t, c, len(DefaultAck), ioTimeout); string(got) != DefaultAck {
			t.Fatalf("want ack %q, got %q", DefaultAck, got)
		}
	}
}

// HDR-FRAME-2 and HDR-FRAME-4: header and body split one byte per write.
func TestOneByteAtATime(t *testing.T) {
	s := start(t, map[string]string{"reply": "echo"})
	c := dial(t, s.addr)
	body := "héllo, wörld"
	for _, b := range frame(body) {
		write(t, c, []byte{b})
	}
	if got := readN(t, c, len(body), ioTimeout); string(got) != body {
		t.Fatalf("echo: want %q, got %q", body, got)
	}
}

// HDR-FRAME-4: a body split across writes, the first piece sent with the header.
func TestBodySplitAcrossSegments(t *testing.T) {
	s := start(t, map[string]string{"reply": "echo"})
	c := dial(t, s.addr)
	body := strings.Repeat("0123456789", 10000) // 100 kB: several server reads
	f := frame(body)
	for _, cut := range [][2]int{{0, 70}, {70, 50000}, {50000, len(f)}} {
		write(t, c, f[cut[0]:cut[1]])
	}
	if got := readN(t, c, len(body), ioTimeout); string(got) != body {
		t.Fatalf("echo of a 100 kB body split in three differs")
	}
}

// HDR-FRAME-3: messages coalesced in one write are each processed: in ack mode each gets an
// ack; in none mode the token at the end is recognised and the server closes.
func TestCoalescedMessages(t *testing.T) {
	t.Run("ack", func(t *testing.T) {
		s := start(t, map[string]string{"reply": "ack"})
		c := dial(t, s.addr)
		var all []byte
		for i := range 5 {
			all = append(all, frame(fmt.Sprint("message ", i))...)
		}
		all = append(all, frame(DefaultToken)...)
		write(t, c, all)
		want := strings.Repeat(DefaultAck, 6) // the token is acknowledged too
		if got := readToEOF(t, c, len(want), 2*time.Second); string(got) != want {
			t.Fatalf("want 6 acks then a close, got %s", quote(got))
		}
	})
	t.Run("none", func(t *testing.T) {
		s := start(t, nil)
		c := dial(t, s.addr)
		write(t, c, append(append(frame("a"), frame("bc")...), frame(DefaultToken)...))
		readToEOF(t, c, 0, 2*time.Second)
	})
}

// HDR-FRAME-5: a zero-length message is accepted (and acknowledged in ack mode).
func TestZeroLengthMessage(t *testing.T) {
	t.Run("echo", func(t *testing.T) {
		s := start(t, map[string]string{"reply": "echo"})
		c := dial(t, s.addr)
		write(t, c, append(frame(""), frame("after")...))
		if got := readN(t, c, 5, ioTimeout); string(got) != "after" {
			t.Fatalf("want %q, got %q", "after", got)
		}
	})
	t.Run("ack", func(t *testing.T) {
		s := start(t, map[string]string{"reply": "ack", "ack": "ok"})
		c := dial(t, s.addr)
		write(t, c, frame(""))
		if got := readN(t, c, 2, ioTimeout); string(got) != "ok" {
			t.Fatalf("zero-length message: want ack %q, got %q", "ok", got)
		}
	})
}

// HDR-REPLY-1: one reply per message, in order.
func TestEchoRepliesInOrder(t *testing.T) {
	s := start(t, map[string]string{"reply": "echo"})
	c := dial(t, s.addr)
	var sent, want []byte
	for i := range 20 {
		m := fmt.Sprintf("<%d>", i)
		sent = append(sent, frame(m)...)
		want = append(want, m...)
	}
	write(t, c, sent)
	if got := readN(t, c, len(want), ioTimeout); !bytes.Equal(got, want) {
		t.Fatalf("replies out of order: want %q, got %q", want, got)
	}
}

// HDR-BAD-1, HDR-BAD-2: a bad header closes that connection with a Warn log, before any reply
// to it, and others are still served.
func TestBadHeadersCloseOnlyThatConnection(t *testing.T) {
	cases := map[string][]byte{
		"not a number":       header("hello"),
		"leading space":      header(" 5"),
		"digits then text":   header("5 bytes"),
		"negative":           header("-5"),
		"over the limit":     header("1048577"),
		"4 GiB":              header("4294967296"),
		"beyond int64":       header("99999999999999999999999"),
		"nul bytes":          make([]byte, 64),
		"newline terminated": header("5\n"),
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			s := start(t, map[string]string{"reply": "ack"})
			good := dial(t, s.addr)
			write(t, good, frame("first"))
			readN(t, good, len(DefaultAck), ioTimeout)

			bad := dial(t, s.addr)
			write(t, bad, append(frame("ok"), h...))
			got := readToEOF(t, bad, len(DefaultAck), 2*time.Second)
			if string(got) != DefaultAck {
				t.Fatalf("want the ack of the good message, then a close; got %s", quote(got))
			}
			if !strings.Contains(s.logs.String(), "level=WARN") {
				t.Errorf("want a Warn log for header %q; logs:\n%s", h, s.logs)
			}

			write(t, good, frame("second"))
			if got := readN(t, good, len(DefaultAck), ioTimeout); string(got) != DefaultAck {
				t.Fatalf("other client after the refusal: want ack, got %q", got)
			}
		})
	}
}

// HDR-BAD-2: a declared 4 GiB length closes at once and allocates nothing like it.
func TestHugeLengthDoesNotAllocate(t *testing.T) {
	s := start(t, map[string]string{"max_length": "1GiB"})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 4 {
		c := dial(t, s.addr)
		write(t, c, header("4294967296"))
		write(t, c, []byte("some of the body"))
		readToEOF(t, c, 0, 2*time.Second)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Fatalf("four 4 GiB headers made the process allocate %d MiB", grew>>20)
	}
}

// max_length is inclusive.
func TestMaxLengthBoundary(t *testing.T) {
	s := start(t, map[string]string{"max_length": "16", "reply": "echo"})
	c := dial(t, s.addr)
	write(t, c, frame("0123456789abcdef"))
	if got := readN(t, c, 16, ioTimeout); string(got) != "0123456789abcdef" {
		t.Fatalf("a body of exactly max_length: got %q", got)
	}
	write(t, c, frame("0123456789abcdefg"))
	readToEOF(t, c, 0, 2*time.Second)
}

// HDR-UTF8-1: a body that is not UTF-8 is refused openly: the server closes, with a Warn log.
func TestNotUTF8BodyIsRefused(t *testing.T) {
	s := start(t, map[string]string{"reply": "echo"})
	c := dial(t, s.addr)
	write(t, c, append(frame("fine"), frame("caf\xe9")...))
	if got := readToEOF(t, c, 4, 2*time.Second); string(got) != "fine" {
		t.Fatalf("want the valid message echoed then a close, got %s", quote(got))
	}
	if logs := s.logs.String(); !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "not UTF-8") {
		t.Errorf("want a Warn log naming UTF-8; logs:\n%s", logs)
	}
	// A multi-byte character split across segments is not a refusal.
	c = dial(t, s.addr)
	f := frame("é")
	write(t, c, f[:65])
	write(t, c, f[65:])
	if got := readN(t, c, 2, ioTimeout); string(got) != "é" {
		t.Fatalf("split character: got %q", got)
	}
}

// HDR-DISC-2: clients that leave without the token (cleanly, mid-message, or by reset) are
// cleaned up and others are still served; the goroutine check at the end of the test shows
// no handler is left behind.
func TestClientsLeavingWithoutToken(t *testing.T) {
	s := start(t, map[string]string{"reply": "ack"})
	clean := dial(t, s.addr)
	write(t, clean, frame("bye"))
	readN(t, clean, len(DefaultAck), ioTimeout)
	clean.Close()

	mid := dial(t, s.addr)
	write(t, mid, frame("a whole message")[:70])
	mid.Close()

	reset := dial(t, s.addr)
	write(t, reset, header("1000"))
	reset.SetLinger(0)
	reset.Close()

	silent := dial(t, s.addr)
	silent.Close()

	c := dial(t, s.addr)
	write(t, c, frame("still served"))
	if got := readN(t, c, len(DefaultAck), ioTimeout); string(got) != DefaultAck {
		t.Fatalf("got %q", got)
	}
}

// HDR-CONC-1: 50 concurrent clients each send 20 messages and the token; all get their acks
// and are closed.
func TestFiftyConcurrentClients(t *testing.T) {
	s := start(t, map[string]string{"reply": "ack", "ack": "+"})
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		c := dial(t, s.addr)
		wg.Go(func() {
			c.SetDeadline(time.Now().Add(ioTimeout))
			for j := range 20 {
				if _, err := c.Write(frame(fmt.Sprintf("client %d message %d", i, j))); err != nil {
					errs <- err
					return
				}
			}
			if _, err := c.Write(frame(DefaultToken)); err != nil {
				errs <- err
				return
			}
			got, err := io.ReadAll(c)
			if err != nil || string(got) != strings.Repeat("+", 21) {
				errs <- fmt.Errorf("client %d: want 21 acks then EOF, got %q, %v", i, got, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestKnobsHeaderSizeAndToken(t *testing.T) {
	s := start(t, map[string]string{"header_size": "8", "token": "bye", "reply": "echo"})
	c := dial(t, s.addr)
	write(t, c, []byte("5       hello3       bye"))
	if got := readToEOF(t, c, 8, 2*time.Second); string(got) != "hellobye" {
		t.Fatalf("header_size=8 token=bye: want %q then a close, got %s", "hellobye", quote(got))
	}
}

func TestIdleTimeoutCloses(t *testing.T) {
	s := start(t, map[string]string{"idle": "200ms"})
	c := dial(t, s.addr)
	write(t, c, header("10")[:30]) // a partial header, then silence
	readToEOF(t, c, 0, 2*time.Second)
	if !strings.Contains(s.logs.String(), "idle timeout") {
		t.Errorf("want an idle timeout log; logs:\n%s", s.logs)
	}
}

func TestShutdownWithClientsConnected(t *testing.T) {
	s := start(t, nil)
	a := dial(t, s.addr)
	b := dial(t, s.addr)
	write(t, a, frame("x"))
	write(t, b, header("100000")) // mid-message
	write(t, b, make([]byte, 1000))
	if took := s.stop(); took > 2*time.Second {
		t.Fatalf("Serve took %v to return", took)
	}
	readToEOF(t, a, 0, 2*time.Second)
	readToEOF(t, b, 0, 2*time.Second)
}

func TestParseConfig(t *testing.T) {
	cfg, err := ParseConfig(nil)
	if err != nil || cfg != DefaultConfig() {
		t.Fatalf("ParseConfig(nil) = %+v, %v; want %+v", cfg, err, DefaultConfig())
	}
	cfg, err = ParseConfig(map[string]string{"header_size": "16", "token": "QUIT", "reply": "ack",
		"ack": "OK", "max_length": "64KiB", "idle": "1m"})
	want := Config{HeaderSize: 16, Token: "QUIT", Reply: ReplyAck, Ack: "OK", MaxLength: 64 << 10, Idle: time.Minute}
	if err != nil || cfg != want {
		t.Fatalf("got %+v, %v; want %+v", cfg, err, want)
	}
	if _, err := ParseConfig(map[string]string{"header": "64"}); err == nil ||
		!strings.Contains(err.Error(), "ack, header_size, idle, max_length, reply, token") {
		t.Fatalf("unknown knob: want an error listing the knobs, got %v", err)
	}
	for _, bad := range []map[string]string{
		{"reply": "loud"}, {"header_size": "0"}, {"header_size": "x"}, {"max_length": "-1"},
		{"max_length": "2GiB"}, {"idle": "soon"}, {"max_length": "4"}, // shorter than the token
	} {
		var ke *kit.KnobError
		if _, err := ParseConfig(bad); !errors.As(err, &ke) {
			t.Errorf("ParseConfig(%v): want a *kit.KnobError, got %v", bad, err)
		}
	}
}

func TestProtocolDescriptor(t *testing.T) {
	if Protocol.Name != "header64" || Protocol.Network != "tcp" || Protocol.Port != 5050 {
		t.Fatalf("descriptor: %+v", Protocol)
	}
	for _, k := range Protocol.Knobs {
		if k.Help == "" {
			t.Errorf("knob %s has no help", k.Name)
		}
	}
	if _, err := Protocol.New(map[string]string{"reply": "sometimes"}, nil); err == nil {
		t.Fatal("Protocol.New accepted a bad reply mode")
	}
}
