package chat

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockspec/sockspec/clients/internal/fakeserver"
	"github.com/sockspec/sockspec/clients/session"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 5 * time.Second

// seedRoom is the C199 server in miniature: a welcome, then each read is relayed as
// "<ip> msg" to every other client.
type seedRoom struct {
	mu      sync.Mutex
	clients map[net.Conn]bool
	welcome string
	lines   bool
}

func newSeedRoom(t *testing.T, welcome string) string {
	r := &seedRoom{clients: map[net.Conn]bool{}, welcome: welcome}
	return fakeserver.TCP(t, r.handle)
}

func (r *seedRoom) handle(ctx context.Context, c net.Conn) {
	r.mu.Lock()
	c.Write([]byte(r.welcome))
	r.clients[c] = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.clients, c)
		r.mu.Unlock()
	}()
	buf := make([]byte, 2048)
	ip := c.RemoteAddr().(*net.TCPAddr).IP.String()
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		msg := "<" + ip + "> " + string(buf[:n])
		r.mu.Lock()
		for o := range r.clients {
			if o != c {
				o.Write([]byte(msg))
			}
		}
		r.mu.Unlock()
	}
}

func cfgFor(addr string) Config {
	cfg := DefaultConfig()
	cfg.Addr = addr
	cfg.Timeouts = session.Timeouts{Connect: time.Second, IO: time.Second}
	return cfg
}

func TestScriptedSendAndExpect(t *testing.T) {
	addr := newSeedRoom(t, DefaultWelcome)
	var listenerOut, senderOut fakeserver.Output
	cfg := cfgFor(addr)
	cfg.Expect = 1
	listener := fakeserver.Background(t, func() error {
		return Run(context.Background(), cfg, nil, &listenerOut, io.Discard)
	})
	listenerOut.WaitFor(t, DefaultWelcome+"\n", wait)

	send := cfgFor(addr)
	send.Send = []string{"hello there"}
	send.Linger = 10 * time.Millisecond
	if err := Run(context.Background(), send, nil, &senderOut, io.Discard); err != nil {
		t.Fatalf("sender: %v", err)
	}
	if err := listener(wait); err != nil {
		t.Fatalf("listener: %v", err)
	}
	if got, want := listenerOut.String(), DefaultWelcome+"\n<127.0.0.1> hello there\n"; got != want {
		t.Errorf("listener showed %q, want %q", got, want)
	}
	if got := senderOut.String(); got != DefaultWelcome+"\n" {
		t.Errorf("sender showed %q, want only the welcome", got)
	}
}

func TestInteractiveThroughStdin(t *testing.T) {
	addr := newSeedRoom(t, DefaultWelcome)
	var aOut, bOut, bErr fakeserver.Output
	aIn, aInW := io.Pipe()
	bIn, bInW := io.Pipe()
	a := fakeserver.Background(t, func() error { return Run(context.Background(), cfgFor(addr), aIn, &aOut, io.Discard) })
	b := fakeserver.Background(t, func() error { return Run(context.Background(), cfgFor(addr), bIn, &bOut, &bErr) })
	aOut.WaitFor(t, DefaultWelcome, wait)
	bOut.WaitFor(t, DefaultWelcome, wait)

	io.WriteString(aInW, "hi from a\n")
	bOut.WaitFor(t, "<127.0.0.1> hi from a\n", wait)
	io.WriteString(bInW, "hi from b\r\n")
	aOut.WaitFor(t, "<127.0.0.1> hi from b\n", wait)

	aInW.Close() // EOF on stdin: a leaves
	if err := a(wait); err != nil {
		t.Fatalf("a: %v", err)
	}
	bInW.Close()
	if err := b(wait); err != nil {
		t.Fatalf("b: %v", err)
	}
	if strings.Contains(aOut.String(), "hi from a") {
		t.Errorf("a was shown its own message: %q", aOut.String())
	}
}

