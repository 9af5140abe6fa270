package peer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestEchoAndTranscript(t *testing.T) {
	s := serve(t, echo)
	c := dialT(t, s.addr(), Name("alice"))
	if err := c.Send(Whole{}, []byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	got, err := c.WaitBytes(2*time.Second, 6)
	if err != nil || string(got) != "hello\n" {
		t.Fatalf("WaitBytes = %q, %v", got, err)
	}
	c.Consume(6)
	if r := c.Received(); len(r) != 0 {
		t.Errorf("Received() after Consume = %q, want nothing", r)
	}
	text := c.Transcript().String()
	for _, want := range []string{`alice -- connected 127.0.0.1:`, `alice -> "hello\n"`, `alice <- "hello\n"`} {
		if !strings.Contains(text, want) {
			t.Errorf("transcript lacks %q:\n%s", want, text)
		}
	}
	if !strings.HasPrefix(text, "+0.") {
		t.Errorf("transcript should start near +0ms:\n%s", text)
	}
}

// recordReads reports the bytes of every Read the server made, until EOF.
func recordReads(out result[[]string]) func(c *net.TCPConn) {
	return func(c *net.TCPConn) {
		var reads []string
		buf := make([]byte, 64*1024)
		for {
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, err := c.Read(buf)
			if n > 0 {
				reads = append(reads, string(buf[:n]))
			}
			if err != nil {
				break
			}
		}
		out <- reads
	}
}

func TestShapersSegmentation(t *testing.T) {
	msgs := [][]byte{[]byte("ab"), []byte("cd"), []byte("ef")}
	// The pauses give the server ample time to read each piece on its own;
	// the client-side writes are checked exactly, through the transcript.
	cases := []struct {
		shaper Shaper
		writes []string
	}{
		{Whole{Pause: 30 * time.Millisecond}, []string{"ab", "cd", "ef"}},
		{Coalesce{}, []string{"abcdef"}},
		{BytePerSegment{Pause: 20 * time.Millisecond}, []string{"a", "b", "c", "d", "e", "f"}},
		{SplitAt{Offsets: []int{1, 4}, Pause: 30 * time.Millisecond}, []string{"a", "bcd", "ef"}},
	}
	for _, tc := range cases {
		t.Run(tc.shaper.Name(), func(t *testing.T) {
			reads := newResult[[]string]()
			s := serve(t, recordReads(reads))
			c := dialT(t, s.addr())
			if err := c.Send(tc.shaper, msgs...); err != nil {
				t.Fatal(err)
			}
			if err := c.HalfClose(); err != nil {
				t.Fatal(err)
			}
			var writes []string
			for _, e := range c.Transcript() {
				if e.Dir == Sent {
					writes = append(writes, string(e.Bytes))
				}
			}
			if !slices.Equal(writes, tc.writes) {
				t.Errorf("writes %q, want %q", writes, tc.writes)
			}
			if got := reads.get(t); !slices.Equal(got, tc.writes) {
				t.Errorf("the server's reads were %q, want %q", got, tc.writes)
			}
		})
	}
}

func TestSplitAtRejectsBadOffsets(t *testing.T) {
	s := serve(t, echo)
	c := dialT(t, s.addr())
	for _, offs := range [][]int{{0}, {3, 2}, {6}} {
		err := c.Send(SplitAt{Offsets: offs}, []byte("abcdef"))
		if err == nil || !strings.Contains(err.Error(), "split-at") {
			t.Errorf("SplitAt%v: err = %v, want an error naming the shaper", offs, err)
		}
	}
}

func TestFromIP(t *testing.T) {
	seen := newResult[string]()
	s := serve(t, func(c *net.TCPConn) { seen <- c.RemoteAddr().(*net.TCPAddr).IP.String() })
	c := dialT(t, s.addr(), FromIP("127.0.0.5"))
	if got := seen.get(t); got != "127.0.0.5" {
		t.Errorf("the server saw %s, want 127.0.0.5", got)
	}
	if got := c.LocalAddr().Addr().String(); got != "127.0.0.5" {
		t.Errorf("LocalAddr() = %s", got)
	}
	if _, err := Dial(context.Background(), s.addr(), FromIP("not-an-ip")); err == nil {
		t.Error("FromIP(not-an-ip): want an error")
	}
}

// readErr reports how the server's read ended.
func readErr(out result[error]) func(c *net.TCPConn) {
	return func(c *net.TCPConn) {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := io.Copy(io.Discard, c)
		if err == nil {
			err = io.EOF // io.Copy hides a clean EOF
		}
		out <- err
	}
}

func TestResetIsSeenByTheServer(t *testing.T) {
	got := newResult[error]()
	s := serve(t, readErr(got))
	c := dialT(t, s.addr())
	if err := c.Send(Whole{}, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := got.get(t); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("server read error = %v, want connection reset by peer", err)
	}
	if !strings.Contains(c.Transcript().String(), "reset (we sent RST)") {
		t.Errorf("transcript lacks the reset:\n%s", c.Transcript())
	}
}

func TestHalfCloseGivesTheServerEOF(t *testing.T) {
	s := serve(t, func(c *net.TCPConn) {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		got, err := io.ReadAll(c) // until our FIN
		if err == nil {
			_, _ = c.Write(append([]byte("got "), got...))
		}
	})
	c := dialT(t, s.addr())
	if err := c.Send(Whole{}, []byte("abc")); err != nil {
		t.Fatal(err)
	}
	if err := c.HalfClose(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitFor(2*time.Second, func(b []byte) bool { return string(b) == "got abc" }); err != nil {
		t.Fatal(err)
	}
	if how, err := c.WaitEOF(2 * time.Second); how != "eof" || err != nil {
		t.Fatalf("WaitEOF = %q, %v; want eof", how, err)
	}
}

func TestTargetResetIsSeen(t *testing.T) {
	s := serve(t, func(c *net.TCPConn) {
		// Wait for a byte first: an RST racing the handshake fails the connect.
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.ReadFull(c, make([]byte, 1))
		_ = c.SetLinger(0)
	}) // the handler returns and the connection closes with an RST
	c := dialT(t, s.addr(), Name("bob"))
	if err := c.Send(Whole{}, []byte("!")); err != nil {
		t.Fatal(err)
	}
	how, err := c.WaitEOF(2 * time.Second)
	if how != "reset" || err != nil {
		t.Fatalf("WaitEOF = %q, %v; want reset", how, err)
	}
	if !strings.Contains(c.Transcript().String(), "bob -- reset by target") {
		t.Errorf("transcript lacks the reset:\n%s", c.Transcript())
	}
	err = c.Send(Whole{}, []byte("x"))
	if err == nil {
		// The first write after an RST may still succeed locally; the next fails.
		err = c.Send(Whole{}, []byte("y"))
	}
	if err == nil || !strings.Contains(err.Error(), "bob: send (whole)") {
		t.Errorf("Send after reset: err = %v", err)
	}
}

func TestStopReadingMakesTheServerWriteBlock(t *testing.T) {
	type outcome struct {
		written int
		err     error
	}
	done := newResult[outcome]()
	s := serve(t, func(c *net.TCPConn) {
		_ = c.SetWriteBuffer(4096)
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(c, make([]byte, 2)); err != nil { // "go"
			done <- outcome{0, err}
			return
		}
		chunk := bytes.Repeat([]byte("z"), 64*1024)
		written := 0
		for written < 64<<20 { // bounded: 64 MiB would mean nothing blocked
			_ = c.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
			n, err := c.Write(chunk)
			written += n
			if err != nil {
				done <- outcome{written, err}
				return
			}
		}
		done <- outcome{written, nil}
	})
	c := dialT(t, s.addr(), ReceiveBuffer(4096))
	if err := c.StopReading(); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(Whole{}, []byte("go")); err != nil {
		t.Fatal(err)
	}
	res := done.get(t)
	if !errors.Is(res.err, syscall.EAGAIN) && !errors.Is(res.err, context.DeadlineExceeded) && !isTimeout(res.err) {
		t.Fatalf("server wrote %d bytes, err %v; want its write to time out", res.written, res.err)
	}
	if got := len(c.Received()); got != 0 {
		t.Errorf("%d bytes read while paused", got)
	}
	if _, err := c.WaitBytes(time.Second, 1); err == nil || !strings.Contains(err.Error(), "reading is paused") {
		t.Errorf("WaitBytes while paused: err = %v", err)
	}
	c.ResumeReading()
	if _, err := c.WaitBytes(5*time.Second, res.written); err != nil {
		t.Fatalf("after ResumeReading: %v", err)
	}
	text := c.Transcript().String()
	if !strings.Contains(text, "stopped reading") || !strings.Contains(text, "resumed reading") {
		t.Errorf("transcript lacks the pause:\n%s", text)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestWaitTimeoutsAreReadable(t *testing.T) {
	s := serve(t, func(c *net.TCPConn) {
		_, _ = c.Write([]byte("he\xff"))
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.Copy(io.Discard, c) // never answers more
	})
	c := dialT(t, s.addr(), Name("carol"))
	_, err := c.WaitBytes(150*time.Millisecond, 5)
	var we *WaitError
	if !errors.As(err, &we) || !we.Timeout() {
		t.Fatalf("err = %v, want a *WaitError that timed out", err)
	}
	want := `carol: timed out after 150ms waiting for 5 bytes; got 3 bytes: "he\xff"`
	if err.Error() != want {
		t.Errorf("error:\n got %s\nwant %s", err, want)
	}
	err = c.WaitFor(50*time.Millisecond, func(b []byte) bool { return bytes.Contains(b, []byte("\n")) })
	if err == nil || !strings.Contains(err.Error(), "waiting for the expected bytes") {
		t.Errorf("WaitFor: err = %v", err)
	}
	if how, err := c.WaitEOF(50 * time.Millisecond); how != "" || err == nil ||
		!strings.Contains(err.Error(), "waiting for the target to close the connection") {
		t.Errorf("WaitEOF = %q, %v", how, err)
	}
}

func TestWaitEndsEarlyWhenTheTargetCloses(t *testing.T) {
	s := serve(t, func(c *net.TCPConn) { _, _ = c.Write([]byte("bye")) })
	c := dialT(t, s.addr(), Name("dave"))
	start := time.Now()
	_, err := c.WaitBytes(10*time.Second, 100)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the wait took %v: it should end at EOF", took)
	}
	want := `dave: EOF while waiting for 100 bytes; got 3 bytes: "bye"`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestGarbageAndLongMessagesAreShownSafely(t *testing.T) {
	long := bytes.Repeat([]byte("a"), 1000)
	s := serve(t, func(c *net.TCPConn) {
		_, _ = c.Write([]byte("\xff\x00garbage\x1b[2J"))
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.ReadFull(c, make([]byte, len(long)))
	})
	c := dialT(t, s.addr(), Name("eve"))
	if _, err := c.WaitBytes(2*time.Second, 13); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(Coalesce{}, long); err != nil {
		t.Fatal(err)
	}
	text := c.Transcript().String()
	if !strings.Contains(text, `eve <- "\xff\x00garbage\x1b[2J"`) {
		t.Errorf("garbage not quoted:\n%s", text)
	}
	if !strings.Contains(text, `eve -> "`+strings.Repeat("a", 200)+`"...(800 more)`) {
		t.Errorf("long message not cut at 200 bytes:\n%s", text)
	}
	if strings.Count(c.Transcript().Render(10), "a") > 10+len("garbage") {
		t.Errorf("Render(10) shows more than 10 bytes per entry:\n%s", c.Transcript().Render(10))
	}
}

func TestReadLimit(t *testing.T) {
	s := serve(t, func(c *net.TCPConn) {
		_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, _ = c.Write(bytes.Repeat([]byte("x"), 5000))
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.Copy(io.Discard, c)
	})
	c := dialT(t, s.addr(), ReadLimit(1000))
	err := c.WaitFor(2*time.Second, func([]byte) bool { return false })
	if err == nil || !strings.Contains(err.Error(), "target sent more than 1000 bytes") {
		t.Fatalf("err = %v, want the read limit", err)
	}
	if got := len(c.Received()); got != 1000 {
		t.Errorf("kept %d bytes, want exactly the 1000 allowed", got)
	}
	if !strings.Contains(c.Transcript().String(), "-- target sent more than 1000 bytes") {
		t.Errorf("transcript lacks the limit:\n%s", c.Transcript())
	}
}

func TestQuiet(t *testing.T) {
	silent := serve(t, echo)
	c := dialT(t, silent.addr())
	if !c.Quiet(50 * time.Millisecond) {
		t.Error("Quiet() = false with nothing sent")
	}
	chatty := serve(t, func(c *net.TCPConn) {
		for range 1000 { // bounded: 10 s at most
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := c.Write([]byte("tick\n")); err != nil {
				return
			}
			timer := time.NewTimer(10 * time.Millisecond)
			<-timer.C
		}
	})
	c2 := dialT(t, chatty.addr())
	start := time.Now()
	if c2.Quiet(5 * time.Second) {
		t.Error("Quiet() = true although the target sends every 10ms")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Quiet took %v: it should return as soon as bytes arrive", took)
	}
}

func TestCloseIsIdempotentAndSendAfterCloseFails(t *testing.T) {
	s := serve(t, echo)
	c := dialT(t, s.addr())
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := c.Send(Whole{}, []byte("x")); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Send after Close: err = %v", err)
	}
	if _, err := c.WaitBytes(time.Second, 1); err == nil || !strings.Contains(err.Error(), "closed by us") {
		t.Errorf("WaitBytes after Close: err = %v", err)
	}
}

func TestCloseDuringShapingPause(t *testing.T) {
	first := newResult[error]()
	s := serve(t, func(c *net.TCPConn) {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := io.ReadFull(c, make([]byte, 1))
		first <- err
		_, _ = io.Copy(io.Discard, c)
	})
	c := dialT(t, s.addr())
	sent := make(chan error, 1)
	go func() { sent <- c.Send(BytePerSegment{Pause: time.Hour}, []byte("ab")) }()
	if err := first.get(t); err != nil {
		t.Fatal(err)
	}
	c.Close() // the Send is now in its hour-long pause
	timer := time.NewTimer(5 * time.Second)
	defer timer.Stop()
	select {
	case err := <-sent:
		if err == nil || !strings.Contains(err.Error(), "1 of 2 bytes written") {
			t.Errorf("Send = %v, want it cut short after 1 byte", err)
		}
	case <-timer.C:
		t.Fatal("Send still pausing 5s after Close")
	}
}

func TestDialFailsReadably(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = Dial(context.Background(), addr, Name("frank"))
	if err == nil || !strings.Contains(err.Error(), "frank: connect to "+addr) {
		t.Errorf("err = %v", err)
	}
}
