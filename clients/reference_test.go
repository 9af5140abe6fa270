package clients_test

// Every reference client against sockspec's reference server of its protocol, in-process on
// a free loopback port, with the seed's profile and the variants' knobs.

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sockspec/sockspec/clients/block32"
	"github.com/sockspec/sockspec/clients/chat"
	"github.com/sockspec/sockspec/clients/datetime"
	"github.com/sockspec/sockspec/clients/header64"
	httpclient "github.com/sockspec/sockspec/clients/http"
	"github.com/sockspec/sockspec/clients/internal/fakeserver"
	"github.com/sockspec/sockspec/clients/lookup"
	"github.com/sockspec/sockspec/clients/ping"
	"github.com/sockspec/sockspec/clients/stream"
	"github.com/sockspec/sockspec/clients/udp"
	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/servers/registry"
)

// serveReference starts the reference server of protocol with knobs and returns its address.
func serveReference(t *testing.T, protocol string, knobs map[string]string) string {
	t.Helper()
	p, ok := registry.Lookup(protocol)
	if !ok {
		t.Fatalf("no reference server %q", protocol)
	}
	srv, err := p.New(knobs, kit.Discard())
	if err != nil {
		t.Fatalf("%s %v: %v", protocol, knobs, err)
	}
	var (
		l    kit.Listener
		addr string
	)
	if p.Network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l.Packet, addr = pc, pc.LocalAddr().String()
		t.Cleanup(func() { pc.Close() })
	} else {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l.Stream, addr = ln, ln.Addr().String()
		t.Cleanup(func() { ln.Close() })
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s server: %v", protocol, err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%s server did not stop within 10s", protocol)
		}
	})
	return addr
}

func TestChatWithReference(t *testing.T) {
	for _, framing := range []string{chat.FramingRaw, chat.FramingLines} {
		t.Run(framing, func(t *testing.T) {
			addr := serveReference(t, "chat", map[string]string{"framing": framing})
			cfg := chat.DefaultConfig()
			cfg.Addr, cfg.Timeouts, cfg.Framing = addr, timeouts, framing

			var listenerOut fakeserver.Output
			listen := cfg
			listen.Expect = 1
			done := fakeserver.Background(t, func() error {
				return chat.Run(context.Background(), listen, nil, &listenerOut, io.Discard)
			})
			listenerOut.WaitFor(t, chat.DefaultWelcome+"\n", 5*time.Second)

			send := cfg
			send.Send = []string{"hello room"}
			send.Linger = 10 * time.Millisecond
			if err := chat.Run(context.Background(), send, nil, io.Discard, io.Discard); err != nil {
				t.Fatalf("sender: %v", err)
			}
			if err := done(5 * time.Second); err != nil {
				t.Fatalf("listener: %v", err)
			}
			if got, want := listenerOut.String(), chat.DefaultWelcome+"\n<127.0.0.1> hello room\n"; got != want {
				t.Errorf("listener showed %q, want %q", got, want)
			}
		})
	}
}

func TestChatJoinWithReference(t *testing.T) {
	addr := serveReference(t, "chat", map[string]string{
		"framing": "lines", "join": `expect NICKNAME\n; send {nick}\n`, "relay": "{nick}: {msg}",
	})
	cfg := chat.DefaultConfig()
	cfg.Addr, cfg.Timeouts, cfg.Framing = addr, timeouts, chat.FramingLines
	cfg.Join, cfg.Relay = `expect NICKNAME\n; send {nick}\n`, "{nick}: {msg}"

	var aliceOut fakeserver.Output
	alice := cfg
	alice.Nick, alice.Expect = "alice", 1
	done := fakeserver.Background(t, func() error { return chat.Run(context.Background(), alice, nil, &aliceOut, io.Discard) })
	aliceOut.WaitFor(t, chat.DefaultWelcome, 5*time.Second)

	bob := cfg
	bob.Nick, bob.Send, bob.Linger = "bob", []string{"hi alice"}, 10*time.Millisecond
	if err := chat.Run(context.Background(), bob, nil, io.Discard, io.Discard); err != nil {
		t.Fatalf("bob: %v", err)
	}
	if err := done(5 * time.Second); err != nil {
		t.Fatalf("alice: %v", err)
	}
	if !strings.HasSuffix(aliceOut.String(), "bob: hi alice\n") {
		t.Errorf("alice showed %q", aliceOut.String())
	}
}

