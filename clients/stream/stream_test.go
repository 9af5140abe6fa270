package stream

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
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

const wait = 5 * time.Second

// echo copies until EOF, then closes.
func echo(ctx context.Context, c net.Conn) { io.Copy(c, c) }

// upperStream answers each read upper-cased until EOF.
func upperStream(ctx context.Context, c net.Conn) {
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		c.Write(wire.Upper(wire.Unicode, buf[:n]))
		if err != nil {
			return
		}
	}
}

func cfgFor(addr string) Config {
	return Config{Addr: addr, Timeouts: session.Timeouts{Connect: time.Second, IO: 300 * time.Millisecond}}
}

func TestEchoAllByteValues(t *testing.T) {
	addr := fakeserver.TCP(t, echo)
	in := make([]byte, 256)
	for i := range in {
		in[i] = byte(i)
	}
	var out bytes.Buffer
	if err := Run(context.Background(), cfgFor(addr), bytes.NewReader(in), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), in) {
		t.Errorf("echoed %q", out.Bytes())
	}
}

func TestEchoLargeWhileReading(t *testing.T) {
	addr := fakeserver.TCP(t, echo)
	in := make([]byte, 4<<20) // more than both socket buffers: needs reading while writing
	r := rand.New(rand.NewPCG(1, 2))
	for i := range in {
		in[i] = byte(r.Uint32())
	}
	var out bytes.Buffer
	if err := Run(context.Background(), cfgFor(addr), bytes.NewReader(in), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), in) {
		t.Errorf("echo of 4 MiB differs (got %d bytes)", out.Len())
	}
}

func TestInteractiveUpper(t *testing.T) {
	addr := fakeserver.TCP(t, upperStream)
	stdin, stdinW := io.Pipe()
	var out fakeserver.Output
	done := fakeserver.Background(t, func() error { return Run(context.Background(), cfgFor(addr), stdin, &out, io.Discard) })
	io.WriteString(stdinW, "hello\n")
	out.WaitFor(t, "HELLO\n", wait)
	io.WriteString(stdinW, "straße\n")
	out.WaitFor(t, "STRASSE\n", wait)
	stdinW.Close()
	if err := done(wait); err != nil {
		t.Fatal(err)
	}
}

func TestServerClosesFirst(t *testing.T) {
	// The seed's "once" server: one read, one reply, close, while stdin stays open.
	addr := fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
		buf := make([]byte, 4096)
		n, _ := c.Read(buf)
		c.Write(wire.Upper(wire.Unicode, buf[:n]))
	})
	stdin, stdinW := io.Pipe()
	defer stdinW.Close()
	var out fakeserver.Output
	done := fakeserver.Background(t, func() error { return Run(context.Background(), cfgFor(addr), stdin, &out, io.Discard) })
	io.WriteString(stdinW, "once")
	if err := done(wait); err != nil {
		t.Fatal(err)
	}
	if out.String() != "ONCE" {
		t.Errorf("printed %q", out.String())
	}
}

func TestMisbehavingServers(t *testing.T) {
	neverCloses := fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
		io.Copy(c, c) // echoes, and stays open after the client's half-close
		fakeserver.Silent(ctx, c)
	})
	neverReads := fakeserver.TCP(t, fakeserver.Silent)
	resets := fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
		fakeserver.ReadFull(c, 3)
		fakeserver.Reset(c)
	})
	drip := fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
		b := fakeserver.Drain(ctx, c)
		fakeserver.Drip(c, bytes.ToUpper(b))
	})
	big := strings.Repeat("x", 32<<20)
	cases := []struct {
		name  string
		addr  string
		input string
		is    error
		says  string
		out   string
	}{
		{"refused", fakeserver.ClosedPort(t), "x", session.ErrRefused, "connection refused", ""},
		{"stays open after our half-close", neverCloses, "abc", nil, "neither sent more nor closed the connection within 300ms after we half-closed", "abc"},
		{"never reads", neverReads, big, session.ErrTimeout, "did not take the bytes within 300ms (is it reading?)", ""},
		{"resets", resets, "abcdef", session.ErrReset, "connection reset by the server", ""},
		{"answers one byte at a time", drip, "abcdef", nil, "", "ABCDEF"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Run(context.Background(), cfgFor(c.addr), strings.NewReader(c.input), &out, io.Discard)
			if out.String() != c.out {
				t.Errorf("printed %q, want %q", wire.Quote(out.Bytes(), 40), c.out)
			}
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
