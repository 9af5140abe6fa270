package echo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockspec/sockspec/servers/kit"
)

func allBytes(repeat int) []byte {
	b := make([]byte, 0, 256*repeat)
	for range repeat {
		for i := range 256 {
			b = append(b, byte(i))
		}
	}
	return b
}

// ECHO-RESP-1: byte-exact, every byte value, also when the buffer is tiny.
func TestEchoesAllByteValues(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		for _, buffer := range []string{"64KiB", "1", "7"} {
			t.Run("buffer="+buffer, func(t *testing.T) {
				s := e.start(t, map[string]string{"buffer": buffer})
				c := dial(t, s.addr)
				want := allBytes(4)
				write(t, c, want)
				if got := readN(t, c, len(want), ioTimeout); !bytes.Equal(got, want) {
					t.Fatalf("echo differs: sent %s, got %s", quote(want), quote(got))
				}
			})
		}
	})
}

func TestOneByteAtATime(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, nil)
		c := dial(t, s.addr)
		for _, b := range []byte("h\xffé\x00") {
			write(t, c, []byte{b})
			if got := readN(t, c, 1, ioTimeout); got[0] != b {
				t.Fatalf("sent %q, got %q", b, got)
			}
		}
	})
}

// ECHO-LARGE-1: 1 MiB written while the client reads concurrently comes back intact.
func TestLargeConcurrentReadWrite(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, nil)
		c := dial(t, s.addr)
		want := make([]byte, 1<<20)
		rand.NewChaCha8([32]byte{1}).Read(want)
		wrote := make(chan error, 1)
		go func() {
			c.SetWriteDeadline(time.Now().Add(ioTimeout))
			_, err := c.Write(want)
			wrote <- err
		}()
		got := readN(t, c, len(want), ioTimeout)
		if err := <-wrote; err != nil {
			t.Fatalf("write: %v", err)
		}
		if i := firstDiff(got, want); i >= 0 {
			t.Fatalf("echo differs at byte %d of %d: sent %q, got %q", i, len(want), want[i], got[i])
		}
	})
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// ECHO-HALF-1: after the client half-closes, the server sends what remains and closes.
func TestHalfCloseSendsRestAndCloses(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, nil)
		c := dial(t, s.addr)
		want := bytes.Repeat([]byte("half-close "), 20000) // 220 kB: more than one buffer
		write(t, c, want)
		if err := c.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		got := readToEOF(t, c, len(want), 2*time.Second)
		if !bytes.Equal(got, want) {
			t.Fatalf("after half-close: want %d bytes echoed then EOF, got %d bytes (first difference at %d)",
				len(want), len(got), firstDiff(got, want))
		}
	})
}

// A client that sends without reading its echo is stopped by backpressure (the server stops
// reading once its send buffer and at most one pending buffer are full, so its memory stays
// bounded); after the client half-closes, everything comes back, then the close.
func TestBackpressureThenHalfClose(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, nil)
		c := dial(t, s.addr)
		const limit = 64 << 20 // far more than loopback socket buffers hold
		chunk := make([]byte, 256<<10)
		var sent []byte
		for len(sent) < limit {
			for i := range chunk {
				chunk[i] = byte(len(sent)+i) ^ byte((len(sent)+i)>>8)
			}
			c.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
			n, err := c.Write(chunk)
			sent = append(sent, chunk[:n]...)
			if isTimeout(err) {
				break
			}
			if err != nil {
				t.Fatalf("write after %d bytes: %v", len(sent), err)
			}
		}
		if len(sent) >= limit {
			t.Fatalf("the client wrote %d bytes without reading and was never held back: the server buffers without bound", len(sent))
		}
		if err := c.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		got := readToEOF(t, c, len(sent), ioTimeout)
		if i := firstDiff(got, sent); i >= 0 {
			t.Fatalf("after backpressure: want the %d bytes sent echoed then EOF; got %d bytes, first difference at %d",
				len(sent), len(got), i)
		}
	})
}

