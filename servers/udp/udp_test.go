package udp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const replyTimeout = 2 * time.Second

// maxIPv4Payload is the largest datagram over IPv4 (65535 - 20 - 8).
const maxIPv4Payload = 65507

// logBuffer collects log lines from the server's goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type running struct {
	addr netip.AddrPort // where the server is bound
	logs *logBuffer
}

// serve starts srv on a fresh socket bound to bind ("127.0.0.1:0", "[::1]:0") and stops it
// when the test ends, checking that Serve returns nil within 2 s.
func serve(t *testing.T, srv *Server, bind string) running {
	t.Helper()
	pc, err := net.ListenPacket("udp", bind)
	if err != nil {
		t.Fatalf("listen %s: %v", bind, err)
	}
	return serveOn(t, srv, pc)
}

func serveOn(t *testing.T, srv *Server, pc net.PacketConn) running {
	t.Helper()
	logs := &logBuffer{}
	srv.log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, kit.Listener{Packet: pc}) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve returned %v after cancel, want nil", err)
			}
		case <-time.After(2 * time.Second):
			t.Errorf("Serve still running 2 s after cancel")
		}
	})
	return running{addr: pc.LocalAddr().(*net.UDPAddr).AddrPort(), logs: logs}
}

func newServer(t *testing.T, m Mode, knobs map[string]string) *Server {
	t.Helper()
	cfg, err := ParseConfig(m, knobs)
	if err != nil {
		t.Fatalf("ParseConfig(%v): %v", knobs, err)
	}
	return New(cfg, nil)
}

// bothPaths runs f against the one-datagram-per-call reader (batch=1) and the batched
// recvmmsg/sendmmsg reader (the default), with knobs added to each.
func bothPaths(t *testing.T, knobs map[string]string, f func(t *testing.T, knobs map[string]string)) {
	for _, batch := range []string{"1", "32"} {
		t.Run("batch="+batch, func(t *testing.T) {
			k := map[string]string{"batch": batch}
			for name, v := range knobs {
				k[name] = v
			}
			f(t, k)
		})
	}
}

// client is an unconnected socket, so the source of each reply can be checked.
func client(t *testing.T, bind string) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(bind)))
	if err != nil {
		t.Fatalf("client listen %s: %v", bind, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// exchange sends msg to `to` and returns the reply, checking that it came from `to`.
func exchange(t *testing.T, c *net.UDPConn, to netip.AddrPort, msg []byte) []byte {
	t.Helper()
	if _, err := c.WriteToUDPAddrPort(msg, to); err != nil {
		t.Fatalf("send %s to %s: %v", wire.Quote(msg, 40), to, err)
	}
	return receive(t, c, to)
}

func receive(t *testing.T, c *net.UDPConn, want netip.AddrPort) []byte {
	t.Helper()
	buf := make([]byte, readBufSize)
	c.SetReadDeadline(time.Now().Add(replyTimeout))
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("no reply from %s within %v: %v", want, replyTimeout, err)
	}
	if from.Addr().Unmap() != want.Addr().Unmap() || from.Port() != want.Port() {
		t.Fatalf("UDP-SRC-1: reply came from %s, want the address the datagram was sent to, %s", from, want)
	}
	return buf[:n]
}

func expectReply(t *testing.T, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("reply: expected %s (%d bytes), got %s (%d bytes)", wire.Quote(want, 60), len(want), wire.Quote(got, 60), len(got))
	}
}

func TestUpperRepliesUpperCased(t *testing.T) {
	bothPaths(t, nil, func(t *testing.T, knobs map[string]string) {
		r := serve(t, newServer(t, Upper, knobs), "127.0.0.1:0")
		c := client(t, "127.0.0.1:0")
		for _, tc := range []struct{ in, want string }{
			{"hello world", "HELLO WORLD"},
			{"straße", "STRASSE"}, // full case mapping, as Python's str.upper
			{"déjà vu", "DÉJÀ VU"},
			{"MiXeD 123 !?", "MIXED 123 !?"},
		} {
			expectReply(t, exchange(t, c, r.addr, []byte(tc.in)), []byte(tc.want))
		}
	})
}

