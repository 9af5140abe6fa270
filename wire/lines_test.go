package wire_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/sockspec/sockspec/wire"
)

func TestLineDecoderSegmentations(t *testing.T) {
	cases := []struct {
		name    string
		max     int
		trimCR  bool
		stream  string
		want    [][]byte
		wantErr string
	}{
		{"one line", 0, false, "hello\n", msgs("hello"), "none"},
		{"coalesced lines", 0, false, "a\nbb\n\nccc\n", msgs("a", "bb", "", "ccc"), "none"},
		{"partial tail is held", 0, false, "a\nbc", msgs("a"), "none"},
		{"CR kept without TrimCR", 0, false, "a\r\nb\r\n", msgs("a\r", "b\r"), "none"},
		{"CR trimmed", 0, true, "a\r\nb\n\r\n", msgs("a", "b", ""), "none"},
		{"only the last CR is trimmed", 0, true, "a\r\r\n", msgs("a\r"), "none"},
		{"CR inside kept", 0, true, "a\rb\n", msgs("a\rb"), "none"},
		{"non-UTF-8 bytes pass", 0, false, "\xff\x00\xfe\n", msgs("\xff\x00\xfe"), "none"},
		{"exactly the limit", 4, false, "abcd\nx\n", msgs("abcd", "x"), "none"},
		{"limit counts the CR", 4, true, "abc\r\n", msgs("abc"), "none"},
		{"over the limit with CR", 3, true, "abc\r\n", nil, "too long"},
		{"over the limit", 4, false, "ok\nabcde\nlater\n", msgs("ok"), "too long"},
		{"over the limit, unterminated", 4, false, "ok\nabcde", msgs("ok"), "too long"},
		{"unterminated at the limit is pending", 4, false, "ok\nabcd", msgs("ok"), "none"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			newDec := func() wire.Decoder { return &wire.LineDecoder{Max: c.max, TrimCR: c.trimCR} }
			checkSegmentations(t, newDec, []byte(c.stream), c.want, c.wantErr)
		})
	}
}

func TestLineDecoderOverLimitIsErrorAtMaxPlusOne(t *testing.T) {
	d := &wire.LineDecoder{Max: 8}
	if got := mustFeed(t, d, []byte("12345678")); len(got) != 0 {
		t.Fatalf("want no message yet, got %s", showMsgs(got))
	}
	if d.Pending() != 8 {
		t.Fatalf("Pending: want 8, got %d", d.Pending())
	}
	err := d.Feed([]byte("9"), func([]byte) error { t.Fatal("emit called for an over-limit line"); return nil })
	var le *wire.LimitError
	if !errors.As(err, &le) || !errors.Is(err, wire.ErrTooLong) || errors.Is(err, wire.ErrMalformed) {
		t.Fatalf("want a *LimitError matching ErrTooLong only, got %T %v", err, err)
	}
	if le.Limit != 8 || le.Length != 9 {
		t.Errorf("want Length 9 Limit 8, got Length %d Limit %d", le.Length, le.Limit)
	}
	if d.Pending() != 0 {
		t.Errorf("Pending after the error: want 0 (buffer dropped), got %d", d.Pending())
	}
	if again := d.Feed([]byte("\n"), func([]byte) error { return nil }); again != err {
		t.Errorf("broken decoder: want the same error again, got %v", again)
	}
}

func TestLineDecoderDefaultLimit(t *testing.T) {
	d := &wire.LineDecoder{}
	line := bytes.Repeat([]byte("x"), wire.DefaultMaxLine)
	got := mustFeed(t, d, append(line, '\n'))
	if len(got) != 1 || len(got[0]) != wire.DefaultMaxLine {
		t.Fatalf("a line of exactly DefaultMaxLine bytes: want it whole, got %d messages", len(got))
	}
	if err := d.Feed(append(line, 'x'), func([]byte) error { return nil }); !errors.Is(err, wire.ErrTooLong) {
		t.Fatalf("DefaultMaxLine+1 bytes: want ErrTooLong, got %v", err)
	}
}

func TestLineDecoderEmitErrorStopsFeed(t *testing.T) {
	d := &wire.LineDecoder{}
	stop := errors.New("stop")
	var got []string
	err := d.Feed([]byte("a\nb\nc\n"), func(m []byte) error {
		got = append(got, string(m))
		if string(m) == "b" {
			return stop
		}
		return nil
	})
	if err != stop || strings.Join(got, ",") != "a,b" {
		t.Fatalf("want emit's error after a,b; got %v after %q", err, got)
	}
	// Not broken: the next Feed goes on.
	if m := mustFeed(t, d, []byte("d\n")); sameMessages(msgs("d"), m) != "" {
		t.Errorf("after an emit error: want [d], got %s", showMsgs(m))
	}
}

func TestAppendLine(t *testing.T) {
	got := wire.AppendLine([]byte("x"), []byte("hello"))
	if string(got) != "xhello\n" {
		t.Fatalf("want %q, got %q", "xhello\n", got)
	}
}