// ECHO-CONC-1: 50 concurrent clients are each echoed their own bytes.
func TestFiftyConcurrentClients(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, nil)
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for i := range 50 {
			c := dial(t, s.addr)
			wg.Go(func() {
				c.SetDeadline(time.Now().Add(ioTimeout))
				for j := range 20 {
					msg := fmt.Appendf(nil, "client %d message %d|", i, j)
					if _, err := c.Write(msg); err != nil {
						errs <- err
						return
					}
					got := make([]byte, len(msg))
					if _, err := io.ReadFull(c, got); err != nil {
						errs <- fmt.Errorf("client %d: %w", i, err)
						return
					}
					if !bytes.Equal(got, msg) {
						errs <- fmt.Errorf("client %d: sent %q, got %q", i, msg, got)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

// ECHO-IDLE-1: silent clients do not stop others being served.
func TestSilentClientsDoNotBlockOthers(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, nil)
		for range 8 {
			dial(t, s.addr)
		}
		c := dial(t, s.addr)
		write(t, c, []byte("ping"))
		if got := readN(t, c, 4, 2*time.Second); string(got) != "ping" {
			t.Fatalf("got %q, want %q", got, "ping")
		}
	})
}

func TestIdleTimeoutCloses(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, map[string]string{"idle": "400ms"})
		c := dial(t, s.addr)
		write(t, c, []byte("x"))
		readN(t, c, 1, ioTimeout)
		began := time.Now()
		readToEOF(t, c, 0, 3*time.Second)
		// The deadline is refreshed lazily: the close comes between 7/8 of idle and idle after
		// the server's last write (the margin below allows for a slow test scheduler).
		if took := time.Since(began); took < 200*time.Millisecond {
			t.Fatalf("closed after %v of silence, well before the 400ms idle timeout", took)
		}
		if !strings.Contains(s.logs.String(), "idle timeout") {
			t.Errorf("want an idle timeout log line; logs:\n%s", s.logs)
		}
	})
}

// Traffic keeps a connection open past the idle timeout: idle counts silence, not age.
func TestIdleTimeoutSparesActiveClient(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, map[string]string{"idle": "300ms"})
		c := dial(t, s.addr)
		began := time.Now()
		for i := range 6 { // one byte every 100 ms: 600 ms in all, twice the idle timeout
			write(t, c, []byte{byte('a' + i)})
			if got := readN(t, c, 1, ioTimeout); got[0] != byte('a'+i) {
				t.Fatalf("got %q, want %q", got, []byte{byte('a' + i)})
			}
			<-time.After(100 * time.Millisecond) // pacing the client, not synchronisation
		}
		write(t, c, []byte("z"))
		if got := readN(t, c, 1, ioTimeout); string(got) != "z" {
			t.Fatalf("after %v of steady traffic: got %q, want %q", time.Since(began), got, "z")
		}
	})
}

func TestIdleZeroNeverTimesOut(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, map[string]string{"idle": "0"})
		c := dial(t, s.addr)
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if n, err := c.Read(make([]byte, 1)); !isTimeout(err) {
			t.Fatalf("idle=0: want no close and no data, got %d bytes, %v", n, err)
		}
	})
}

// A client that resets does not disturb the server.
func TestClientResetLeavesServerServing(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, nil)
		bad := dial(t, s.addr)
		write(t, bad, []byte("about to reset"))
		bad.SetLinger(0)
		bad.Close() // RST, possibly while the echo is in flight
		c := dial(t, s.addr)
		write(t, c, []byte("still here"))
		if got := readN(t, c, 10, ioTimeout); string(got) != "still here" {
			t.Fatalf("got %q", got)
		}
	})
}