func TestUpperASCIICase(t *testing.T) {
	bothPaths(t, map[string]string{"case": "ascii"}, func(t *testing.T, knobs map[string]string) {
		r := serve(t, newServer(t, Upper, knobs), "127.0.0.1:0")
		c := client(t, "127.0.0.1:0")
		expectReply(t, exchange(t, c, r.addr, []byte("straße é")), []byte("STRAßE é"))
	})
}

func TestPong(t *testing.T) {
	bothPaths(t, nil, func(t *testing.T, knobs map[string]string) {
		r := serve(t, newServer(t, Pong, knobs), "127.0.0.1:0")
		c := client(t, "127.0.0.1:0")
		for _, in := range []string{"ping", "", "\xff\x00", strings.Repeat("x", 2048)} {
			expectReply(t, exchange(t, c, r.addr, []byte(in)), []byte("PONG"))
		}
	})
}

func TestPongCustomReply(t *testing.T) {
	r := serve(t, newServer(t, Pong, map[string]string{"reply": "pong!"}), "127.0.0.1:0")
	c := client(t, "127.0.0.1:0")
	expectReply(t, exchange(t, c, r.addr, []byte("x")), []byte("pong!"))
}

func TestEmptyDatagramGetsEmptyReply(t *testing.T) {
	bothPaths(t, nil, func(t *testing.T, knobs map[string]string) {
		r := serve(t, newServer(t, Upper, knobs), "127.0.0.1:0")
		c := client(t, "127.0.0.1:0")
		expectReply(t, exchange(t, c, r.addr, nil), []byte{})
		// UDP-EMPTY-1: and the server goes on answering.
		expectReply(t, exchange(t, c, r.addr, []byte("after")), []byte("AFTER"))
	})
}

func TestMaxDatagramAnsweredInFull(t *testing.T) {
	bothPaths(t, nil, func(t *testing.T, knobs map[string]string) {
		r := serve(t, newServer(t, Upper, knobs), "127.0.0.1:0")
		c := client(t, "127.0.0.1:0")
		msg := bytes.Repeat([]byte("abcdefgh"), 2048/8)
		expectReply(t, exchange(t, c, r.addr, msg), bytes.ToUpper(msg))
		if strings.Contains(r.logs.String(), "truncated") {
			t.Fatalf("a datagram of exactly max_datagram bytes was logged as truncated:\n%s", r.logs)
		}
	})
}

func TestOversizeDatagramTruncated(t *testing.T) {
	bothPaths(t, nil, func(t *testing.T, knobs map[string]string) {
		r := serve(t, newServer(t, Upper, knobs), "127.0.0.1:0")
		c := client(t, "127.0.0.1:0")
		for _, size := range []int{2049, 9000, maxIPv4Payload} {
			msg := bytes.Repeat([]byte("z"), size)
			expectReply(t, exchange(t, c, r.addr, msg), bytes.Repeat([]byte("Z"), 2048))
		}
		logs := r.logs.String()
		if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "truncated") || !strings.Contains(logs, "size=65507") {
			t.Fatalf("expected a Warn that the datagram was truncated, with its size; logs:\n%s", logs)
		}
	})
}

// The log of a truncated datagram names its sender, on both paths and both families (the
// batched reader decodes the sender from the raw sockaddr the kernel wrote).
func TestLogsNameTheSender(t *testing.T) {
	bothPaths(t, nil, func(t *testing.T, knobs map[string]string) {
		for _, bind := range []string{"127.0.0.1:0", "[::1]:0"} {
			t.Run(bind, func(t *testing.T) {
				pc, err := net.ListenPacket("udp", bind)
				if err != nil {
					t.Skipf("no %s here: %v", bind, err)
				}
				r := serveOn(t, newServer(t, Upper, knobs), pc)
				c := client(t, bind)
				exchange(t, c, r.addr, bytes.Repeat([]byte("z"), 2049))
				from := c.LocalAddr().(*net.UDPAddr).AddrPort().String()
				if logs := r.logs.String(); !strings.Contains(logs, "from="+from) {
					t.Fatalf("the truncation warning does not name the sender %s; logs:\n%s", from, logs)
				}
			})
		}
	})
}

