package wire_test

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/sockspec/sockspec/wire"
)

func TestParseHeader(t *testing.T) {
	const max = 1000
	cases := []struct {
		header  string
		want    int64
		wantErr string
	}{
		{"5", 5, "none"},
		{"5   ", 5, "none"},
		{"0   ", 0, "none"},
		{"0005", 5, "none"},
		{"1000", 1000, "none"},    // exactly the limit
		{"1001", 0, "too long"},   // limit + 1
		{"+5  ", 0, "malformed"},  // no sign
		{" 5  ", 0, "malformed"},  // no leading space
		{"5\t  ", 0, "malformed"}, // only spaces after the digits
		{"5 6 ", 0, "malformed"},
		{"5\x00\x00", 0, "malformed"},
		{"-1  ", 0, "malformed"},
		{"", 0, "malformed"},
		{"    ", 0, "malformed"},
		{"abc ", 0, "malformed"},
		{"0x10", 0, "malformed"},
		{"５", 0, "malformed"},                      // a fullwidth digit is not ASCII
		{"99999999999999999999", 0, "too long"},    // 20 digits: over int64
		{"00000000000000000000007", 7, "none"},     // long but small
		{"9223372036854775807", 0, "too long"},     // max int64
		{"18446744073709551616000", 0, "too long"}, // over uint64
	}
	for _, c := range cases {
		got, err := wire.ParseHeader([]byte(c.header), max)
		if errClass(err) != c.wantErr || got != c.want {
			t.Errorf("ParseHeader(%q): want %d, %s; got %d, %v", c.header, c.want, c.wantErr, got, err)
		}
		var he *wire.HeaderError
		if errors.As(err, &he) && string(he.Header) != c.header {
			t.Errorf("ParseHeader(%q): HeaderError.Header is %q", c.header, he.Header)
		}
	}
}

func TestParseHeaderErrorsSayWhy(t *testing.T) {
	cases := []struct{ header, want string }{
		{"-1  ", "negative"},
		{"+5  ", "does not start with a decimal digit"},
		{"5\t  ", "only spaces may follow the digits"},
		{"2000", "2000 is over the limit of 1000"},
		{"99999999999999999999", "over the limit of 1000"},
	}
	for _, c := range cases {
		_, err := wire.ParseHeader([]byte(c.header), 1000)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseHeader(%q): want an error saying %q, got %v", c.header, c.want, err)
		}
		if err != nil && strings.Contains(err.Error(), "-1 is over") {
			t.Errorf("ParseHeader(%q): the message claims a negative length: %v", c.header, err)
		}
	}
	// The raw header is shown quoted, so control bytes are visible.
	_, err := wire.ParseHeader([]byte("5\x00\n"), 1000)
	if err == nil || !strings.Contains(err.Error(), `"5\x00\n"`) {
		t.Errorf("want the header quoted in the error, got %v", err)
	}
}

func TestHeaderDecoderSegmentations(t *testing.T) {
	const size = 8
	cases := []struct {
		name    string
		stream  string
		want    [][]byte
		wantErr string
	}{
		{"one message", header("5", size) + "hello", msgs("hello"), "none"},
		{"zero length", header("0", size), msgs(""), "none"},
		{"coalesced", header("2", size) + "ab" + header("0", size) + header("3", size) + "xyz", msgs("ab", "", "xyz"), "none"},
		{"body bytes are opaque", header("3", size) + "\n\x00\xff", msgs("\n\x00\xff"), "none"},
		{"header only is pending", header("5", size), nil, "none"},
		{"digits fill the header", "00000003abc", msgs("abc"), "none"},
		{"exactly the limit", header("16", size) + strings.Repeat("z", 16), msgs(strings.Repeat("z", 16)), "none"},
		{"limit plus one", header("17", size) + strings.Repeat("z", 17), nil, "too long"},
		{"bad header after good", header("1", size) + "a" + header("x", size) + "b", msgs("a"), "malformed"},
		{"negative", header("-1", size), nil, "malformed"},
		{"tab padding", "1\t      a", nil, "malformed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			newDec := func() wire.Decoder { return &wire.HeaderDecoder{Size: size, Max: 16} }
			checkSegmentations(t, newDec, []byte(c.stream), c.want, c.wantErr)
		})
	}
}

