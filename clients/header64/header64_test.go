package header64

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockspec/sockspec/clients/internal/fakeserver"
	"github.com/sockspec/sockspec/clients/session"
	"github.com/sockspec/sockspec/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// seedServer decodes frames strictly, replies per mode and closes after the token. Each
// session's messages (and its raw bytes) go to the channel when it ends.
type seedServer struct {
	reply    string
	sessions chan [][]byte
	raw      chan []byte
}

func startSeed(t *testing.T, reply string) (*seedServer, string) {
	s := &seedServer{reply: reply, sessions: make(chan [][]byte, 4), raw: make(chan []byte, 4)}
	return s, fakeserver.TCP(t, s.handle)
}

func (s *seedServer) handle(ctx context.Context, c net.Conn) {
	var msgs [][]byte
	var raw []byte
	defer func() { s.sessions <- msgs; s.raw <- raw }()
	dec := &wire.HeaderDecoder{}
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		raw = append(raw, buf[:n]...)
		done := false
		dec.Feed(buf[:n], func(m []byte) error {
			msgs = append(msgs, bytes.Clone(m))
			switch s.reply {
			case ReplyAck:
				c.Write([]byte(DefaultAck))
			case ReplyEcho:
				c.Write(m)
			}
			if string(m) == DefaultToken {
				done = true
			}
			return nil
		})
		if done || err != nil {
			return
		}
	}
}

func cfgFor(addr string) Config {
	cfg := DefaultConfig()
	cfg.Addr = addr
	cfg.Timeouts = session.Timeouts{Connect: time.Second, IO: 300 * time.Millisecond}
	return cfg
}

func TestSendsFramesThenToken(t *testing.T) {
	srv, addr := startSeed(t, ReplyNone)
	cfg := cfgFor(addr)
	cfg.Messages = []string{"Hi", "", "héllo wörld"}
	var out bytes.Buffer
	if err := Run(context.Background(), cfg, nil, &out, io.Discard); err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := <-srv.sessions
	want := []string{"Hi", "", "héllo wörld", DefaultToken}
	if len(got) != len(want) {
		t.Fatalf("server got %q, want %q", got, want)
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Errorf("message %d: got %q, want %q", i+1, got[i], want[i])
		}
	}
	// CL-HDR-1: each header is exactly 64 bytes, ASCII decimal, space padded.
	raw := <-srv.raw
	if wantHdr := "2" + strings.Repeat(" ", 63); string(raw[:64]) != wantHdr || string(raw[64:66]) != "Hi" {
		t.Errorf("first frame is %q", raw[:66])
	}
	if out.Len() != 0 {
		t.Errorf("reply mode none printed %q", out.String())
	}
}

func TestStdinAndReplies(t *testing.T) {
	for _, mode := range []string{ReplyAck, ReplyEcho} {
		t.Run(mode, func(t *testing.T) {
			srv, addr := startSeed(t, mode)
			cfg := cfgFor(addr)
			cfg.Reply = mode
			var out bytes.Buffer
			err := Run(context.Background(), cfg, strings.NewReader("one\r\ntwo\nthree"), &out, io.Discard)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := len(<-srv.sessions); got != 4 {
				t.Errorf("server got %d messages, want 3 and the token", got)
			}
			want := "Msg received\nMsg received\nMsg received\nMsg received\n"
			if mode == ReplyEcho {
				want = "one\ntwo\nthree\n" + DefaultToken + "\n"
			}
			if out.String() != want {
				t.Errorf("printed %q, want %q", out.String(), want)
			}
		})
	}
}

func TestHeaderSizeAndToken(t *testing.T) {
	got := make(chan []byte, 1)
	addr := fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
		got <- fakeserver.Drain(ctx, c)
	})
	cfg := cfgFor(addr)
	cfg.HeaderSize = 4
	cfg.Token = ""
	cfg.Messages = []string{"abc"}
	if err := Run(context.Background(), cfg, nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if b := <-got; string(b) != "3   abc" {
		t.Errorf("sent %q, want %q", b, "3   abc")
	}
	cfg.HeaderSize = 1
	cfg.Messages = []string{"0123456789"}
	if err := Run(context.Background(), cfg, nil, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "does not fit in a 1-byte header") {
		t.Errorf("a length too long for the header: got %v", err)
	}
	<-got
}

func TestMisbehavingServers(t *testing.T) {
	keepsOpen := fakeserver.TCP(t, fakeserver.Silent)
	halfAck := fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
		fakeserver.ReadFull(c, 64+2)
		c.Write([]byte("Msg rec"))
	})
	dripAck := fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
		for range 2 {
			fakeserver.ReadFull(c, 64+2)
			fakeserver.Drip(c, []byte(DefaultAck))
		}
		fakeserver.ReadFull(c, 64+len(DefaultToken))
		fakeserver.Drip(c, []byte(DefaultAck))
	})
	resetAtOnce := fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
		fakeserver.ReadFull(c, 1)
		fakeserver.Reset(c)
	})
	cases := []struct {
		name  string
		addr  string
		reply string
		is    error
		says  string
	}{
		{"refused", fakeserver.ClosedPort(t), ReplyNone, session.ErrRefused, "connect to 127.0.0.1:"},
		{"keeps the connection open after the token", keepsOpen, ReplyNone, nil, `did not close the connection within 300ms after the disconnect token "!DISCONNECT"`},
		{"never acks", keepsOpen, ReplyAck, session.ErrTimeout, `waiting for the ack reply to message 1 ("Hi") from 127.0.0.1:`},
		{"closes in the middle of an ack", halfAck, ReplyAck, session.ErrClosed, `in the middle of it, after 7 bytes: "Msg rec"`},
		{"acks one byte at a time", dripAck, ReplyAck, nil, ""},
		{"resets", resetAtOnce, ReplyAck, session.ErrReset, "connection reset by the server"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := cfgFor(c.addr)
			cfg.Reply = c.reply
			cfg.Messages = []string{"Hi", "Yo"}
			err := Run(context.Background(), cfg, nil, io.Discard, io.Discard)
			if c.says == "" {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("want an error")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %q is not %v", err, c.is)
			}
			if !strings.Contains(err.Error(), c.says) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q should be one line saying %q", err, c.says)
			}
		})
	}
}