func TestHeader64WithReference(t *testing.T) {
	for _, mode := range []string{header64.ReplyNone, header64.ReplyAck, header64.ReplyEcho} {
		t.Run(mode, func(t *testing.T) {
			addr := serveReference(t, "header64", map[string]string{"reply": mode})
			cfg := header64.DefaultConfig()
			cfg.Addr, cfg.Timeouts, cfg.Reply = addr, timeouts, mode
			cfg.Messages = []string{"Hi", "", "héllo"}
			var out bytes.Buffer
			if err := header64.Run(context.Background(), cfg, nil, &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{
				header64.ReplyNone: "",
				header64.ReplyAck:  strings.Repeat("Msg received\n", 4),
				header64.ReplyEcho: "Hi\n\nhéllo\n!DISCONNECT\n",
			}[mode]
			if out.String() != want {
				t.Errorf("printed %q, want %q", out.String(), want)
			}
		})
	}
}

func TestBlock32WithReference(t *testing.T) {
	for _, mode := range []string{block32.PerConnectionOne, block32.PerConnectionMany} {
		t.Run(mode, func(t *testing.T) {
			addr := serveReference(t, "block32", map[string]string{"per_connection": mode})
			cfg := block32.DefaultConfig()
			cfg.Addr, cfg.Timeouts, cfg.PerConnection = addr, timeouts, mode
			cfg.Messages = []string{"hello", "", "straße"}
			var out bytes.Buffer
			if err := block32.Run(context.Background(), cfg, nil, &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			if out.String() != "HELLO\n\nSTRASSE\n" {
				t.Errorf("printed %q", out.String())
			}
		})
	}
}

func TestUpperAndEchoWithReference(t *testing.T) {
	for _, c := range []struct {
		protocol string
		knobs    map[string]string
		in, want string
	}{
		{"upper", nil, "hello\nstraße\n", "HELLO\nSTRASSE\n"},
		{"upper", map[string]string{"mode": "once"}, "once only", "ONCE ONLY"},
		{"upper", map[string]string{"case": "ascii"}, "straße", "STRAßE"},
		{"echo", nil, "every byte \x00\xff back", "every byte \x00\xff back"},
	} {
		t.Run(c.protocol, func(t *testing.T) {
			addr := serveReference(t, c.protocol, c.knobs)
			var out bytes.Buffer
			err := stream.Run(context.Background(), stream.Config{Addr: addr, Timeouts: timeouts}, strings.NewReader(c.in), &out, io.Discard)
			if err != nil || out.String() != c.want {
				t.Errorf("printed %q, %v; want %q", out.String(), err, c.want)
			}
		})
	}
	t.Run("echo 1 MiB", func(t *testing.T) {
		addr := serveReference(t, "echo", nil)
		in := make([]byte, 1<<20)
		rand.Read(in)
		var out bytes.Buffer
		err := stream.Run(context.Background(), stream.Config{Addr: addr, Timeouts: timeouts}, bytes.NewReader(in), &out, io.Discard)
		if err != nil || !bytes.Equal(out.Bytes(), in) {
			t.Errorf("%d bytes back, %v", out.Len(), err)
		}
	})
}

func TestUDPAndPingWithReference(t *testing.T) {
	addr := serveReference(t, "udp-upper", nil)
	var out bytes.Buffer
	cfg := udp.Config{Addr: addr, Timeout: 2 * time.Second, Retries: 1, Messages: []string{"hello", "straße"}}
	if err := udp.Run(context.Background(), cfg, nil, &out, io.Discard); err != nil || out.String() != "HELLO\nSTRASSE\n" {
		t.Errorf("udp: printed %q, %v", out.String(), err)
	}

	addr = serveReference(t, "udp-pong", nil)
	out.Reset()
	st, err := ping.Run(context.Background(), ping.Config{Addr: addr, Count: 3, Interval: 5 * time.Millisecond, Timeout: 2 * time.Second}, &out, io.Discard)
	if err != nil || st.Received != 3 || !strings.Contains(out.String(), "3 packets transmitted, 3 received, 0% packet loss") {
		t.Errorf("ping: %+v, %v:\n%s", st, err, out.String())
	}
}

func TestLookupWithReference(t *testing.T) {
	for _, mode := range []string{lookup.PerConnectionMany, lookup.PerConnectionOne} {
		t.Run(mode, func(t *testing.T) {
			addr := serveReference(t, "lookup", map[string]string{"per_connection": mode})
			cfg := lookup.DefaultConfig()
			cfg.Addr, cfg.Timeouts, cfg.PerConnection = addr, timeouts, mode
			cfg.Names = []string{"John", "denise", "nobody", "ADAM"}
			var out bytes.Buffer
			if err := lookup.Run(context.Background(), cfg, nil, &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			if want := "John C45\ndenise C44\nnobody UNKNOWN\nADAM B23\n"; out.String() != want {
				t.Errorf("printed %q, want %q", out.String(), want)
			}
		})
	}
}

func TestDatetimeWithReference(t *testing.T) {
	addr := serveReference(t, "datetime", nil)
	cfg := datetime.DefaultConfig()
	cfg.Addr, cfg.Timeouts = addr, timeouts
	var out bytes.Buffer
	if err := datetime.Run(context.Background(), cfg, strings.NewReader("Date\nDateAndTime\nwhat\n-1\n"), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	p := regexp.QuoteMeta(datetime.Prompt)
	exchange := func(reply string) string {
		return p + "Connected to server\nSending data\nReceived from server: " + reply + "\nClosing socket\n"
	}
	want := regexp.MustCompile("^Starting Client\n" + exchange(`\d{4}-\d\d-\d\d`) +
		exchange(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}`) + exchange("UNKNOWN OPTION: WHAT") + p + "$")
	if !want.MatchString(out.String()) {
		t.Errorf("transcript:\n%s", out.String())
	}

	out.Reset()
	cfg.Ask = []string{"Time", "Date and Time"}
	if err := datetime.Run(context.Background(), cfg, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\d\d:\d\d:\d\d\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\n$`).MatchString(out.String()) {
		t.Errorf("--ask printed %q", out.String())
	}
}

func TestHTTPWithReference(t *testing.T) {
	addr := serveReference(t, "httptime", nil)
	cfg := httpclient.DefaultConfig()
	cfg.Addr, cfg.Timeouts, cfg.Path = addr, timeouts, "/any/path"
	var out bytes.Buffer
	if err := httpclient.Run(context.Background(), cfg, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^Hello From Server at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$`).MatchString(out.String()) {
		t.Errorf("GET printed %q", out.String())
	}
	out.Reset()
	cfg.Head = true
	if err := httpclient.Run(context.Background(), cfg, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "HTTP/1.1 200 OK\n") || !strings.Contains(strings.ToLower(out.String()), "content-type: text/plain; charset=utf-8\n") || strings.Contains(out.String(), "Hello") {
		t.Errorf("HEAD printed %q", out.String())
	}
}
