package chat

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sockspec/sockspec/wire"
)

const welcome = DefaultWelcome

func lines(extra ...string) map[string]string {
	k := map[string]string{"framing": "lines"}
	for i := 0; i+1 < len(extra); i += 2 {
		k[extra[i]] = extra[i+1]
	}
	return k
}

// CHAT-WELCOME-1: the welcome comes first, even while the room is busy.
func TestWelcomeFirst(t *testing.T) {
	s := startServer(t, nil)
	a := s.dial("")
	a.expect(welcome)

	// A flood from b must not get in front of c's welcome.
	b := s.dial("127.0.0.2")
	b.expect(welcome)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		b.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
		for range 2000 {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := b.conn.Write([]byte("flood")); err != nil {
				return
			}
		}
	})
	for range 5 {
		c := s.dial("")
		c.expect(welcome)
		c.conn.Close()
	}
	close(stop)
	wg.Wait()
}

func TestNoWelcome(t *testing.T) {
	s := startServer(t, map[string]string{"welcome": ""})
	a := s.dial("")
	<-s.joined // no welcome tells a client when it is in the room: ask the server
	b := s.dial("127.0.0.2")
	<-s.joined
	b.send("hi")
	got := a.readRawUntil(func(p map[string][]byte) bool { return len(p["127.0.0.2"]) >= 2 })
	if string(got["127.0.0.2"]) != "hi" {
		t.Fatalf("expected a to receive %q from 127.0.0.2 with no welcome before it, got %q", "hi", got)
	}
}

// The seed's format, raw framing, {ip} of a client bound to 127.0.0.2; no echo to the sender.
func TestRelayRaw(t *testing.T) {
	s := startServer(t, nil)
	a, b := s.dial("127.0.0.2"), s.dial("")
	a.expect(welcome)
	b.expect(welcome)
	a.send("hello")
	b.expect("<127.0.0.2> hello")
	b.send("yo")
	a.expect("<127.0.0.1> yo") // not its own "hello" first: no echo
}

func TestRelayLinesAllFields(t *testing.T) {
	s := startServer(t, lines("relay", "[{ip}:{port}] {msg} ({msg})", "welcome", "hi\n"))
	a, b := s.dial("127.0.0.2"), s.dial("")
	a.expect("hi\n")
	b.expect("hi\n")
	a.send("a b\r\n")
	b.expect(fmt.Sprintf("[127.0.0.2:%s] a b\r (a b\r)\n", a.port()))
	a.send("\n") // an empty line is a message too
	b.expect(fmt.Sprintf("[127.0.0.2:%s]  ()\n", a.port()))
}

// CHAT-RELAY-2: the sender never gets its own message, in both framings.
func TestNoSelfEcho(t *testing.T) {
	for _, framing := range []string{"raw", "lines"} {
		t.Run(framing, func(t *testing.T) {
			s := startServer(t, map[string]string{"framing": framing, "relay": "{msg}"})
			a, b, c := s.dial(""), s.dial(""), s.dial("")
			for _, x := range []*tclient{a, b, c} {
				x.expect(welcome)
			}
			a.send("one\n")
			b.expect("one\n")
			c.expect("one\n")
			b.send("two\n")
			a.expect("two\n") // relays are in one order: "one" would have come first
			c.expect("two\n")
		})
	}
}

