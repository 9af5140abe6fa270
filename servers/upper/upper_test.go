package upper

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/wire"
)

// ask sends msg and reads a reply of len(want) bytes.
func ask(t *testing.T, c net.Conn, msg, want string) {
	t.Helper()
	write(t, c, []byte(msg))
	if got := readN(t, c, len(want), ioTimeout); string(got) != want {
		t.Fatalf("sent %q: want %q, got %q", msg, want, got)
	}
}

// expectNothing checks that no byte arrives for d (a client left waiting by the model).
func expectNothing(t *testing.T, c net.Conn, d time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	b := make([]byte, 64)
	if n, err := c.Read(b); !isTimeout(err) {
		t.Fatalf("want no reply within %v, got %q, %v", d, b[:n], err)
	}
}

// UP-RESP-1, UP-STREAM-1, UP-EOF-1 in stream mode.
func TestStreamAnswersEachChunkUntilEOF(t *testing.T) {
	s := start(t, nil)
	c := dial(t, s.addr)
	ask(t, c, "hello", "HELLO")
	ask(t, c, "straße", "STRASSE")
	ask(t, c, "ǆ émile 1", "Ǆ ÉMILE 1")
	c.CloseWrite()
	readToEOF(t, c, 0, 2*time.Second)
}

// UP-RESP-1 and UP-EOF-1 in once mode: one reply, then the server closes.
func TestOnceAnswersThenCloses(t *testing.T) {
	s := start(t, map[string]string{"mode": "once"})
	c := dial(t, s.addr)
	write(t, c, []byte("straße"))
	if got := readToEOF(t, c, 7, 2*time.Second); string(got) != "STRASSE" {
		t.Fatalf("want %q then a close, got %s", "STRASSE", quote(got))
	}
	// A client that connects and closes without sending leaves the server serving.
	silent := dial(t, s.addr)
	silent.Close()
	c = dial(t, s.addr)
	write(t, c, []byte("again"))
	if got := readToEOF(t, c, 5, 2*time.Second); string(got) != "AGAIN" {
		t.Fatalf("got %s", quote(got))
	}
}

// In once mode the request is whatever the first read returns, at most 4096 bytes.
func TestOnceReadsAtMost4096Bytes(t *testing.T) {
	s := start(t, map[string]string{"mode": "once"})
	c := dial(t, s.addr)
	sent := bytes.Repeat([]byte("abcdefgh"), 1024) // 8 KiB
	write(t, c, sent)
	got := readToEOF(t, c, 4096, 2*time.Second)
	if len(got) == 0 || !bytes.Equal(got, bytes.ToUpper(sent[:len(got)])) {
		t.Fatalf("want the upper-cased first read (1 to 4096 bytes), got %d bytes: %s", len(got), quote(got))
	}
}

func TestASCIICase(t *testing.T) {
	s := start(t, map[string]string{"case": "ascii"})
	c := dial(t, s.addr)
	ask(t, c, "straße é", "STRAßE é")
}

// UP-SPLIT-1: a multi-byte character split across two segments is upper-cased whole. The
// reply to the first segment proves the server read the split.
func TestSplitCharacterAcrossSegments(t *testing.T) {
	for _, tc := range []struct{ first, second, want1, want2 string }{
		{"a\xc3", "\xa9b", "A", "ÉB"},         // é
		{"x\xc3", "\x9f", "X", "SS"},          // ß
		{"y\xe1\xba", "\x9e", "Y", "ẞ"},       // ẞ, 3 bytes, split 2+1
		{"z\xf0", "\x90\x90\xa8!", "Z", "𐐀!"}, // Deseret 𐐨, 4 bytes
	} {
		t.Run(fmt.Sprintf("%q", tc.first+tc.second), func(t *testing.T) {
			s := start(t, nil)
			c := dial(t, s.addr)
			ask(t, c, tc.first, tc.want1)
			ask(t, c, tc.second, tc.want2)
		})
	}
}

// A stream that ends inside a character gets the held bytes back as they came.
func TestEOFInsideCharacterFlushesHeldBytes(t *testing.T) {
	s := start(t, nil)
	c := dial(t, s.addr)
	ask(t, c, "x\xc3", "X")
	c.CloseWrite()
	if got := readToEOF(t, c, 1, 2*time.Second); string(got) != "\xc3" {
		t.Fatalf("want the held byte %q then a close, got %s", "\xc3", quote(got))
	}
}