func TestLargeMaxDatagram(t *testing.T) {
	bothPaths(t, map[string]string{"max_datagram": "64KiB"}, func(t *testing.T, knobs map[string]string) {
		r := serve(t, newServer(t, Upper, knobs), "127.0.0.1:0")
		c := client(t, "127.0.0.1:0")
		msg := bytes.Repeat([]byte("q"), maxIPv4Payload)
		expectReply(t, exchange(t, c, r.addr, msg), bytes.ToUpper(msg))
	})
}

func TestNonUTF8Answered(t *testing.T) {
	bothPaths(t, nil, func(t *testing.T, knobs map[string]string) {
		r := serve(t, newServer(t, Upper, knobs), "127.0.0.1:0")
		c := client(t, "127.0.0.1:0")
		// Invalid bytes come back unchanged, the text around them upper-cased (wire.Upper).
		expectReply(t, exchange(t, c, r.addr, []byte("ab\xff\xfecd\xc3")), []byte("AB\xff\xfeCD\xc3"))
		expectReply(t, exchange(t, c, r.addr, []byte("still here")), []byte("STILL HERE"))
	})
}

// UDP-CONC-1: 50 clients on distinct ports, interleaved, each get their own replies. Rounds of
// 50 keep the burst well inside the socket's receive buffer.
func TestFiftyClientsInterleaved(t *testing.T) {
	for _, knobs := range []map[string]string{
		{"readers": "1", "batch": "1"}, {"readers": "4", "batch": "1"},
		{"readers": "1"}, {"readers": "2", "batch": "8"},
	} {
		t.Run(fmt.Sprint(knobs), func(t *testing.T) {
			r := serve(t, newServer(t, Upper, knobs), "127.0.0.1:0")
			clients := make([]*net.UDPConn, 50)
			for i := range clients {
				clients[i] = client(t, "127.0.0.1:0")
			}
			for round := range 3 {
				for i, c := range clients {
					msg := fmt.Sprintf("client %d round %d", i, round)
					if _, err := c.WriteToUDPAddrPort([]byte(msg), r.addr); err != nil {
						t.Fatalf("client %d: send: %v", i, err)
					}
				}
				for i, c := range clients {
					want := strings.ToUpper(fmt.Sprintf("client %d round %d", i, round))
					expectReply(t, receive(t, c, r.addr), []byte(want))
				}
			}
		})
	}
}

func TestIPv6(t *testing.T) {
	bothPaths(t, nil, func(t *testing.T, knobs map[string]string) {
		pc, err := net.ListenPacket("udp", "[::1]:0")
		if err != nil {
			t.Skipf("no IPv6 loopback here: %v", err)
		}
		r := serveOn(t, newServer(t, Upper, knobs), pc)
		c := client(t, "[::1]:0")
		expectReply(t, exchange(t, c, r.addr, []byte("over six")), []byte("OVER SIX"))
	})
}

// The wildcard path (source from IP_PKTINFO / IPV6_PKTINFO), exercised on loopback sockets.
func TestPacketInfoPath(t *testing.T) {
	bothPaths(t, nil, func(t *testing.T, knobs map[string]string) {
		for _, bind := range []string{"127.0.0.1:0", "[::1]:0"} {
			t.Run(bind, func(t *testing.T) {
				pc, err := net.ListenPacket("udp", bind)
				if err != nil {
					t.Skipf("cannot bind %s: %v", bind, err)
				}
				srv := newServer(t, Upper, knobs)
				srv.forcePktinfo = true
				r := serveOn(t, srv, pc)
				c := client(t, bind)
				for i := range 3 {
					expectReply(t, exchange(t, c, r.addr, fmt.Appendf(nil, "pkt %d", i)), fmt.Appendf(nil, "PKT %d", i))
				}
				expectReply(t, exchange(t, c, r.addr, bytes.Repeat([]byte("t"), 3000)), bytes.Repeat([]byte("T"), 2048))
			})
		}
	})
}