func TestInteractiveServerCloses(t *testing.T) {
	addr := fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
		c.Write([]byte(DefaultWelcome + "<10.0.0.1> bye"))
	})
	var out, errOut fakeserver.Output
	stdin, stdinW := io.Pipe()
	defer stdinW.Close()
	err := Run(context.Background(), cfgFor(addr), stdin, &out, &errOut)
	if err != nil {
		t.Fatalf("want nil when the server closes, got %v", err)
	}
	if got, want := out.String(), DefaultWelcome+"\n<10.0.0.1> bye\n"; got != want {
		t.Errorf("shown %q, want %q", got, want)
	}
	if !strings.Contains(errOut.String(), "the server closed the connection") {
		t.Errorf("stderr %q does not say the server closed", errOut.String())
	}
}

func TestDripWelcomeAndRelays(t *testing.T) {
	addr := fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
		fakeserver.Drip(c, []byte(DefaultWelcome+"<10.0.0.1> one<10.0.0.2> two"))
		fakeserver.Silent(ctx, c)
	})
	var out fakeserver.Output
	cfg := cfgFor(addr)
	cfg.Expect = 2
	if err := Run(context.Background(), cfg, nil, &out, io.Discard); err != nil {
		t.Fatalf("Run: %v (shown %q)", err, out.String())
	}
	if !strings.HasPrefix(out.String(), DefaultWelcome+"\n") {
		t.Errorf("welcome not shown first on its own line: %q", out.String())
	}
}

func TestScriptedErrors(t *testing.T) {
	silent := fakeserver.TCP(t, fakeserver.Silent)
	garbage := fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
		c.Write([]byte("\x00\xffHELLO?"))
		fakeserver.Silent(ctx, c)
	})
	welcomeThenClose := fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
		c.Write([]byte(DefaultWelcome + "<1.2.3.4> one"))
	})
	midWelcome := fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
		c.Write([]byte("Welcome to th"))
	})
	reset := fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
		c.Write([]byte(DefaultWelcome))
		fakeserver.ReadFull(c, 1)
		fakeserver.Reset(c)
	})
	cases := []struct {
		name   string
		addr   string
		send   []string
		expect int
		is     error
		says   string
	}{
		{"refused", fakeserver.ClosedPort(t), nil, 1, session.ErrRefused, "connection refused"},
		{"never answers", silent, nil, 1, session.ErrTimeout, `waiting for the welcome "Welcome to this chatroom!"`},
		{"garbage instead of welcome", garbage, nil, 1, nil, `expected the welcome "Welcome to this chatroom!" first, got "\x00\xffHELLO?"`},
		{"closes in the welcome", midWelcome, nil, 1, session.ErrClosed, `in the middle of it, after 13 bytes: "Welcome to th"`},
		{"closes before enough relays", welcomeThenClose, nil, 3, nil, "expected 3 relayed messages, got 1: the server closed the connection"},
		{"reset", reset, []string{"x"}, 1, session.ErrReset, "connection reset by the server"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := cfgFor(c.addr)
			cfg.Timeouts.IO = 200 * time.Millisecond
			cfg.Send, cfg.Expect = c.send, c.expect
			err := Run(context.Background(), cfg, nil, io.Discard, io.Discard)
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
	t.Run("no relay within the timeout", func(t *testing.T) {
		addr := fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
			c.Write([]byte(DefaultWelcome))
			fakeserver.Silent(ctx, c)
		})
		cfg := cfgFor(addr)
		cfg.Timeouts.IO = 100 * time.Millisecond
		cfg.Expect = 1
		err := Run(context.Background(), cfg, nil, io.Discard, io.Discard)
		var ee *ExpectError
		if !errors.As(err, &ee) || ee.Got != 0 || !strings.Contains(err.Error(), "nothing more arrived within 100ms") {
			t.Errorf("got %v, want an ExpectError with 0 of 1", err)
		}
	})
}

