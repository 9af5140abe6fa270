package lookup

import (
	"bytes"
	"context"
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
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var directory = map[string]string{"JOHN": "C45", "DENISE": "C44", "PHOEBE": "D52", "ADAM": "B23"}

// seed is the seed's server: each read is a name; an unknown one ends the connection (the
// KeyError). once: one request per connection (socketserver).
func seed(t *testing.T, once bool, suffix string, conns *atomic.Int32) string {
	return fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
		conns.Add(1)
		buf := make([]byte, 1024)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			office, ok := directory[strings.ToUpper(string(buf[:n]))]
			if !ok {
				return
			}
			c.Write([]byte(office + suffix))
			if once {
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

func TestLookups(t *testing.T) {
	for _, c := range []struct {
		name   string
		once   bool
		mode   string
		suffix string
		conns  int32
	}{
		{"many", false, PerConnectionMany, "", 1},
		{"many, newline replies", false, PerConnectionMany, "\n", 1},
		{"socketserver", true, PerConnectionOne, "", 3},
		{"socketserver with the default mode", true, PerConnectionMany, "", 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			var conns atomic.Int32
			cfg := cfgFor(seed(t, c.once, c.suffix, &conns))
			cfg.PerConnection = c.mode
			cfg.Names = []string{"John", "denise", "ADAM"}
			var out bytes.Buffer
			if err := Run(context.Background(), cfg, nil, &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			if want := "John C45\ndenise C44\nADAM B23\n"; out.String() != want {
				t.Errorf("printed %q, want %q", out.String(), want)
			}
			if conns.Load() != c.conns {
				t.Errorf("%d connections, want %d", conns.Load(), c.conns)
			}
		})
	}
}

func TestStdinNames(t *testing.T) {
	var conns atomic.Int32
	cfg := cfgFor(seed(t, false, "", &conns))
	var out bytes.Buffer
	if err := Run(context.Background(), cfg, strings.NewReader("phoebe\n\njohn"), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if want := "phoebe D52\njohn C45\n"; out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
}

func TestMisbehavingServers(t *testing.T) {
	var conns atomic.Int32
	drip := fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
		fakeserver.ReadFull(c, 4)
		fakeserver.Drip(c, []byte("C45"))
		fakeserver.Silent(ctx, c)
	})
	cases := []struct {
		name string
		addr string
		is   error
		says string
	}{
		{"refused", fakeserver.ClosedPort(t), session.ErrRefused, "connection refused"},
		{"unknown name closes", seed(t, false, "", &conns), session.ErrClosed, `waiting for the office of "nobody" from 127.0.0.1:`},
		{"never answers", fakeserver.TCP(t, fakeserver.Silent), session.ErrTimeout, "nothing arrived within 300ms"},
		{"answers one byte at a time", drip, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := cfgFor(c.addr)
			cfg.Names = []string{"john", "nobody"}
			cfg.Settle = 250 * time.Millisecond // generous: the drip must not look like two replies
			var out bytes.Buffer
			err := Run(context.Background(), cfg, nil, &out, io.Discard)
			if c.says == "" {
				if !strings.HasPrefix(out.String(), "john C45\n") {
					t.Errorf("printed %q", out.String())
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
