package wire_test

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/sockspec/sockspec/wire"
)

func TestBlockDecoderSegmentations(t *testing.T) {
	cases := []struct {
		name    string
		stream  string
		want    [][]byte
		wantErr string
	}{
		{"one block", "\x00\x00\x00\x05hello", msgs("hello"), "none"},
		{"zero length", "\x00\x00\x00\x00", msgs(""), "none"},
		{"coalesced", "\x00\x00\x00\x01a\x00\x00\x00\x00\x00\x00\x00\x02bc", msgs("a", "", "bc"), "none"},
		{"body bytes are opaque", "\x00\x00\x00\x03\x00\xff\n", msgs("\x00\xff\n"), "none"},
		{"prefix only is pending", "\x00\x00\x00\x05", nil, "none"},
		{"exactly the limit", "\x00\x00\x01\x00" + strings.Repeat("z", 256), msgs(strings.Repeat("z", 256)), "none"},
		{"limit plus one", "\x00\x00\x01\x01" + strings.Repeat("z", 257), nil, "too long"},
		{"big-endian, not little", "\x05\x00\x00\x00hello", nil, "too long"},
		{"over the limit after a good block", "\x00\x00\x00\x01a\xff\xff\xff\xff", msgs("a"), "too long"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			newDec := func() wire.Decoder { return &wire.BlockDecoder{Max: 256} }
			checkSegmentations(t, newDec, []byte(c.stream), c.want, c.wantErr)
		})
	}
}

func TestBlockDecoderPending(t *testing.T) {
	d := &wire.BlockDecoder{}
	if d.Pending() != 0 {
		t.Errorf("fresh decoder: want Pending 0, got %d", d.Pending())
	}
	steps := []struct {
		in      string
		pending int
		msgs    int
	}{
		{"\x00\x00", 2, 0},
		{"\x00\x03", 4, 0},
		{"ab", 6, 0},
		{"c", 0, 1},
		{"\x00\x00\x00\x00", 0, 1},
	}
	for i, s := range steps {
		got := mustFeed(t, d, []byte(s.in))
		if len(got) != s.msgs || d.Pending() != s.pending {
			t.Errorf("step %d (%q): want %d messages and Pending %d, got %d and %d", i, s.in, s.msgs, s.pending, len(got), d.Pending())
		}
	}
}

func TestBlockDecoderMaxLength(t *testing.T) {
	// The default limit: 16 MiB is accepted, 16 MiB + 1 refused before any body byte.
	d := &wire.BlockDecoder{}
	mustFeed(t, d, []byte{0x01, 0x00, 0x00, 0x00})
	if d.Pending() != 4 {
		t.Fatalf("declared 16 MiB: want Pending 4, got %d", d.Pending())
	}

	d = &wire.BlockDecoder{}
	err := d.Feed([]byte{0x01, 0x00, 0x00, 0x01, 'x'}, func([]byte) error { t.Fatal("emit called"); return nil })
	var le *wire.LimitError
	if !errors.As(err, &le) || le.Length != wire.DefaultMaxBlock+1 || le.Limit != wire.DefaultMaxBlock {
		t.Fatalf("16 MiB + 1: want LimitError{%d, %d}, got %T %v", wire.DefaultMaxBlock+1, wire.DefaultMaxBlock, err, err)
	}
	if d.Pending() > 4 {
		t.Errorf("after the refusal: want Pending at most 4, got %d", d.Pending())
	}

	// The largest length the prefix can hold, under the default limit and under a big one.
	d = &wire.BlockDecoder{}
	if err := d.Feed([]byte{0xff, 0xff, 0xff, 0xff}, func([]byte) error { return nil }); !errors.Is(err, wire.ErrTooLong) {
		t.Fatalf("0xffffffff under the default limit: want ErrTooLong, got %v", err)
	}
	d = &wire.BlockDecoder{Max: 1 << 33}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	mustFeed(t, d, []byte{0xff, 0xff, 0xff, 0xff})
	for range 10 {
		mustFeed(t, d, bytes.Repeat([]byte("b"), 1000))
	}
	runtime.ReadMemStats(&after)
	if d.Pending() != 4+10000 {
		t.Errorf("Pending: want 4+10000, got %d", d.Pending())
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("feeding 10000 body bytes of a declared 4 GiB block allocated %d bytes", grew)
	}
}

// A 1 MiB block (BLK-FRAME-4) arrives intact in 1000-byte pieces.
func TestBlockDecoderLargeBlock(t *testing.T) {
	body := make([]byte, 1<<20)
	for i := range body {
		body[i] = byte(i * 7)
	}
	stream := wire.AppendBlock(nil, body)
	var pieces [][]byte
	for len(stream) > 0 {
		n := min(1000, len(stream))
		pieces = append(pieces, stream[:n])
		stream = stream[n:]
	}
	got := decodePieces(&wire.BlockDecoder{}, pieces)
	if got.err != nil || len(got.msgs) != 1 || !bytes.Equal(got.msgs[0], body) {
		t.Fatalf("1 MiB block: want it intact, got %d messages, error %v", len(got.msgs), got.err)
	}
}

func TestAppendBlock(t *testing.T) {
	got := wire.AppendBlock([]byte("p"), []byte("hi"))
	if want := "p\x00\x00\x00\x02hi"; string(got) != want {
		t.Fatalf("want %q, got %q", want, got)
	}
	got = wire.AppendBlock(nil, bytes.Repeat([]byte("a"), 0x010203))
	if !bytes.Equal(got[:4], []byte{0x00, 0x01, 0x02, 0x03}) {
		t.Fatalf("0x010203 bytes: want prefix 00 01 02 03 (big-endian), got % x", got[:4])
	}
	if got := wire.AppendBlock(nil, nil); !bytes.Equal(got, []byte{0, 0, 0, 0}) {
		t.Fatalf("empty block: want 00 00 00 00, got % x", got)
	}
}