// A socket bound to a wildcard address must answer from the address each datagram was sent
// to. Binding 0.0.0.0 would expose a port on every interface, so this runs only where asked,
// in a network namespace of its own:
//
//	SOCKSPEC_NETNS=1 unshare -rn sh -c 'ip link set lo up && go test -run Wildcard ./servers/udp'
func TestWildcardRepliesFromDestination(t *testing.T) {
	if os.Getenv("SOCKSPEC_NETNS") != "1" {
		t.Skip("binds a wildcard address: run in a private network namespace with SOCKSPEC_NETNS=1")
	}
	for _, tc := range []struct{ bind, client, to string }{
		{"0.0.0.0:0", "127.0.0.1:0", "127.0.0.2"},
		{"0.0.0.0:0", "127.0.0.1:0", "127.0.0.1"},
		{"[::]:0", "127.0.0.1:0", "127.0.0.3"}, // dual stack: IPv4 to an IPv6 socket
		{"[::]:0", "[::1]:0", "::1"},
	} {
		t.Run(tc.bind+"->"+tc.to, func(t *testing.T) {
			bothPaths(t, nil, func(t *testing.T, knobs map[string]string) {
				r := serve(t, newServer(t, Upper, knobs), tc.bind)
				c := client(t, tc.client)
				to := netip.AddrPortFrom(netip.MustParseAddr(tc.to), r.addr.Port())
				expectReply(t, exchange(t, c, to, []byte("where from")), []byte("WHERE FROM"))
			})
		})
	}
}

// A client that vanishes before its reply arrives does not disturb the others.
func TestVanishedClient(t *testing.T) {
	bothPaths(t, nil, func(t *testing.T, knobs map[string]string) {
		r := serve(t, newServer(t, Upper, knobs), "127.0.0.1:0")
		for range 20 {
			gone, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			gone.WriteToUDPAddrPort([]byte("bye"), r.addr)
			gone.Close()
		}
		c := client(t, "127.0.0.1:0")
		expectReply(t, exchange(t, c, r.addr, []byte("ok")), []byte("OK"))
	})
}

// wrappedConn hides the *net.UDPConn, forcing the generic net.PacketConn path.
type wrappedConn struct{ net.PacketConn }

func TestGenericPacketConn(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := serveOn(t, newServer(t, Pong, nil), wrappedConn{pc})
	c := client(t, "127.0.0.1:0")
	expectReply(t, exchange(t, c, r.addr, []byte("hi")), []byte("PONG"))
}

func TestShutdownIsPromptAndClosesSocket(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, Upper, map[string]string{"readers": "3"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, kit.Listener{Packet: pc}) }()
	c := client(t, "127.0.0.1:0")
	addr := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	expectReply(t, exchange(t, c, addr, []byte("up")), []byte("UP"))
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Serve still running 2 s after cancel")
	}
	t.Logf("Serve returned %v after cancel", time.Since(start))
	if _, err := pc.WriteTo([]byte("x"), c.LocalAddr()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("socket still open after Serve returned (write error %v)", err)
	}
	// The port is free again only once every descriptor of the socket is closed.
	again, err := net.ListenPacket("udp", addr.String())
	if err != nil {
		t.Fatalf("port not free after Serve returned (a descriptor of the socket left open?): %v", err)
	}
	again.Close()
}

func TestSocketClosedUnderServer(t *testing.T) {
	bothPaths(t, nil, func(t *testing.T, knobs map[string]string) {
		socketClosedUnderServer(t, newServer(t, Upper, knobs))
	})
}

func socketClosedUnderServer(t *testing.T, srv *Server) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), kit.Listener{Packet: pc}) }()
	c := client(t, "127.0.0.1:0")
	expectReply(t, exchange(t, c, pc.LocalAddr().(*net.UDPAddr).AddrPort(), []byte("a")), []byte("A"))
	pc.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Serve returned %v, want an error wrapping net.ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Serve did not return after its socket was closed")
	}
}

func TestServeWithoutPacketConn(t *testing.T) {
	err := New(DefaultConfig(Pong), nil).Serve(context.Background(), kit.Listener{})
	if err == nil || !strings.Contains(err.Error(), "packet conn") {
		t.Fatalf("Serve with no packet conn: got %v, want an error naming the missing packet conn", err)
	}
}

