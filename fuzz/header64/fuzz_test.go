// Package header64fuzz feeds the reference header64 server, in-process on 127.0.0.1, with
// fuzzer-chosen client byte streams cut into fuzzer-chosen segments and ended in a
// fuzzer-chosen way (half-close, close, reset), and checks each session against a small model
// of the protocol written here, independently of wire.HeaderDecoder: every well-formed message
// is answered exactly, a malformed or over-limit one (or the token) closes the connection, a
// connection the model keeps open still answers a message afterwards, and the server never
// panics and keeps its memory bounded.
package header64fuzz

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sockspec/sockspec/servers/header64"
	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/wire"
)

// configs are the servers a fuzz input can talk to (its first byte chooses): the seed's header
// size in echo mode, and a tiny header in ack mode. Small limits make over-limit lengths easy
// for the fuzzer to reach.
var configs = []header64.Config{
	{HeaderSize: 64, Token: "!DISCONNECT", Reply: header64.ReplyEcho, MaxLength: 256, Idle: 10 * time.Second},
	{HeaderSize: 3, Token: "BYE", Reply: header64.ReplyAck, Ack: "ok", MaxLength: 40, Idle: 10 * time.Second},
}

const (
	maxStream   = 4 << 10 // longer inputs are cut: a session stays small
	replyWait   = 2 * time.Second
	heapLimit   = 256 << 20 // the whole fuzz process, servers included
	checkMemory = 512       // sessions between two heap readings
)

var (
	startOnce sync.Once
	addrs     []string
	startErr  error
	sessions  atomic.Int64
)

// start runs one reference server per config for the life of the fuzz process (each fuzz
// worker is a process of its own).
func start() {
	for _, cfg := range configs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			startErr = err
			return
		}
		srv := header64.New(cfg, kit.Discard())
		go srv.Serve(context.Background(), kit.Listener{Stream: ln})
		addrs = append(addrs, ln.Addr().String())
	}
}

// outcome is what the model says the server does with a stream.
type outcome struct {
	replies []byte // everything the server sends, in order
	closes  bool   // the server closes by itself (token, or a refusal)
	aligned bool   // the stream ends at a message boundary
}

// model reads stream as PROTOCOLS.md says: a header of ASCII digits then only spaces, at most
// the limit; a UTF-8 body; the token ends the session.
func model(cfg header64.Config, stream []byte) outcome {
	var out outcome
	for pos := 0; ; {
		if pos == len(stream) {
			out.aligned = true
			return out
		}
		if len(stream)-pos < cfg.HeaderSize {
			return out
		}
		n, ok := length(stream[pos:pos+cfg.HeaderSize], cfg.MaxLength)
		if !ok {
			out.closes = true
			return out
		}
		pos += cfg.HeaderSize
		if int64(len(stream)-pos) < n {
			return out
		}
		body := stream[pos : pos+int(n)]
		pos += int(n)
		if !utf8.Valid(body) {
			out.closes = true
			return out
		}
		out.replies = append(out.replies, replyTo(cfg, body)...)
		if string(body) == cfg.Token {
			out.closes = true
			return out
		}
	}
}

// length parses a header: one or more ASCII digits, then only spaces, at most max.
func length(h []byte, max int64) (int64, bool) {
	i := 0
	var n int64
	for ; i < len(h) && h[i] >= '0' && h[i] <= '9'; i++ {
		if n > max {
			continue // already over: keep scanning for the shape, do not overflow
		}
		n = n*10 + int64(h[i]-'0')
	}
	if i == 0 || n > max {
		return 0, false
	}
	for ; i < len(h); i++ {
		if h[i] != ' ' {
			return 0, false
		}
	}
	return n, true
}

func replyTo(cfg header64.Config, body []byte) []byte {
	switch cfg.Reply {
	case header64.ReplyAck:
		return []byte(cfg.Ack)
	case header64.ReplyEcho:
		return body
	}
	return nil
}

func frame(cfg header64.Config, body []byte) []byte {
	h := []byte(strconv.Itoa(len(body)))
	h = append(h, bytes.Repeat([]byte{' '}, cfg.HeaderSize-len(h))...)
	return append(h, body...)
}