func TestOneByteAtATime(t *testing.T) {
	s := start(t, nil)
	c := dial(t, s.addr)
	var got []byte
	for _, b := range []byte("aßé") {
		write(t, c, []byte{b})
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		buf := make([]byte, 8)
		n, _ := c.Read(buf) // a lead byte alone gets no reply yet
		got = append(got, buf[:n]...)
	}
	got = append(got, readN(t, c, len("ASSÉ")-len(got), ioTimeout)...)
	if string(got) != "ASSÉ" {
		t.Fatalf("got %q", got)
	}
}

// UP-LARGE-1: 64 KiB sent at once is answered in full.
func TestLargeRequest(t *testing.T) {
	s := start(t, nil)
	c := dial(t, s.addr)
	sent := []byte(strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789éß\xff", 2000)[:64<<10])
	want := wire.Upper(wire.Unicode, sent)
	wrote := make(chan error, 1)
	go func() {
		c.SetWriteDeadline(time.Now().Add(ioTimeout))
		_, err := c.Write(sent)
		wrote <- err
	}()
	// The tail may be an incomplete character, held until EOF.
	got := readN(t, c, len(want)-2, ioTimeout)
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	c.CloseWrite()
	got = append(got, readToEOF(t, c, 2, 2*time.Second)...)
	if !bytes.Equal(got, want) {
		t.Fatalf("64 KiB reply differs: %d bytes, want %d", len(got), len(want))
	}
}

// UP-UTF8-1: bytes that are not UTF-8 are answered unchanged, and the session goes on.
func TestNotUTF8(t *testing.T) {
	s := start(t, nil)
	c := dial(t, s.addr)
	ask(t, c, "caf\xe9 \xff\xfe ok", "CAF\xe9 \xff\xfe OK")
	ask(t, c, "still", "STILL")
}

// UP-IDLE-1: eight silent clients do not stop a new one being served.
func TestSilentClientsDoNotBlockOthers(t *testing.T) {
	s := start(t, nil)
	for range 8 {
		dial(t, s.addr)
	}
	ask(t, dial(t, s.addr), "served", "SERVED")
}

// model=sequential: a second client is answered only after the first leaves.
func TestSequentialModel(t *testing.T) {
	s := start(t, map[string]string{"model": "sequential"})
	a := dial(t, s.addr)
	ask(t, a, "a", "A")
	b := dial(t, s.addr)
	write(t, b, []byte("b"))
	expectNothing(t, b, 300*time.Millisecond)
	a.Close()
	if got := readN(t, b, 1, 2*time.Second); string(got) != "B" {
		t.Fatalf("second client after the first left: got %q", got)
	}
}

// model=pool=2: two clients are served at once; a third waits for one of them to leave.
func TestPoolModel(t *testing.T) {
	s := start(t, map[string]string{"model": "pool=2"})
	a := dial(t, s.addr)
	ask(t, a, "a", "A")
	b := dial(t, s.addr)
	ask(t, b, "b", "B")
	c := dial(t, s.addr)
	write(t, c, []byte("c"))
	expectNothing(t, c, 300*time.Millisecond)
	ask(t, a, "still a", "STILL A")
	b.Close()
	if got := readN(t, c, 1, 2*time.Second); string(got) != "C" {
		t.Fatalf("third client after one left: got %q", got)
	}
}

// model=per-conn (default): many clients, all connected at once, are all served.
func TestPerConnModelServesManyAtOnce(t *testing.T) {
	s := start(t, map[string]string{"model": "per-conn"})
	var conns []net.Conn
	for range 20 {
		conns = append(conns, dial(t, s.addr))
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(conns))
	for i, c := range conns {
		wg.Go(func() {
			msg := fmt.Sprintf("client %d", i)
			c.SetDeadline(time.Now().Add(2 * time.Second))
			if _, err := c.Write([]byte(msg)); err != nil {
				errs <- err
				return
			}
			got := make([]byte, len(msg))
			if _, err := io.ReadFull(c, got); err != nil || string(got) != strings.ToUpper(msg) {
				errs <- fmt.Errorf("client %d: got %q, %v", i, got, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestDelayBeforeEachReply(t *testing.T) {
	s := start(t, map[string]string{"delay": "250ms"})
	c := dial(t, s.addr)
	for range 2 {
		began := time.Now()
		ask(t, c, "slow", "SLOW")
		if took := time.Since(began); took < 250*time.Millisecond {
			t.Fatalf("delay=250ms: reply came after %v", took)
		}
	}
}

// Shutdown does not wait for a pending delay.
func TestShutdownDuringDelay(t *testing.T) {
	for _, mode := range []string{"stream", "once"} {
		t.Run(mode, func(t *testing.T) {
			s := start(t, map[string]string{"delay": "1m", "mode": mode})
			c := dial(t, s.addr)
			write(t, c, []byte("never answered"))
			idle := dial(t, s.addr)
			expectNothing(t, c, 100*time.Millisecond) // most likely in its delay by now
			if took := s.stop(); took > 2*time.Second {
				t.Fatalf("Serve took %v to return", took)
			}
			readToEOF(t, c, 0, 2*time.Second)
			readToEOF(t, idle, 0, 2*time.Second)
		})
	}
}

func TestShutdownSequentialWithWaitingClients(t *testing.T) {
	s := start(t, map[string]string{"model": "sequential"})
	a := dial(t, s.addr)
	ask(t, a, "a", "A")
	b := dial(t, s.addr) // waiting in the backlog
	write(t, b, []byte("b"))
	if took := s.stop(); took > 2*time.Second {
		t.Fatalf("Serve took %v to return", took)
	}
	readToEOF(t, a, 0, 2*time.Second)
	readToEOF(t, b, 0, 2*time.Second)
}

func TestClientResetLeavesServerServing(t *testing.T) {
	s := start(t, nil)
	bad := dial(t, s.addr)
	write(t, bad, bytes.Repeat([]byte("x"), 100000))
	bad.SetLinger(0)
	bad.Close()
	ask(t, dial(t, s.addr), "ok", "OK")
}

func TestIdleTimeoutCloses(t *testing.T) {
	s := start(t, map[string]string{"idle": "200ms"})
	c := dial(t, s.addr)
	ask(t, c, "x", "X")
	readToEOF(t, c, 0, 2*time.Second)
	if !strings.Contains(s.logs.String(), "idle timeout") {
		t.Errorf("want an idle timeout log; logs:\n%s", s.logs)
	}
}

func TestParseConfig(t *testing.T) {
	cfg, err := ParseConfig(nil)
	if err != nil || cfg != DefaultConfig() {
		t.Fatalf("ParseConfig(nil) = %+v, %v; want %+v", cfg, err, DefaultConfig())
	}
	cfg, err = ParseConfig(map[string]string{"mode": "once", "case": "ascii", "model": "pool=4", "delay": "5s", "idle": "0"})
	want := Config{Mode: Once, Case: wire.ASCII, Model: kit.Model{Kind: "pool", N: 4}, Delay: 5 * time.Second}
	if err != nil || cfg != want {
		t.Fatalf("got %+v, %v; want %+v", cfg, err, want)
	}
	if _, err := ParseConfig(map[string]string{"threads": "4"}); err == nil ||
		!strings.Contains(err.Error(), "case, delay, idle, mode, model") {
		t.Fatalf("unknown knob: want an error listing the knobs, got %v", err)
	}
	for _, bad := range []map[string]string{
		{"mode": "batch"}, {"case": "lower"}, {"model": "pool=0"}, {"model": "threads"}, {"delay": "-1s"}, {"idle": "x"},
	} {
		var ke *kit.KnobError
		if _, err := ParseConfig(bad); !errors.As(err, &ke) {
			t.Errorf("ParseConfig(%v): want a *kit.KnobError, got %v", bad, err)
		}
	}
}

func TestProtocolDescriptor(t *testing.T) {
	if Protocol.Name != "upper" || Protocol.Network != "tcp" || Protocol.Port != 1235 {
		t.Fatalf("descriptor: %+v", Protocol)
	}
	for _, k := range Protocol.Knobs {
		if k.Help == "" {
			t.Errorf("knob %s has no help", k.Name)
		}
	}
}