func TestJoinScript(t *testing.T) {
	nicks := make(chan string, 1)
	addr := fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
		c.Write([]byte("NICKNAME"))
		line := fakeserver.ReadFull(c, len("alice\n"))
		nicks <- string(line)
		c.Write([]byte(DefaultWelcome + "<bob> hello alice"))
		fakeserver.Silent(ctx, c)
	})
	var out fakeserver.Output
	cfg := cfgFor(addr)
	cfg.Join = `expect NICKNAME; send {nick}\n`
	cfg.Nick = "alice"
	cfg.Relay = "<{nick}> {msg}"
	cfg.Expect = 1
	if err := Run(context.Background(), cfg, nil, &out, io.Discard); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := <-nicks; got != "alice\n" {
		t.Errorf("server read %q, want %q", got, "alice\n")
	}
	if got, want := out.String(), "NICKNAME\n"+DefaultWelcome+"\n<bob> hello alice\n"; got != want {
		t.Errorf("shown %q, want %q", got, want)
	}

	cfg.Nick = ""
	if err := Run(context.Background(), cfg, nil, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "--nick") {
		t.Errorf("a script with {nick} and no nickname: got %v", err)
	}
}

func TestLinesFramingWithIgnore(t *testing.T) {
	addr := fakeserver.TCP(t, func(ctx context.Context, c net.Conn) {
		c.Write([]byte("hi!alice joined\n<1.1.1.1> one\n<1.1.1.2> tw"))
		c.Write([]byte("o\n"))
		got := fakeserver.ReadFull(c, len("mine\n"))
		if string(got) == "mine\n" {
			c.Write([]byte("ok\n"))
		}
		fakeserver.Silent(ctx, c)
	})
	var out fakeserver.Output
	cfg := cfgFor(addr)
	cfg.Framing = FramingLines
	cfg.Welcome = "hi!"
	cfg.Ignore = ` joined$`
	cfg.Send = []string{"mine"}
	cfg.Expect = 3
	if err := Run(context.Background(), cfg, nil, &out, io.Discard); err != nil {
		t.Fatalf("Run: %v (shown %q)", err, out.String())
	}
	if got, want := out.String(), "hi!\nalice joined\n<1.1.1.1> one\n<1.1.1.2> two\nok\n"; got != want {
		t.Errorf("shown %q, want %q", got, want)
	}
}

func TestRawRelayCounting(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Welcome = ""
	for _, c := range []struct {
		name   string
		relay  string
		chunks []string
		want   int
	}{
		{"one per read", DefaultRelay, []string{"<1.2.3.4> a", "<1.2.3.4> b"}, 2},
		{"coalesced", DefaultRelay, []string{"<1.2.3.4> a<::1> b<1.2.3.4> c"}, 3},
		{"prefix split over reads", DefaultRelay, []string{"<1.2.3.4> a<1.2.", "3.4> b"}, 2},
		{"a message split over reads", DefaultRelay, []string{"<1.2.3.4> aaaa", "aaaa"}, 1},
		{"no prefix: reads", "{msg}", []string{"a", "b", "c"}, 3},
		{"nick", "{nick}: {msg}", []string{"bob: hi", "alice: hello bob: "}, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg.Relay = c.relay
			r, err := newReceiver(cfg, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			for _, ch := range c.chunks {
				r.feed([]byte(ch))
			}
			if r.relays != c.want {
				t.Errorf("counted %d relays in %q, want %d", r.relays, c.chunks, c.want)
			}
		})
	}
}

func TestParseJoin(t *testing.T) {
	steps, err := ParseJoin(`expect NICK\;NAME ; send {nick}\n;`)
	if err != nil {
		t.Fatal(err)
	}
	want := []Step{{Expect: true, Text: "NICK;NAME"}, {Text: "{nick}\n"}}
	if len(steps) != 2 || steps[0] != want[0] || steps[1] != want[1] {
		t.Errorf("got %+v, want %+v", steps, want)
	}
	for _, bad := range []string{`wait 1`, `expect`, `send x\q`, `send x\`} {
		if _, err := ParseJoin(bad); err == nil {
			t.Errorf("ParseJoin(%q): want an error", bad)
		}
	}
}

func TestIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	ln.Close()
	addr := fakeserver.TCPOn(t, "[::1]:0", func(ctx context.Context, c net.Conn) {
		c.Write([]byte(DefaultWelcome + "<::1> hi"))
		fakeserver.Silent(ctx, c)
	})
	var out fakeserver.Output
	cfg := cfgFor(addr)
	cfg.Expect = 1
	if err := Run(context.Background(), cfg, nil, &out, io.Discard); err != nil {
		t.Fatalf("Run over IPv6: %v", err)
	}
}