// dial connects from a rotating loopback source address, so that the TIME_WAIT sockets of
// thousands of sessions do not exhaust one address's ephemeral ports.
func dial(addr string) (*net.TCPConn, error) {
	n := sessions.Add(1)
	src := &net.TCPAddr{IP: net.IPv4(127, 0, byte(1+n/250%40), byte(1+n%250))}
	d := net.Dialer{Timeout: replyWait, LocalAddr: src}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// segments cuts stream at the lengths cuts chooses (1 to 64 bytes each); the rest goes whole.
func segments(stream, cuts []byte) [][]byte {
	var out [][]byte
	for _, c := range cuts {
		if len(stream) == 0 {
			break
		}
		n := min(int(c%64)+1, len(stream))
		out = append(out, stream[:n])
		stream = stream[n:]
	}
	if len(stream) > 0 {
		out = append(out, stream)
	}
	return out
}

// readUntil reads until want bytes have come, or EOF/reset, or the deadline.
func readUntil(c *net.TCPConn, want int, got []byte) ([]byte, error) {
	c.SetReadDeadline(time.Now().Add(replyWait))
	buf := make([]byte, 4096)
	for want < 0 || len(got) < want {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if len(got) > maxStream*4+4096 {
			return got, errors.New("the server sent far more than the replies owed")
		}
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

func FuzzHeader64(f *testing.F) {
	for _, s := range []struct {
		config byte
		stream string
		cuts   string
		ending byte
	}{
		{0, "5" + pad(63) + "hello" + "11" + pad(62) + "!DISCONNECT", "", 0},
		{0, "5" + pad(63) + "hello", "\x00\x00\x00", 0},
		{0, "0" + pad(63) + "2" + pad(63) + "é", "\x3f\x00", 1},
		{0, "hello" + pad(59), "", 0},
		{0, "-5" + pad(62), "", 2},
		{0, "257" + pad(61) + "x", "", 0},
		{0, "3" + pad(63) + "\xff\xfe\xfd", "", 0},
		{1, "2  hi3  BYE", "\x00\x00\x00\x00", 0},
		{1, "41 ", "", 1},
		{1, "1  a1  b", "\x05", 2},
	} {
		f.Add(s.config, []byte(s.stream), []byte(s.cuts), s.ending)
	}
	f.Fuzz(func(t *testing.T, config byte, stream, cuts []byte, ending byte) {
		startOnce.Do(start)
		if startErr != nil {
			t.Fatal(startErr)
		}
		cfg := configs[int(config)%len(configs)]
		addr := addrs[int(config)%len(configs)]
		if len(stream) > maxStream {
			stream = stream[:maxStream]
		}
		session(t, cfg, addr, stream, segments(stream, cuts), ending)
		if sessions.Load()%checkMemory == 0 {
			checkHeap(t)
		}
	})
}

func pad(n int) string { return string(bytes.Repeat([]byte{' '}, n)) }

// session plays one stream and judges what comes back.
func session(t *testing.T, cfg header64.Config, addr string, stream []byte, segs [][]byte, ending byte) {
	want := model(cfg, stream)
	c, err := dial(addr)
	if err != nil {
		t.Fatalf("the server no longer accepts connections: %v", err)
	}
	defer c.Close()
	c.SetWriteDeadline(time.Now().Add(replyWait))
	for _, s := range segs {
		if _, err := c.Write(s); err != nil {
			if want.closes {
				break // it closed, as it should, before we were done
			}
			t.Fatalf("write failed although the stream %s should keep the connection open: %v", wire.Quote(stream, 200), err)
		}
	}
	if want.closes {
		got, err := readUntil(c, -1, nil)
		if !isEnd(err) {
			t.Fatalf("the server did not close the connection after %s (reply mode %s): %v; got %s",
				wire.Quote(stream, 200), cfg.Reply, err, wire.Quote(got, 200))
		}
		if !bytes.Equal(got, want.replies) {
			t.Fatalf("stream %s: replies %s, want %s", wire.Quote(stream, 200), wire.Quote(got, 200), wire.Quote(want.replies, 200))
		}
		return
	}
	got, err := readUntil(c, len(want.replies), nil)
	if err != nil || !bytes.Equal(got, want.replies) {
		t.Fatalf("stream %s: replies %s (%v), want %s", wire.Quote(stream, 200), wire.Quote(got, 200), err, wire.Quote(want.replies, 200))
	}
	if want.aligned {
		// The connection must still be open and in step: one more message is answered.
		probe := []byte("still there?") // fits every config's header and limit
		if _, err := c.Write(frame(cfg, probe)); err != nil {
			t.Fatalf("after %s, the connection was closed: %v", wire.Quote(stream, 200), err)
		}
		echo := replyTo(cfg, probe)
		more, err := readUntil(c, len(echo), nil)
		if err != nil || !bytes.Equal(more, echo) {
			t.Fatalf("after %s, a further message got %s (%v), want %s", wire.Quote(stream, 200), wire.Quote(more, 100), err, wire.Quote(echo, 100))
		}
	}
	switch ending % 3 {
	case 0: // half-close: the server sees EOF and closes, sending nothing more
		c.CloseWrite()
		more, err := readUntil(c, -1, nil)
		if !isEnd(err) || len(more) > 0 {
			t.Fatalf("after %s and a half-close: %v, and %s more", wire.Quote(stream, 200), err, wire.Quote(more, 100))
		}
	case 1: // close
	case 2: // reset
		c.SetLinger(0)
	}
}

// isEnd reports a clean close or a reset by the server.
func isEnd(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

// checkHeap fails when the process's live heap exceeds its bound: a server that allocated a
// declared length, or kept what departed clients sent, shows here.
func checkHeap(t *testing.T) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 && s[0].Value.Uint64() > heapLimit {
		t.Fatalf("live heap %d bytes, over the bound of %d", s[0].Value.Uint64(), heapLimit)
	}
}
