package block32

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockspec/sockspec/clients/internal/fakeserver"
	"github.com/sockspec/sockspec/clients/session"
	"github.com/sockspec/sockspec/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// upperServer answers each block with its upper-cased form; once: one block, then close.
func upperServer(t *testing.T, once bool, conns *atomic.Int32) string {
	return fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
		conns.Add(1)
		dec := &wire.BlockDecoder{}
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			stop := false
			dec.Feed(buf[:n], func(m []byte) error {
				c.Write(wire.AppendBlock(nil, wire.Upper(wire.Unicode, m)))
				stop = once
				return nil
			})
			if stop || err != nil {
				return
			}
		}
	})
}

func cfgFor(addr string) Config {
	cfg := DefaultConfig()
	cfg.Addr = addr
	cfg.Timeouts = session.Timeouts{Connect: time.Second, IO: 300 * time.Millisecond}
	return cfg
}

func TestBlocks(t *testing.T) {
	for _, mode := range []string{PerConnectionOne, PerConnectionMany} {
		t.Run(mode, func(t *testing.T) {
			var conns atomic.Int32
			addr := upperServer(t, mode == PerConnectionOne, &conns)
			cfg := cfgFor(addr)
			cfg.PerConnection = mode
			cfg.Messages = []string{"hello", "", "straße"}
			var out bytes.Buffer
			if err := Run(context.Background(), cfg, nil, &out, io.Discard); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got, want := out.String(), "HELLO\n\nSTRASSE\n"; got != want {
				t.Errorf("printed %q, want %q", got, want)
			}
			want := int32(3)
			if mode == PerConnectionMany {
				want = 1
			}
			if got := conns.Load(); got != want {
				t.Errorf("%d connections, want %d", got, want)
			}
		})
	}
}

func TestStdinLines(t *testing.T) {
	var conns atomic.Int32
	addr := upperServer(t, true, &conns)
	var out bytes.Buffer
	if err := Run(context.Background(), cfgFor(addr), strings.NewReader("a\nb\n"), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if out.String() != "A\nB\n" {
		t.Errorf("printed %q", out.String())
	}
}

func TestMisbehavingServers(t *testing.T) {
	serve := func(reply []byte, drip bool) string {
		return fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
			fakeserver.ReadFull(c, 4+2)
			if drip {
				fakeserver.Drip(c, reply)
			} else {
				c.Write(reply)
			}
		})
	}
	huge := binary.BigEndian.AppendUint32(nil, 0xFFFFFFFF)
	cases := []struct {
		name string
		addr string
		is   error
		says string
	}{
		{"refused", fakeserver.ClosedPort(t), session.ErrRefused, "connection refused"},
		{"never answers", fakeserver.TCP(t, fakeserver.Silent), session.ErrTimeout, `waiting for the reply block to message 1 ("hi") from 127.0.0.1:`},
		{"closes inside the length", serve([]byte{0, 0}, false), session.ErrClosed, `in the middle of it, after 2 bytes: "\x00\x00"`},
		{"closes inside the payload", serve([]byte{0, 0, 0, 5, 'H', 'I'}, false), session.ErrClosed, "in the middle of it, after 6 bytes"},
		{"closes without a reply", serve(nil, false), session.ErrClosed, "closed the connection without sending it"},
		{"closes inside a long payload", serve(append(binary.BigEndian.AppendUint32(nil, 100000), bytes.Repeat([]byte("x"), 1000)...), false), session.ErrClosed, `in the middle of it, after 1004 bytes: "\x00\x01\x86\xa0xxx`},
		{"declares 4 GiB", serve(huge, false), wire.ErrTooLong, "message length 4294967295 is over the limit of 16777216 bytes"},
		{"answers one byte at a time", serve([]byte{0, 0, 0, 2, 'H', 'I'}, true), nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := cfgFor(c.addr)
			cfg.Messages = []string{"hi"}
			var out bytes.Buffer
			err := Run(context.Background(), cfg, nil, &out, io.Discard)
			if c.says == "" {
				if err != nil || out.String() != "HI\n" {
					t.Fatalf("want HI, got %q, %v", out.String(), err)
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
