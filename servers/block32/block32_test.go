package block32

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/wire"
)

func block(msg string) []byte { return wire.AppendBlock(nil, []byte(msg)) }

func prefix(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }

// readBlock reads one reply block within the I/O timeout.
func readBlock(t *testing.T, c net.Conn) []byte {
	t.Helper()
	n := binary.BigEndian.Uint32(readN(t, c, 4, ioTimeout))
	if n > 64<<20 {
		t.Fatalf("reply block declares %d bytes", n)
	}
	return readN(t, c, int(n), ioTimeout)
}

// BLK-RESP-1, seed behaviour: one block, the upper-cased reply, then the server closes.
func TestSeedSession(t *testing.T) {
	s := start(t, nil)
	c := dial(t, s.addr)
	write(t, c, block("hello, world"))
	if got := readBlock(t, c); string(got) != "HELLO, WORLD" {
		t.Fatalf("want %q, got %q", "HELLO, WORLD", got)
	}
	readToEOF(t, c, 0, 2*time.Second)
}

func TestCaseRules(t *testing.T) {
	for _, tc := range []struct{ rule, in, want string }{
		{"unicode", "straße ǆ émile", "STRASSE Ǆ ÉMILE"},
		{"ascii", "straße ǆ émile", "STRAßE ǆ éMILE"},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			s := start(t, map[string]string{"case": tc.rule})
			c := dial(t, s.addr)
			write(t, c, block(tc.in))
			if got := readBlock(t, c); string(got) != tc.want {
				t.Fatalf("case=%s: want %q, got %q", tc.rule, tc.want, got)
			}
		})
	}
}

// BLK-FRAME-1, BLK-FRAME-2: the prefix and the payload split one byte per write.
func TestOneByteAtATime(t *testing.T) {
	s := start(t, nil)
	c := dial(t, s.addr)
	for _, b := range block("split ß") {
		write(t, c, []byte{b})
	}
	if got := readBlock(t, c); string(got) != "SPLIT SS" {
		t.Fatalf("got %q", got)
	}
}

// BLK-FRAME-2: a payload split across writes, including inside a multi-byte character.
func TestPayloadSplitAcrossSegments(t *testing.T) {
	s := start(t, nil)
	c := dial(t, s.addr)
	f := block("éé")
	write(t, c, f[:5]) // prefix and half of the first é
	write(t, c, f[5:7])
	write(t, c, f[7:])
	if got := readBlock(t, c); string(got) != "ÉÉ" {
		t.Fatalf("got %q", got)
	}
}

// BLK-FRAME-3: a zero-length block gets a zero-length reply.
func TestZeroLengthBlock(t *testing.T) {
	s := start(t, nil)
	c := dial(t, s.addr)
	write(t, c, prefix(0))
	if got := readN(t, c, 4, ioTimeout); !bytes.Equal(got, prefix(0)) {
		t.Fatalf("want a zero-length reply block, got %q", got)
	}
	readToEOF(t, c, 0, 2*time.Second)
}

// BLK-FRAME-4: a 1 MiB block, written while the client reads, is answered intact.
func TestOneMiBBlock(t *testing.T) {
	s := start(t, nil)
	c := dial(t, s.addr)
	payload := []byte(strings.Repeat("abcdefghijklmnopqrstuvwxyzéß\xff0123456789", 1<<20/40+1)[:1<<20])
	want := wire.Upper(wire.Unicode, payload)
	wrote := make(chan error, 1)
	go func() {
		c.SetWriteDeadline(time.Now().Add(ioTimeout))
		_, err := c.Write(wire.AppendBlock(nil, payload))
		wrote <- err
	}()
	got := readBlock(t, c)
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("1 MiB reply differs: %d bytes, want %d", len(got), len(want))
	}
}

// BLK-UTF8-1: bytes that are not UTF-8 are answered, kept as they are.
func TestNotUTF8IsAnsweredUnchanged(t *testing.T) {
	s := start(t, nil)
	c := dial(t, s.addr)
	write(t, c, block("caf\xe9 ok \xff"))
	if got := readBlock(t, c); string(got) != "CAF\xe9 OK \xff" {
		t.Fatalf("got %q", got)
	}
}

// BLK-BAD-2: a declared length over the limit closes at once, with a Warn log, without
// allocating; other clients are still served.
func TestOverLimitClosesWithoutAllocating(t *testing.T) {
	s := start(t, map[string]string{"per_connection": "many"})
	other := dial(t, s.addr)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 4 {
		c := dial(t, s.addr)
		write(t, c, prefix(0xFFFFFFFF))
		write(t, c, []byte("the start of a very long body"))
		readToEOF(t, c, 0, 2*time.Second)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Fatalf("four 4 GiB prefixes made the process allocate %d MiB", grew>>20)
	}
	if !strings.Contains(s.logs.String(), "level=WARN") {
		t.Errorf("want a Warn log; logs:\n%s", s.logs)
	}
	write(t, other, block("still"))
	if got := readBlock(t, other); string(got) != "STILL" {
		t.Fatalf("got %q", got)
	}
}

func TestMaxLengthBoundary(t *testing.T) {
	s := start(t, map[string]string{"max_length": "10", "per_connection": "many"})
	c := dial(t, s.addr)
	write(t, c, block("0123456789"))
	if got := readBlock(t, c); string(got) != "0123456789" {
		t.Fatalf("a block of exactly max_length: got %q", got)
	}
	write(t, c, prefix(11))
	readToEOF(t, c, 0, 2*time.Second)
}