func TestParseConfig(t *testing.T) {
	cfg, err := ParseConfig(Upper, map[string]string{"max_datagram": "4KiB", "case": "ascii", "readers": "2"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxDatagram != 4096 || cfg.Case != wire.ASCII || cfg.Readers != 2 {
		t.Fatalf("got %+v", cfg)
	}
	if cfg, _ := ParseConfig(Pong, nil); cfg != DefaultConfig(Pong) || cfg.Reply != "PONG" || cfg.MaxDatagram != 2048 {
		t.Fatalf("defaults: got %+v", cfg)
	}
	for _, tc := range []struct {
		mode  Mode
		knobs map[string]string
		knob  string
	}{
		{Upper, map[string]string{"max_datagram": "0"}, "max_datagram"},
		{Upper, map[string]string{"max_datagram": "65537"}, "max_datagram"},
		{Upper, map[string]string{"max_datagram": "big"}, "max_datagram"},
		{Upper, map[string]string{"case": "title"}, "case"},
		{Pong, map[string]string{"readers": "0"}, "readers"},
		{Pong, map[string]string{"reply": strings.Repeat("p", MaxUDPPayload+1)}, "reply"},
	} {
		_, err := ParseConfig(tc.mode, tc.knobs)
		var ke *kit.KnobError
		if !errors.As(err, &ke) || ke.Knob != tc.knob {
			t.Errorf("%v %v: got %v, want a *kit.KnobError for %s", tc.mode, tc.knobs, err, tc.knob)
		}
	}
	// Each protocol's knobs only: `reply` means nothing to udp-upper.
	_, err = ParseConfig(Upper, map[string]string{"reply": "x"})
	if err == nil || !strings.Contains(err.Error(), "batch, case, max_datagram, readers") {
		t.Fatalf("unknown knob: got %v, want an error listing the valid knobs", err)
	}
}

func TestProtocols(t *testing.T) {
	for _, p := range []kit.Protocol{UpperProtocol, PongProtocol} {
		if p.Network != "udp" {
			t.Errorf("%s: network %q", p.Name, p.Network)
		}
		if _, err := p.New(map[string]string{"nope": "1"}, kit.Discard()); err == nil {
			t.Errorf("%s: an unknown knob was accepted", p.Name)
		}
		for _, k := range p.Knobs {
			if k.Help == "" {
				t.Errorf("%s: knob %s has no help", p.Name, k.Name)
			}
		}
	}
	if UpperProtocol.Name != "udp-upper" || UpperProtocol.Port != 1235 || PongProtocol.Name != "udp-pong" || PongProtocol.Port != 1234 {
		t.Fatalf("names/ports: %s %d, %s %d", UpperProtocol.Name, UpperProtocol.Port, PongProtocol.Name, PongProtocol.Port)
	}
	srv, err := PongProtocol.New(map[string]string{"reply": "P"}, kit.Discard())
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := serveOn(t, srv.(*Server), pc)
	c := client(t, "127.0.0.1:0")
	expectReply(t, exchange(t, c, r.addr, []byte("x")), []byte("P"))
}

func TestBatchBufferCap(t *testing.T) {
	for _, tc := range []struct{ max, batch, want int }{
		{2048, 32, 32}, {65527, 1024, 16}, {65527, 1, 1}, {1, 1024, 1024},
	} {
		s := New(Config{Mode: Upper, MaxDatagram: tc.max, Batch: tc.batch}, nil)
		if s.cfg.Batch != tc.want {
			t.Errorf("max_datagram=%d batch=%d: batch became %d, want %d", tc.max, tc.batch, s.cfg.Batch, tc.want)
		}
	}
}

func TestWarnLimiter(t *testing.T) {
	var w warnLimiter
	t0 := time.Unix(1000, 0)
	allowed := 0
	for i := range 100 {
		if ok, _ := w.allow(t0.Add(time.Duration(i) * time.Millisecond)); ok {
			allowed++
		}
	}
	if allowed != warnBurst {
		t.Fatalf("allowed %d warnings in 100 ms, want %d", allowed, warnBurst)
	}
	ok, suppressed := w.allow(t0.Add(1500 * time.Millisecond))
	if !ok || suppressed != 100-warnBurst {
		t.Fatalf("next window: ok=%v suppressed=%d, want true and %d", ok, suppressed, 100-warnBurst)
	}
}