func TestHeaderDecoderDefaultSize(t *testing.T) {
	d := &wire.HeaderDecoder{}
	stream, err := wire.AppendHeader(nil, 0, []byte("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if len(stream) != 64+2 {
		t.Fatalf("AppendHeader with size 0: want a 64-byte header, got %d bytes in all", len(stream))
	}
	if got := mustFeed(t, d, stream[:63]); len(got) != 0 || d.Pending() != 63 {
		t.Fatalf("63 header bytes: want nothing and Pending 63, got %d messages, Pending %d", len(got), d.Pending())
	}
	if got := mustFeed(t, d, stream[63:]); sameMessages(msgs("hi"), got) != "" {
		t.Fatalf("want [hi], got %s", showMsgs(got))
	}
	if d.Pending() != 0 {
		t.Errorf("Pending after a whole message: want 0, got %d", d.Pending())
	}
}

// A declared length over the limit is refused as soon as the header is complete, before any
// body byte is stored.
func TestHeaderDecoderRefusesHugeLengthBeforeBody(t *testing.T) {
	d := &wire.HeaderDecoder{} // 64-byte header, 1 MiB limit
	stream := []byte(header("4294967296", 64) + strings.Repeat("b", 1000))
	err := d.Feed(stream, func([]byte) error { t.Fatal("emit called"); return nil })
	var le *wire.LimitError
	if !errors.As(err, &le) || le.Length != 4294967296 || le.Limit != wire.DefaultMaxHeaderLength {
		t.Fatalf("want LimitError{4294967296, %d}, got %T %v", wire.DefaultMaxHeaderLength, err, err)
	}
	if d.Pending() > 64 {
		t.Errorf("Pending after the refused header: want at most 64, got %d", d.Pending())
	}
}

// With a limit that allows 4 GiB, the body buffer grows only with the bytes that arrive.
func TestHeaderDecoderDoesNotAllocateDeclaredLength(t *testing.T) {
	d := &wire.HeaderDecoder{Max: 8 << 30}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	mustFeed(t, d, []byte(header("4294967296", 64)))
	for range 10 {
		mustFeed(t, d, bytes.Repeat([]byte("b"), 1000))
	}
	runtime.ReadMemStats(&after)
	if d.Pending() != 64+10000 {
		t.Errorf("Pending: want 64+10000, got %d", d.Pending())
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("feeding 10000 body bytes of a declared 4 GiB allocated %d bytes", grew)
	}
}

func TestAppendHeader(t *testing.T) {
	got, err := wire.AppendHeader([]byte("prev"), 8, []byte("hello"))
	if err != nil || string(got) != "prev5       hello" {
		t.Fatalf("want %q, got %q, %v", "prev5       hello", got, err)
	}
	got, err = wire.AppendHeader(nil, 64, nil)
	if err != nil || string(got) != header("0", 64) {
		t.Fatalf("empty message: want %q, got %q, %v", header("0", 64), got, err)
	}
	// Digits exactly filling the header fit; one more digit does not.
	got, err = wire.AppendHeader(nil, 2, bytes.Repeat([]byte("a"), 99))
	if err != nil || string(got[:2]) != "99" || len(got) != 101 {
		t.Fatalf("99 bytes in a 2-byte header: want \"99\"+body, got %s, %v", wire.Quote(got, 10), err)
	}
	got, err = wire.AppendHeader([]byte("prev"), 2, bytes.Repeat([]byte("a"), 100))
	if err == nil || string(got) != "prev" || !strings.Contains(err.Error(), "100") {
		t.Fatalf("100 bytes in a 2-byte header: want an error naming 100 and dst unchanged, got %q, %v", got, err)
	}
}
