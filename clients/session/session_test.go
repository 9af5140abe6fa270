package session

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockspec/sockspec/clients/internal/fakeserver"
	"github.com/sockspec/sockspec/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var short = Timeouts{Connect: time.Second, IO: 200 * time.Millisecond}

func dial(t *testing.T, addr string) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), addr, short)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestReadMessageKeepsCoalescedMessages(t *testing.T) {
	// Two lines and a bad one in one segment: both lines come out, then the error.
	addr := fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
		c.Write([]byte("one\ntwo\n" + strings.Repeat("x", 20)))
		fakeserver.Silent(ctx, c)
	})
	c := dial(t, addr)
	dec := &wire.LineDecoder{Max: 10}
	for _, want := range []string{"one", "two"} {
		m, err := c.ReadMessage(dec, "a line")
		if err != nil || string(m) != want {
			t.Fatalf("got %q, %v; want %q", m, err, want)
		}
	}
	_, err := c.ReadMessage(dec, "a line")
	if !errors.Is(err, wire.ErrTooLong) || !strings.Contains(err.Error(), "too long: message length") {
		t.Errorf("third read: got %v", err)
	}
}

func TestReadReply(t *testing.T) {
	addr := fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
		buf := make([]byte, 16)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			switch string(buf[:n]) {
			case "line":
				c.Write([]byte("ends here\n"))
			case "drip":
				fakeserver.Drip(c, []byte("a b c"))
			case "close":
				c.Write([]byte("bye"))
				return
			case "big":
				c.Write([]byte(strings.Repeat("z", 100)))
			}
		}
	})
	c := dial(t, addr)
	ask := func(q string) (string, bool, error) {
		if err := c.Send([]byte(q), q); err != nil {
			t.Fatal(err)
		}
		r, closed, err := c.ReadReply(50, 100*time.Millisecond, q)
		return string(r), closed, err
	}
	if r, _, err := ask("line"); r != "ends here\n" || err != nil {
		t.Errorf("line: %q, %v", r, err)
	}
	if r, _, err := ask("drip"); r != "a b c" || err != nil {
		t.Errorf("drip: %q, %v", r, err)
	}
	if _, _, err := ask("big"); !errors.Is(err, wire.ErrTooLong) {
		t.Errorf("big: %v", err)
	}
	c2 := dial(t, addr)
	c2.Send([]byte("close"), "close")
	if r, closed, err := c2.ReadReply(50, time.Second, "close"); string(r) != "bye" || !closed || err != nil {
		t.Errorf("close: %q, %v, %v", r, closed, err)
	}
}

func TestErrorMessages(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{Wrap("connect", "h:1", "", time.Second, nil, &net.OpError{Op: "dial", Err: timeoutErr{}}),
			"connect to h:1: no answer within 1s"},
		{Wrap("send", "h:1", "message 1", time.Second, nil, timeoutErr{}),
			"send message 1 to h:1: the server did not take the bytes within 1s (is it reading?)"},
		{Wrap("read", "h:1", "the reply", time.Second, []byte("ab"), timeoutErr{}),
			`waiting for the reply from h:1: only 2 bytes arrived within 1s: "ab"`},
		{Wrap("read", "h:1", "the reply", 0, []byte("ab"), io.EOF),
			`waiting for the reply from h:1: the server closed the connection in the middle of it, after 2 bytes: "ab"`},
		{Wrap("read", "h:1", "the reply", 0, nil, &wire.HeaderError{Header: []byte("x"), Reason: "it does not start with a decimal digit"}),
			`waiting for the reply from h:1: bad frame: malformed header "x": it does not start with a decimal digit`},
	} {
		if c.err.Error() != c.want {
			t.Errorf("got  %q\nwant %q", c.err, c.want)
		}
	}
	if !errors.Is(Wrap("read", "h", "x", time.Second, nil, timeoutErr{}), ErrTimeout) {
		t.Error("a timeout is not ErrTimeout")
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string { return "i/o timeout" }
func (timeoutErr) Timeout() bool { return true }

func TestCancelEndsARead(t *testing.T) {
	addr := fakeserver.TCP(t, fakeserver.Silent)
	ctx, cancel := context.WithCancel(context.Background())
	c, err := Dial(ctx, addr, Timeouts{IO: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := fakeserver.Background(t, func() error {
		_, err := c.ReadFull(1, "a byte")
		return err
	})
	cancel()
	if err := done(5 * time.Second); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}