// BLK-BAD-1: clients that close or reset mid-block do not take the server down.
func TestMidBlockCloseAndReset(t *testing.T) {
	s := start(t, nil)
	mid := dial(t, s.addr)
	write(t, mid, append(prefix(100), "only ten b"...))
	mid.Close()
	half := dial(t, s.addr)
	write(t, half, prefix(100)[:2])
	half.Close()
	reset := dial(t, s.addr)
	write(t, reset, append(prefix(100), "xx"...))
	reset.SetLinger(0)
	reset.Close()

	c := dial(t, s.addr)
	write(t, c, block("alive"))
	if got := readBlock(t, c); string(got) != "ALIVE" {
		t.Fatalf("got %q", got)
	}
}

// Half-closing mid-block: the server closes too, without a reply.
func TestHalfCloseMidBlock(t *testing.T) {
	s := start(t, nil)
	c := dial(t, s.addr)
	write(t, c, append(prefix(100), "abc"...))
	c.CloseWrite()
	readToEOF(t, c, 0, 2*time.Second)
}

func TestManyBlocksPerConnection(t *testing.T) {
	s := start(t, map[string]string{"per_connection": "many"})
	c := dial(t, s.addr)
	for _, m := range []string{"one", "", "three"} {
		write(t, c, block(m))
		if got := readBlock(t, c); string(got) != strings.ToUpper(m) {
			t.Fatalf("want %q, got %q", strings.ToUpper(m), got)
		}
	}
	write(t, c, append(block("coalesced a"), block("coalesced b")...))
	for _, want := range []string{"COALESCED A", "COALESCED B"} {
		if got := readBlock(t, c); string(got) != want {
			t.Fatalf("want %q, got %q", want, got)
		}
	}
	c.CloseWrite()
	readToEOF(t, c, 0, 2*time.Second)
}

// In one mode a second block sent with the first is not answered: reply, then close.
func TestOneModeAnswersOnlyTheFirstBlock(t *testing.T) {
	s := start(t, nil)
	c := dial(t, s.addr)
	write(t, c, append(block("first"), block("second")...))
	want := block("FIRST")
	if got := readToEOF(t, c, len(want), 2*time.Second); !bytes.Equal(got, want) {
		t.Fatalf("want only %q then a close, got %s", want, quote(got))
	}
}

// BLK-CONC-1: clients are served concurrently: one stuck mid-block does not delay another.
func TestConcurrentClients(t *testing.T) {
	s := start(t, nil)
	stuck := dial(t, s.addr)
	write(t, stuck, prefix(50))
	var wg sync.WaitGroup
	errs := make(chan string, 20)
	for range 20 {
		c := dial(t, s.addr)
		wg.Go(func() {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			if _, err := c.Write(block("concurrent")); err != nil {
				errs <- err.Error()
				return
			}
			reply := make([]byte, 14)
			if _, err := c.Read(reply[:1]); err != nil {
				errs <- err.Error()
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestIdleTimeoutCloses(t *testing.T) {
	s := start(t, map[string]string{"idle": "200ms"})
	c := dial(t, s.addr)
	write(t, c, prefix(10)[:3])
	readToEOF(t, c, 0, 2*time.Second)
	if !strings.Contains(s.logs.String(), "idle timeout") {
		t.Errorf("want an idle timeout log; logs:\n%s", s.logs)
	}
}

func TestShutdownWithClientsConnected(t *testing.T) {
	s := start(t, map[string]string{"per_connection": "many"})
	a := dial(t, s.addr)
	b := dial(t, s.addr)
	write(t, a, block("x"))
	readBlock(t, a)
	write(t, b, append(prefix(1000), "partial"...))
	if took := s.stop(); took > 2*time.Second {
		t.Fatalf("Serve took %v to return", took)
	}
	readToEOF(t, a, 0, 2*time.Second)
	readToEOF(t, b, 0, 2*time.Second)
}

func TestParseConfig(t *testing.T) {
	cfg, err := ParseConfig(nil)
	if err != nil || cfg != DefaultConfig() {
		t.Fatalf("ParseConfig(nil) = %+v, %v; want %+v", cfg, err, DefaultConfig())
	}
	cfg, err = ParseConfig(map[string]string{"per_connection": "many", "case": "ascii", "max_length": "1MiB", "idle": "0"})
	want := Config{PerConnection: Many, Case: wire.ASCII, MaxLength: 1 << 20}
	if err != nil || cfg != want {
		t.Fatalf("got %+v, %v; want %+v", cfg, err, want)
	}
	if _, err := ParseConfig(map[string]string{"mode": "many"}); err == nil ||
		!strings.Contains(err.Error(), "case, idle, max_length, per_connection") {
		t.Fatalf("unknown knob: want an error listing the knobs, got %v", err)
	}
	for _, bad := range []map[string]string{
		{"per_connection": "two"}, {"case": "title"}, {"max_length": "0"}, {"max_length": "4GiB"}, {"idle": "x"},
	} {
		var ke *kit.KnobError
		if _, err := ParseConfig(bad); !errors.As(err, &ke) {
			t.Errorf("ParseConfig(%v): want a *kit.KnobError, got %v", bad, err)
		}
	}
}

func TestProtocolDescriptor(t *testing.T) {
	if Protocol.Name != "block32" || Protocol.Network != "tcp" || Protocol.Port != 1241 {
		t.Fatalf("descriptor: %+v", Protocol)
	}
	for _, k := range Protocol.Knobs {
		if k.Help == "" {
			t.Errorf("knob %s has no help", k.Name)
		}
	}
}
