// Package block32fuzz feeds the reference block32 server, in-process on 127.0.0.1, with
// fuzzer-chosen client byte streams cut into fuzzer-chosen segments and ended in a
// fuzzer-chosen way (half-close, close, reset), and checks each session against a small model
// of the protocol written here, independently of wire.BlockDecoder: every whole block is
// answered with its upper-cased payload in the same framing, an over-limit length closes the
// connection, per_connection=one closes after the first reply, a connection the model keeps
// open still answers a block afterwards, and the server never panics and keeps its memory
// bounded.
package block32fuzz

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sockspec/sockspec/servers/block32"
	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/wire"
)

// configs are the servers a fuzz input can talk to (its first byte chooses). Small limits make
// over-limit lengths easy for the fuzzer to reach.
var configs = []block32.Config{
	{PerConnection: block32.Many, Case: wire.Unicode, MaxLength: 512, Idle: 10 * time.Second},
	{PerConnection: block32.One, Case: wire.ASCII, MaxLength: 64, Idle: 10 * time.Second},
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
		srv := block32.New(cfg, kit.Discard())
		go srv.Serve(context.Background(), kit.Listener{Stream: ln})
		addrs = append(addrs, ln.Addr().String())
	}
}

// outcome is what the model says the server does with a stream.
type outcome struct {
	replies []byte // everything the server sends, in order
	closes  bool   // the server closes by itself (one block answered, or a refusal)
	aligned bool   // the stream ends at a block boundary
}

// model reads stream as PROTOCOLS.md says: a 4-byte big-endian length, at most the limit,
// then that many bytes; the reply is the same framing around the upper-cased payload.
func model(cfg block32.Config, stream []byte) outcome {
	var out outcome
	for pos := 0; ; {
		if pos == len(stream) {
			out.aligned = true
			return out
		}
		if len(stream)-pos < 4 {
			return out
		}
		n := int64(stream[pos])<<24 | int64(stream[pos+1])<<16 | int64(stream[pos+2])<<8 | int64(stream[pos+3])
		if n > cfg.MaxLength {
			out.closes = true
			return out
		}
		pos += 4
		if int64(len(stream)-pos) < n {
			return out
		}
		upper := wire.Upper(cfg.Case, stream[pos:pos+int(n)])
		pos += int(n)
		out.replies = binary.BigEndian.AppendUint32(out.replies, uint32(len(upper)))
		out.replies = append(out.replies, upper...)
		if cfg.PerConnection == block32.One {
			out.closes = true
			return out
		}
	}
}

// dial connects from a rotating loopback source address, so that the TIME_WAIT sockets of
// thousands of sessions do not exhaust one address's ephemeral ports.
func dial(addr string) (*net.TCPConn, error) {
	n := sessions.Add(1)
	src := &net.TCPAddr{IP: net.IPv4(127, 0, byte(41+n/250%40), byte(1+n%250))}
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

// readUntil reads until want bytes have come (want < 0: until EOF), or EOF/reset, or the
// deadline.
func readUntil(c *net.TCPConn, want int) ([]byte, error) {
	c.SetReadDeadline(time.Now().Add(replyWait))
	var got []byte
	buf := make([]byte, 4096)
	for want < 0 || len(got) < want {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if len(got) > 4*maxStream+4096 { // upper-casing can lengthen text, not this much
			return got, errors.New("the server sent far more than the replies owed")
		}
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

func block(payload string) string {
	return string(binary.BigEndian.AppendUint32(nil, uint32(len(payload)))) + payload
}

func FuzzBlock32(f *testing.F) {
	for _, s := range []struct {
		config byte
		stream string
		cuts   string
		ending byte
	}{
		{0, block("hello") + block("straße"), "", 0},
		{0, block("split é here"), "\x00\x01\x02\x08", 0},
		{0, block("") + block("after empty"), "", 1},
		{0, "\x00\x00\x02\x01" + "over the limit", "", 0},
		{0, "\xff\xff\xff\xff", "\x01", 2},
		{0, block("bad \xff\xfe bytes \xc3"), "", 0},
		{0, block("cut short")[:7], "", 0},
		{1, block("one block then close") + block("ignored"), "", 0},
		{1, block("ascii ß é only"), "\x03", 1},
		{1, "\x00\x00", "", 2},
	} {
		f.Add(s.config, []byte(s.stream), []byte(s.cuts), s.ending)
	}
	f.Fuzz(func(t *testing.T, config byte, stream, cuts []byte, ending byte) {
		startOnce.Do(start)
		if startErr != nil {
			t.Fatal(startErr)
		}
		i := int(config) % len(configs)
		if len(stream) > maxStream {
			stream = stream[:maxStream]
		}
		session(t, configs[i], addrs[i], stream, segments(stream, cuts), ending)
		if sessions.Load()%checkMemory == 0 {
			checkHeap(t)
		}
	})
}

// session plays one stream and judges what comes back.
func session(t *testing.T, cfg block32.Config, addr string, stream []byte, segs [][]byte, ending byte) {
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
		got, err := readUntil(c, -1)
		if !isEnd(err) {
			t.Fatalf("the server did not close the connection after %s (per_connection %s): %v; got %s",
				wire.Quote(stream, 200), cfg.PerConnection, err, wire.Quote(got, 200))
		}
		if !bytes.Equal(got, want.replies) {
			t.Fatalf("stream %s: replies %s, want %s", wire.Quote(stream, 200), wire.Quote(got, 200), wire.Quote(want.replies, 200))
		}
		return
	}
	got, err := readUntil(c, len(want.replies))
	if err != nil || !bytes.Equal(got, want.replies) {
		t.Fatalf("stream %s: replies %s (%v), want %s", wire.Quote(stream, 200), wire.Quote(got, 200), err, wire.Quote(want.replies, 200))
	}
	if want.aligned && cfg.PerConnection == block32.Many {
		// The connection must still be open and in step: one more block is answered.
		probe := []byte("still there? é")
		if _, err := c.Write(wire.AppendBlock(nil, probe)); err != nil {
			t.Fatalf("after %s, the connection was closed: %v", wire.Quote(stream, 200), err)
		}
		reply := wire.AppendBlock(nil, wire.Upper(cfg.Case, probe))
		more, err := readUntil(c, len(reply))
		if err != nil || !bytes.Equal(more, reply) {
			t.Fatalf("after %s, a further block got %s (%v), want %s", wire.Quote(stream, 200), wire.Quote(more, 100), err, wire.Quote(reply, 100))
		}
	}
	switch ending % 3 {
	case 0: // half-close: the server sees EOF and closes, sending nothing more
		c.CloseWrite()
		more, err := readUntil(c, -1)
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