// Cancelling Serve with clients connected, one of them streaming, returns within 2 s and
// closes the clients.
func TestShutdownWithClientsConnected(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, nil)
		idle := dial(t, s.addr)
		busy := dial(t, s.addr)
		write(t, busy, []byte("warm up"))
		readN(t, busy, 7, ioTimeout)
		stopWriting := make(chan struct{})
		writerDone := make(chan struct{})
		go func() { // keep the server busy until it closes the connection
			defer close(writerDone)
			chunk := make([]byte, 32<<10)
			busy.SetWriteDeadline(time.Now().Add(ioTimeout))
			for {
				select {
				case <-stopWriting:
					return
				default:
				}
				if _, err := busy.Write(chunk); err != nil {
					return
				}
			}
		}()
		go io.Copy(io.Discard, busy) // ends when busy is closed below
		if took := s.stop(); took > 2*time.Second {
			t.Fatalf("Serve took %v to return", took)
		}
		readToEOF(t, idle, 0, 2*time.Second)
		close(stopWriting)
		busy.Close()
		<-writerDone
	})
}

// engine=epoll on a listener without a descriptor falls back to goroutines and still serves.
func TestEpollFallsBackOnListenerWithoutDescriptor(t *testing.T) {
	defer goleak.VerifyNone(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	srv := New(Config{Engine: EngineEpoll}, slog.New(slog.NewTextHandler(logs, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, kit.Listener{Stream: plainListener{ln}}) }()
	c := dial(t, ln.Addr().String())
	write(t, c, []byte("fallback"))
	if got := readN(t, c, 8, ioTimeout); string(got) != "fallback" {
		t.Fatalf("got %q, want %q", got, "fallback")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve returned %v, want nil", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Serve did not return within 2 s of cancel")
	}
	if !strings.Contains(logs.String(), "serving with goroutines") {
		t.Errorf("want a log line saying epoll is unavailable; logs:\n%s", logs)
	}
}

// plainListener hides the listener's descriptor (it is not a syscall.Conn).
type plainListener struct{ net.Listener }

func TestParseConfig(t *testing.T) {
	cfg, err := ParseConfig(nil)
	if err != nil || cfg != DefaultConfig() {
		t.Fatalf("ParseConfig(nil) = %+v, %v; want %+v", cfg, err, DefaultConfig())
	}
	cfg, err = ParseConfig(map[string]string{"buffer": "1MiB", "idle": "30s"})
	if err != nil || cfg.Buffer != 1<<20 || cfg.Idle != 30*time.Second {
		t.Fatalf("got %+v, %v", cfg, err)
	}
	if _, err := ParseConfig(map[string]string{"bufsize": "1"}); err == nil ||
		!strings.Contains(err.Error(), "buffer, engine, idle, loops") {
		t.Fatalf("unknown knob: want an error listing buffer, engine, idle, loops; got %v", err)
	}
	cfg, err = ParseConfig(map[string]string{"engine": "epoll", "loops": "4"})
	if err != nil || cfg.Engine != EngineEpoll || cfg.Loops != 4 {
		t.Fatalf("engine=epoll loops=4: got %+v, %v", cfg, err)
	}
	for _, bad := range []map[string]string{{"buffer": "0"}, {"buffer": "lots"}, {"buffer": "17MiB"}, {"idle": "-1s"}, {"idle": "5"},
		{"engine": "threads"}, {"loops": "0"}, {"loops": "257"}, {"loops": "many"}} {
		var ke *kit.KnobError
		if _, err := ParseConfig(bad); !errors.As(err, &ke) {
			t.Errorf("ParseConfig(%v): want a *kit.KnobError, got %v", bad, err)
		}
	}
}

func TestProtocolDescriptor(t *testing.T) {
	if Protocol.Name != "echo" || Protocol.Network != "tcp" || Protocol.Port != 8000 {
		t.Fatalf("descriptor: %+v", Protocol)
	}
	for _, k := range Protocol.Knobs {
		if k.Help == "" {
			t.Errorf("knob %s has no help", k.Name)
		}
	}
	if _, err := Protocol.New(map[string]string{"nope": "1"}, nil); err == nil {
		t.Fatal("Protocol.New accepted an unknown knob")
	}
	if _, err := Protocol.New(nil, nil); err != nil {
		t.Fatal(err)
	}
}
