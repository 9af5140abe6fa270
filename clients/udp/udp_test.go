package udp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockspec/sockspec/clients/internal/fakeserver"
	"github.com/sockspec/sockspec/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func upper(in []byte) [][]byte { return [][]byte{wire.Upper(wire.Unicode, in)} }

func cfgFor(addr string) Config {
	return Config{Addr: addr, Timeout: 200 * time.Millisecond, Retries: 1}
}

func TestReplies(t *testing.T) {
	addr := fakeserver.UDP(t, upper)
	cfg := cfgFor(addr)
	cfg.Messages = []string{"hello", "straße", ""}
	var out bytes.Buffer
	if err := Run(context.Background(), cfg, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if out.String() != "HELLO\nSTRASSE\n\n" {
		t.Errorf("printed %q", out.String())
	}
	out.Reset()
	if err := Run(context.Background(), cfgFor(addr), strings.NewReader("a\nb\n"), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if out.String() != "A\nB\n" {
		t.Errorf("stdin: printed %q", out.String())
	}
}

func TestRetryAfterLoss(t *testing.T) {
	var seen atomic.Int32
	addr := fakeserver.UDP(t, func(in []byte) [][]byte {
		if seen.Add(1) == 1 {
			return nil // the first datagram is lost
		}
		return upper(in)
	})
	cfg := cfgFor(addr)
	cfg.Messages = []string{"again"}
	var out bytes.Buffer
	if err := Run(context.Background(), cfg, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if out.String() != "AGAIN\n" || seen.Load() != 2 {
		t.Errorf("printed %q after %d datagrams", out.String(), seen.Load())
	}
}

func TestErrors(t *testing.T) {
	silent := fakeserver.UDP(t, func([]byte) [][]byte { return nil })
	cfg := cfgFor(silent)
	cfg.Messages = []string{"anyone?"}
	err := Run(context.Background(), cfg, nil, io.Discard, io.Discard)
	var nr *NoReplyError
	if !errors.As(err, &nr) || !strings.Contains(err.Error(), `no reply to datagram 1 ("anyone?") from 127.0.0.1:`) ||
		!strings.Contains(err.Error(), "within 200ms (2 tries)") {
		t.Errorf("silent server: got %v", err)
	}

	cfg = cfgFor(fakeserver.ClosedUDPPort(t))
	cfg.Messages = []string{"x"}
	err = Run(context.Background(), cfg, nil, io.Discard, io.Discard)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "ICMP port unreachable") {
		t.Errorf("closed port: got %v", err)
	}

	cfg.Messages = []string{strings.Repeat("x", MaxDatagram+1)}
	if err := Run(context.Background(), cfg, nil, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "over the UDP limit") {
		t.Errorf("oversized datagram: got %v", err)
	}
}

func TestCancel(t *testing.T) {
	silent := fakeserver.UDP(t, func([]byte) [][]byte { return nil })
	ctx, cancel := context.WithCancel(context.Background())
	cfg := cfgFor(silent)
	cfg.Timeout = time.Minute
	cfg.Messages = []string{"x"}
	done := fakeserver.Background(t, func() error { return Run(ctx, cfg, nil, io.Discard, io.Discard) })
	cancel()
	if err := done(5 * time.Second); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}
