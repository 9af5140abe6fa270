package ping

import (
	"bytes"
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockspec/sockspec/clients/internal/fakeserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func pong([]byte) [][]byte { return [][]byte{[]byte("PONG")} }

func cfgFor(addr string, count int) Config {
	return Config{Addr: addr, Count: count, Interval: 5 * time.Millisecond, Timeout: 300 * time.Millisecond}
}

func TestAllReplies(t *testing.T) {
	addr := fakeserver.UDP(t, pong)
	var out bytes.Buffer
	st, err := Run(context.Background(), cfgFor(addr, 3), &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if st.Transmitted != 3 || st.Received != 3 || len(st.RTTs) != 3 {
		t.Errorf("stats %+v", st)
	}
	want := regexp.MustCompile(`^PING 127\.0\.0\.1:\d+ \(udp\): 4 data bytes
4 bytes from 127\.0\.0\.1:\d+: seq=1 time=\d+\.\d{3} ms
4 bytes from 127\.0\.0\.1:\d+: seq=2 time=\d+\.\d{3} ms
4 bytes from 127\.0\.0\.1:\d+: seq=3 time=\d+\.\d{3} ms

--- 127\.0\.0\.1:\d+ ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time \d+ms
rtt min/avg/max/mdev = \d+\.\d{3}/\d+\.\d{3}/\d+\.\d{3}/\d+\.\d{3} ms
$`)
	if !want.MatchString(out.String()) {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestLossIsCountedAndTheRunGoesOn(t *testing.T) {
	var n atomic.Int32
	addr := fakeserver.UDP(t, func(in []byte) [][]byte {
		if n.Add(1) == 2 {
			return nil // the second probe is lost
		}
		return pong(in)
	})
	cfg := cfgFor(addr, 3)
	cfg.Timeout = 100 * time.Millisecond
	var out bytes.Buffer
	st, err := Run(context.Background(), cfg, &out, io.Discard)
	if err != nil {
		t.Fatalf("some replies came: want nil, got %v", err)
	}
	if st.Received != 2 {
		t.Errorf("received %d, want 2", st.Received)
	}
	for _, s := range []string{"no reply for seq=2 within 100ms\n", "seq=3 time=", "3 packets transmitted, 2 received, 33.3333% packet loss"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out.String())
		}
	}
}

func TestNoReply(t *testing.T) {
	for name, addr := range map[string]string{
		"silent": fakeserver.UDP(t, func([]byte) [][]byte { return nil }),
		"closed": fakeserver.ClosedUDPPort(t),
	} {
		t.Run(name, func(t *testing.T) {
			cfg := cfgFor(addr, 2)
			cfg.Timeout = 50 * time.Millisecond
			var out bytes.Buffer
			_, err := Run(context.Background(), cfg, &out, io.Discard)
			var nr *NoReplyError
			if !errors.As(err, &nr) || nr.Sent != 2 || !strings.Contains(err.Error(), "to any of 2 probes") {
				t.Errorf("got %v, want a NoReplyError", err)
			}
			if !strings.Contains(out.String(), "2 packets transmitted, 0 received, 100% packet loss") || strings.Contains(out.String(), "rtt") {
				t.Errorf("output:\n%s", out.String())
			}
			if name == "closed" && !strings.Contains(out.String(), "refused it (ICMP port unreachable") {
				t.Errorf("output does not say the port is closed:\n%s", out.String())
			}
		})
	}
}

func TestInterruptPrintsSummary(t *testing.T) {
	addr := fakeserver.UDP(t, pong)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out fakeserver.Output
	cfg := cfgFor(addr, 100000)
	done := fakeserver.Background(t, func() error { _, err := Run(ctx, cfg, &out, io.Discard); return err })
	out.WaitFor(t, "seq=2 ", 5*time.Second)
	cancel()
	if err := done(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "ping statistics") {
		t.Errorf("no summary after the interrupt:\n%s", out.String())
	}
}

func TestSummaryFigures(t *testing.T) {
	st := Stats{Transmitted: 4, Received: 3, RTTs: []time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond}}
	mn, avg, mx, mdev := st.Summary()
	if mn != time.Millisecond || avg != 2*time.Millisecond || mx != 3*time.Millisecond || ms(mdev) != "0.816" {
		t.Errorf("summary %v %v %v %v", mn, avg, mx, mdev)
	}
	if st.Loss() != 25 {
		t.Errorf("loss %v", st.Loss())
	}
}