// CHAT-ORDER-1 and CHAT-ORDER-2: three concurrent senders, three receivers; every client sees
// every other's lines, each sender's in its order, and all in one total order.
func TestTotalOrder(t *testing.T) {
	const perSender = 300
	s := startServer(t, lines("relay", "{ip} {msg}"))
	var senders, receivers []*tclient
	for i := range 3 {
		senders = append(senders, s.dial(fmt.Sprintf("127.0.0.%d", i+2)))
		receivers = append(receivers, s.dial(""))
	}
	all := append(append([]*tclient{}, senders...), receivers...)
	for _, c := range all {
		c.expect(welcome)
	}
	views := make([][]string, len(all))
	var wg sync.WaitGroup
	for i, c := range all {
		want := 3 * perSender
		if i < 3 {
			want = 2 * perSender
		}
		wg.Go(func() {
			c.conn.SetReadDeadline(time.Now().Add(ioTimeout))
			r := bufio.NewReader(c.conn)
			for range want {
				line, err := r.ReadString('\n')
				if err != nil {
					t.Errorf("%s: after %d lines: %v", c.name, len(views[i]), err)
					return
				}
				views[i] = append(views[i], line)
			}
		})
	}
	for i, c := range senders {
		wg.Go(func() {
			c.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
			var batch []byte
			for seq := range perSender {
				batch = fmt.Appendf(batch, "s%d %d\n", i, seq)
				if seq%(i+3) == 0 || seq == perSender-1 { // batches of different sizes per sender
					if _, err := c.conn.Write(batch); err != nil {
						t.Errorf("%s: write: %v", c.name, err)
						return
					}
					batch = batch[:0]
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	order := views[3]
	for i, view := range views {
		ip := ""
		if i < 3 {
			ip = senders[i].conn.LocalAddr().(*net.TCPAddr).IP.String()
		}
		// The total order minus the client's own lines.
		var want []string
		for _, l := range order {
			if ip == "" || !strings.HasPrefix(l, ip+" ") {
				want = append(want, l)
			}
		}
		if len(view) != len(want) {
			t.Fatalf("client %d: %d lines, want %d", i, len(view), len(want))
		}
		for j := range view {
			if view[j] != want[j] {
				t.Fatalf("client %d: line %d is %q, but receiver 0 saw %q there: not one total order", i, j, view[j], want[j])
			}
		}
	}
	// Per-sender FIFO, exactly once.
	next := map[string]int{}
	for _, l := range order {
		var ip string
		var sender, seq int
		if _, err := fmt.Sscanf(l, "%s s%d %d\n", &ip, &sender, &seq); err != nil {
			t.Fatalf("unexpected relay %q: %v", l, err)
		}
		if want := fmt.Sprintf("127.0.0.%d", sender+2); ip != want {
			t.Fatalf("relay %q: {ip} is %s, want %s", l, ip, want)
		}
		if seq != next[ip] {
			t.Fatalf("sender %s: got message %d, want %d (lost, duplicated or reordered)", ip, seq, next[ip])
		}
		next[ip]++
	}
}

// CHAT-CONC-1 in raw framing: 50 clients each send 20 messages at once; every other client's
// relays of each sender concatenate to exactly that sender's stream.
func TestConcurrentRaw(t *testing.T) {
	const clients, msgs = 50, 20
	s := startServer(t, nil)
	cs := make([]*tclient, clients)
	want := map[string]string{}
	for i := range cs {
		ip := fmt.Sprintf("127.0.1.%d", i+1)
		cs[i] = s.dial(ip)
		cs[i].expect(welcome)
		var stream strings.Builder
		for m := range msgs {
			fmt.Fprintf(&stream, "c%d-m%d;", i, m)
		}
		want[ip] = stream.String()
	}
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			c.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
			for m := range msgs {
				if _, err := fmt.Fprintf(c.conn, "c%d-m%d;", i, m); err != nil {
					t.Errorf("%s: write: %v", c.name, err)
					return
				}
			}
		})
	}
	got := make([]map[string][]byte, clients)
	for i, c := range cs {
		mine := c.conn.LocalAddr().(*net.TCPAddr).IP.String()
		wg.Go(func() {
			var err error
			got[i], err = c.readRaw(func(p map[string][]byte) bool {
				n := 0
				for ip, b := range p {
					if ip != mine && len(b) >= len(want[ip]) {
						n++
					}
				}
				return n == clients-1 || p[mine] != nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for i, p := range got {
		mine := cs[i].conn.LocalAddr().(*net.TCPAddr).IP.String()
		if p[mine] != nil {
			t.Fatalf("client %s received its own bytes %s", mine, wire.Quote(p[mine], 80))
		}
		for ip, w := range want {
			if ip != mine && string(p[ip]) != w {
				t.Fatalf("client %s: bytes relayed for %s are %s, want %s", mine, ip, wire.Quote(p[ip], 80), wire.Quote([]byte(w), 80))
			}
		}
	}
}

// CHAT-FRAME-1: a message written one byte at a time, with a UTF-8 character split across
// segments, arrives intact.
func TestOneByteAtATime(t *testing.T) {
	msg := "héllo wörld €"
	t.Run("lines", func(t *testing.T) {
		s := startServer(t, lines())
		a, b := s.dial("127.0.0.2"), s.dial("")
		a.expect(welcome)
		b.expect(welcome)
		for _, ch := range []byte(msg + "\n") {
			a.send(string([]byte{ch}))
		}
		b.expect("<127.0.0.2> " + msg + "\n")
	})
	t.Run("raw", func(t *testing.T) {
		s := startServer(t, nil)
		a, b := s.dial("127.0.0.2"), s.dial("")
		a.expect(welcome)
		b.expect(welcome)
		for _, ch := range []byte(msg) {
			a.send(string([]byte{ch}))
		}
		got := b.readRawUntil(func(p map[string][]byte) bool { return len(p["127.0.0.2"]) >= len(msg) })
		if string(got["127.0.0.2"]) != msg {
			t.Fatalf("relayed bytes %q, want %q", got["127.0.0.2"], msg)
		}
	})
}

// pattern is n bytes of printable, non-'<' text without newlines, varied so that a lost or
// repeated block shows.
func pattern(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'A' + byte(i*7%31)
	}
	return string(b)
}

// CHAT-FRAME-3: a message of the maximum size arrives intact; a longer line closes its sender
// only.
func TestMaxMessage(t *testing.T) {
	t.Run("lines", func(t *testing.T) {
		s := startServer(t, lines("relay", "{msg}"))
		a, b, c := s.dial(""), s.dial(""), s.dial("")
		for _, x := range []*tclient{a, b, c} {
			x.expect(welcome)
		}
		big := pattern(DefaultMaxLine)
		a.send(big + "\n")
		b.expect(big + "\n")
		c.expect(big + "\n")

		a.send(big + "x\n") // one byte over
		a.expectClosed(2 * time.Second)
		c.send("still here\n")
		b.expect("still here\n")
		if !s.logs.waitFor("WARN closed a client", 2*time.Second) {
			t.Fatalf("no Warn for the over-long line; logs:\n%s", s.logs)
		}
	})
	t.Run("raw", func(t *testing.T) {
		s := startServer(t, nil)
		a, b := s.dial("127.0.0.2"), s.dial("")
		a.expect(welcome)
		b.expect(welcome)
		for _, n := range []int{DefaultMaxRaw, 3*DefaultMaxRaw + 5} {
			msg := pattern(n)
			a.send(msg)
			got := b.readRawUntil(func(p map[string][]byte) bool { return len(p["127.0.0.2"]) >= n })
			if string(got["127.0.0.2"]) != msg {
				t.Fatalf("%d bytes sent, %d relayed, or different bytes", n, len(got["127.0.0.2"]))
			}
		}
	})
}

// The raw read size is max_message: each relay carries at most that many bytes.
func TestRawChunkSize(t *testing.T) {
	s := startServer(t, map[string]string{"max_message": "10", "relay": "<{msg}>"})
	a, b := s.dial(""), s.dial("")
	a.expect(welcome)
	b.expect(welcome)
	msg := pattern(25)
	a.send(msg)
	var stream []byte
	for len(stream)-2*bytes.Count(stream, []byte("<")) < len(msg) {
		stream = append(stream, b.readN(1)...)
	}
	var joined string
	for _, relay := range strings.Split(string(stream), "><") {
		relay = strings.Trim(relay, "<>")
		if len(relay) > 10 {
			t.Fatalf("relay of %d bytes with max_message=10: %q", len(relay), stream)
		}
		joined += relay
	}
	if joined != msg {
		t.Fatalf("relayed %q, want %q", joined, msg)
	}
}

// CHAT-UTF8-1: bytes that are not UTF-8 are relayed unchanged.
func TestNonUTF8(t *testing.T) {
	bad := "\xff\xfe\x80 ok \xc3"
	for _, framing := range []string{"raw", "lines"} {
		t.Run(framing, func(t *testing.T) {
			s := startServer(t, map[string]string{"framing": framing})
			a, b := s.dial("127.0.0.2"), s.dial("")
			a.expect(welcome)
			b.expect(welcome)
			a.send(bad + "\n")
			b.expect("<127.0.0.2> " + bad + "\n")
			a.send("after\n") // the sender's session is alive
			b.expect("<127.0.0.2> after\n")
		})
	}
}

// CHAT-SLOW-1: a client with a tiny receive buffer that never reads is dropped once its
// queue overflows, and the others keep receiving without delay.
func TestSlowReaderDropped(t *testing.T) {
	s := startServer(t, lines("queue", "256KiB", "relay", "{msg}"))
	slow := s.dialWith(net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}, "")
	slow.expect(welcome) // then never reads again
	a, fast := s.dial(""), s.dial("")
	a.expect(welcome)
	fast.expect(welcome)

	// 10 MB of relays: more than the server's socket buffers (4 MB at most) and the queue.
	// The default slow_timeout (1 s) leaves the fast reader time to drain on a loaded machine.
	const total = 100_000
	line := pattern(99) + "\n"
	lastSent := make(chan time.Time, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		chunk := []byte(strings.Repeat(line, 500))
		a.conn.SetWriteDeadline(time.Now().Add(2 * ioTimeout))
		for range total / 500 {
			if _, err := a.conn.Write(chunk); err != nil {
				t.Errorf("sender: %v", err)
				return
			}
		}
		lastSent <- time.Now()
	})
	fast.conn.SetReadDeadline(time.Now().Add(2 * ioTimeout))
	r := bufio.NewReaderSize(fast.conn, 64<<10)
	for i := range total {
		got, err := r.ReadSlice('\n')
		if err != nil {
			t.Fatalf("fast reader: line %d of %d: %v", i, total, err)
		}
		if string(got) != line {
			t.Fatalf("fast reader: line %d is %s", i, wire.Quote(got, 80))
		}
	}
	received := time.Now()
	wg.Wait()
	if t.Failed() {
		return
	}
	if d := received.Sub(<-lastSent); d > 2*time.Second {
		t.Fatalf("the last relay reached the fast reader %v after it was sent (want < 2 s)", d)
	}
	slow.expectClosed(2 * ioTimeout)
	if !s.logs.waitFor("INFO dropped a client that stopped reading", 2*time.Second) {
		t.Fatalf("no log of the dropped slow client; logs:\n%s", s.logs)
	}
}

// Flow control: a burst far bigger than the queue reaches readers that keep reading, paced
// by them; nobody is dropped.
func TestBurstIsPacedNotDropped(t *testing.T) {
	s := startServer(t, lines("queue", "1KiB", "slow_timeout", "2s", "relay", "{msg}"))
	a := s.dial("")
	a.expect(welcome)
	readers := []*tclient{s.dial(""), s.dial("")}
	for _, r := range readers {
		r.expect(welcome)
	}
	const total = 20_000
	line := pattern(99) + "\n"
	var wg sync.WaitGroup
	wg.Go(func() {
		a.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
		chunk := []byte(strings.Repeat(line, 1000))
		for range total / 1000 {
			if _, err := a.conn.Write(chunk); err != nil {
				t.Errorf("sender: %v", err)
				return
			}
		}
	})
	for _, r := range readers {
		wg.Go(func() {
			r.conn.SetReadDeadline(time.Now().Add(ioTimeout))
			br := bufio.NewReader(r.conn)
			for i := range total {
				got, err := br.ReadSlice('\n')
				if err != nil || string(got) != line {
					t.Errorf("%s: line %d: %s, %v", r.name, i, wire.Quote(got, 60), err)
					return
				}
			}
		})
	}
	wg.Wait()
	if s.logs.has("INFO dropped") {
		t.Fatalf("a reader was dropped; logs:\n%s", s.logs)
	}
}

// CHAT-LEAVE-3: a half-close makes the server close the connection.
func TestHalfClose(t *testing.T) {
	s := startServer(t, nil)
	a := s.dial("")
	a.expect(welcome)
	a.conn.CloseWrite()
	a.expectClosed(2 * time.Second)
}

// CHAT-LEAVE-1/2: after a client closes or resets, even with relays queued for it, the
// others keep chatting.
func TestLeaveOthersKeepChatting(t *testing.T) {
	s := startServer(t, lines())
	a, b := s.dial("127.0.0.2"), s.dial("")
	a.expect(welcome)
	b.expect(welcome)
	for _, leave := range []string{"close", "reset"} {
		r := s.dial("127.0.0.3")
		r.expect(welcome)
		a.send("to r\n") // queued for r, which never reads it
		b.expect("<127.0.0.2> to r\n")
		r.send("bye\n")
		a.expect("<127.0.0.3> bye\n")
		b.expect("<127.0.0.3> bye\n")
		if leave == "reset" {
			r.reset()
		} else {
			r.conn.Close()
		}
		a.send("after " + leave + "\n")
		b.expect("<127.0.0.2> after " + leave + "\n")
		b.send("ok\n")
		a.expect("<127.0.0.1> ok\n")
	}
}

// The join script: the server plays the client's "expect" and reads its "send" lines.
func TestJoinNick(t *testing.T) {
	s := startServer(t, lines(
		"welcome", "welcome\n",
		"join", `expect NICKNAME; send {nick}\n; expect hello {nick} from {ip}\n`,
		"relay", "<{nick}> {msg}",
		"join_timeout", "1s"))
	// A silent client stuck in the join delays nobody (CHAT-JOIN-1) and is dropped after
	// join_timeout.
	silent := s.dial("")
	silent.expect("NICKNAME")

	bob := s.dial("")
	bob.expect("NICKNAME")
	bob.send("bob\r\n")
	bob.expect("hello bob from 127.0.0.1\n")
	bob.expect("welcome\n")

	alice := s.dial("127.0.0.2")
	alice.expect("NICKNAME")
	alice.send("alice\nhi all\n") // chat right behind the nick, in the same segment
	alice.expect("hello alice from 127.0.0.2\n")
	alice.expect("welcome\n")
	bob.expect("<alice> hi all\n")
	bob.send("hi alice\n")
	alice.expect("<bob> hi alice\n")

	silent.expectClosed(3 * time.Second)
	if !s.logs.waitFor("INFO join timed out", 2*time.Second) {
		t.Fatalf("no log of the join timeout; logs:\n%s", s.logs)
	}
}

func TestJoinRefused(t *testing.T) {
	s := startServer(t, lines("join", `send NICK {nick}\n`, "relay", "{nick}: {msg}"))
	a := s.dial("")
	a.send("hello\n")
	a.expectClosed(2 * time.Second)

	long := s.dial("")
	long.send(strings.Repeat("x", 2*maxJoinLine)) // no newline
	long.expectClosed(2 * time.Second)
	if !s.logs.waitFor("WARN join refused", 2*time.Second) {
		t.Fatalf("no Warn for the refused join; logs:\n%s", s.logs)
	}

	ok, other := s.dial(""), s.dial("")
	ok.send("NICK carol\n")
	other.send("NICK dave\n")
	ok.expect(welcome)
	other.expect(welcome)
	ok.send("x\n")
	other.expect("carol: x\n")
}

func TestIdle(t *testing.T) {
	s := startServer(t, map[string]string{"idle": "200ms"})
	a := s.dial("")
	a.expect(welcome)
	a.expectClosed(2 * time.Second)
}

// An over-long line is refused once max_message+1 bytes have arrived, without the server
// holding on to what the client keeps sending.
func TestOverlongLineBoundedMemory(t *testing.T) {
	s := startServer(t, lines())
	a := s.dial("")
	a.expect(welcome)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	chunk := []byte(strings.Repeat("y", 64<<10))
	a.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	sent := 0
	for sent < 32<<20 {
		n, err := a.conn.Write(chunk)
		sent += n
		if err != nil {
			break // the server closed: expected
		}
	}
	a.expectClosed(2 * time.Second)
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 4<<20 {
		t.Fatalf("heap grew by %d bytes while a client sent %d bytes without a newline", grew, sent)
	}
}

// Shutdown with clients in every state: joined and idle, mid-join, and a writer blocked on a
// client that does not read. Serve must return within 2 s (checked by stop).
func TestGracefulShutdown(t *testing.T) {
	s := startServer(t, lines("join", `expect N\n; send {nick}\n`, "queue", "64MiB"))
	idle := s.dial("")
	idle.expect("N\n")
	idle.send("idle\n")
	idle.expect(welcome)
	mid := s.dial("")
	mid.expect("N\n")
	stuck := s.dial("")
	stuck.expect("N\n")
	stuck.send("stuck\n")
	talker := s.dial("")
	talker.expect("N\n")
	talker.send("talker\n")
	talker.expect(welcome)
	// Fill stuck's socket buffers so that its writer blocks in writev; idle reads along.
	var wg sync.WaitGroup
	wg.Go(func() {
		idle.conn.SetReadDeadline(time.Now().Add(ioTimeout))
		var n int
		buf := make([]byte, 64<<10)
		for n < 8<<10*1001 {
			m, err := idle.conn.Read(buf)
			n += m
			if err != nil {
				return
			}
		}
	})
	talker.send(strings.Repeat(pattern(1000)+"\n", 8<<10))
	wg.Wait()

	start := time.Now()
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Serve returned %v after cancel", time.Since(start))
	for _, c := range []*tclient{idle, mid, talker} {
		c.expectClosed(2 * time.Second)
	}
}

func TestRemotePeer(t *testing.T) {
	p := peerOf(fakeConn{addr: &net.TCPAddr{IP: net.ParseIP("::ffff:127.0.0.9"), Port: 4242}})
	if p.ip != "127.0.0.9" || p.port != "4242" {
		t.Fatalf("peerOf(v4-mapped) = %+v, want ip 127.0.0.9 port 4242", p)
	}
	p = peerOf(fakeConn{addr: &net.TCPAddr{IP: net.ParseIP("::1"), Port: 1}})
	if p.ip != "::1" || p.port != "1" {
		t.Fatalf("peerOf(::1) = %+v", p)
	}
}

type fakeConn struct {
	net.Conn
	addr net.Addr
}

func (f fakeConn) RemoteAddr() net.Addr { return f.addr }
