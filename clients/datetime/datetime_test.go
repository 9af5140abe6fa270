package datetime

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockspec/sockspec/clients/internal/fakeserver"
	"github.com/sockspec/sockspec/clients/session"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// exercise is the exercise's server: one request per connection, then close.
func exercise(t *testing.T, conns *atomic.Int32) string {
	return fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
		conns.Add(1)
		buf := make([]byte, 1024)
		n, _ := c.Read(buf)
		now := time.Now()
		var reply string
		switch req := string(buf[:n]); req {
		case "Date":
			reply = now.Format("2006-01-02")
		case "Time":
			reply = now.Format("15:04:05")
		case "Date and Time", "DateAndTime":
			reply = now.Format("2006-01-02 15:04:05.000000")
		default:
			reply = "UNKNOWN OPTION: " + strings.ToUpper(req)
		}
		c.Write([]byte(reply))
	})
}

func cfgFor(addr string) Config {
	cfg := DefaultConfig()
	cfg.Addr = addr
	cfg.Timeouts = session.Timeouts{Connect: time.Second, IO: 300 * time.Millisecond}
	return cfg
}

func TestInteractiveLikeTheExercise(t *testing.T) {
	var conns atomic.Int32
	cfg := cfgFor(exercise(t, &conns))
	var out bytes.Buffer
	err := Run(context.Background(), cfg, strings.NewReader("Date\nTime\nDateAndTime\nbogus\n-1\nDate\n"), &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	p := regexp.QuoteMeta(Prompt)
	exchange := func(reply string) string {
		return p + "Connected to server\nSending data\nReceived from server: " + reply + "\nClosing socket\n"
	}
	want := regexp.MustCompile("^Starting Client\n" +
		exchange(`\d{4}-\d\d-\d\d`) +
		exchange(`\d\d:\d\d:\d\d`) +
		exchange(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}`) +
		exchange(`UNKNOWN OPTION: BOGUS`) +
		p + "$")
	if !want.MatchString(out.String()) {
		t.Errorf("transcript:\n%s", out.String())
	}
	if conns.Load() != 4 {
		t.Errorf("%d connections, want 4 (one per request, none after -1)", conns.Load())
	}
}

func TestEOFEnds(t *testing.T) {
	var conns atomic.Int32
	cfg := cfgFor(exercise(t, &conns))
	var out bytes.Buffer
	if err := Run(context.Background(), cfg, strings.NewReader("Time"), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.String(), "Closing socket\n"+Prompt+"\n") {
		t.Errorf("transcript:\n%s", out.String())
	}
}

func TestAsk(t *testing.T) {
	var conns atomic.Int32
	cfg := cfgFor(exercise(t, &conns))
	cfg.Ask = []string{"Date", "what"}
	var out bytes.Buffer
	if err := Run(context.Background(), cfg, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\d\nUNKNOWN OPTION: WHAT\n$`).MatchString(out.String()) {
		t.Errorf("printed %q", out.String())
	}
}

func TestMisbehavingServers(t *testing.T) {
	drip := fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
		fakeserver.ReadFull(c, 4)
		fakeserver.Drip(c, []byte("2024-01-02"))
		fakeserver.Silent(ctx, c) // and never closes: the pause ends the reply
	})
	cases := []struct {
		name string
		addr string
		is   error
		says string
	}{
		{"refused", fakeserver.ClosedPort(t), session.ErrRefused, "connection refused"},
		{"closes without a reply", fakeserver.TCP(t, func(ctx context.Context, c net.Conn) { fakeserver.ReadFull(c, 4) }), session.ErrClosed, `waiting for the reply to "Date" from 127.0.0.1:`},
		{"never answers", fakeserver.TCP(t, fakeserver.Silent), session.ErrTimeout, "nothing arrived within 300ms"},
		{"answers one byte at a time", drip, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := cfgFor(c.addr)
			cfg.Ask = []string{"Date"}
			var out bytes.Buffer
			err := Run(context.Background(), cfg, nil, &out, io.Discard)
			if c.says == "" {
				if err != nil || out.String() != "2024-01-02\n" {
					t.Errorf("printed %q, %v", out.String(), err)
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
