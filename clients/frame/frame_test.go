package frame

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

func TestHeader64(t *testing.T) {
	frames, err := Encode("header64", []string{"Hi"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	Write(&out, "header64", frames)
	want := `header64 message 1: "Hi", 2 bytes of UTF-8, 66 bytes framed
  bytes 0-63      header: the length 2 in ASCII decimal (1 digit), then 63 spaces of padding to 64 bytes
  bytes 64-65     body: "Hi"
00000000  32 20 20 20 20 20 20 20  20 20 20 20 20 20 20 20  |2               |
00000010  20 20 20 20 20 20 20 20  20 20 20 20 20 20 20 20  |                |
00000020  20 20 20 20 20 20 20 20  20 20 20 20 20 20 20 20  |                |
00000030  20 20 20 20 20 20 20 20  20 20 20 20 20 20 20 20  |                |
00000040  48 69                                             |Hi|
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestBlock32AndOffsets(t *testing.T) {
	frames, err := Encode("block32", []string{"Hi", "é"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	Write(&out, "block32", frames)
	for _, s := range []string{
		"  bytes 0-3       length 2 as an unsigned 32-bit integer, big-endian (network byte order, struct '!I')\n",
		"00000000  00 00 00 02 48 69                                 |....Hi|\n",
		`block32 message 2: "é", 2 bytes of UTF-8, 6 bytes framed`,
		"  bytes 6-9       length 2 as",
		"00000006  00 00 00 02 c3 a9                                 |......|\n",
		"2 messages, 12 bytes in all\n",
	} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out.String())
		}
	}
}

func TestLines(t *testing.T) {
	frames, err := Encode("lines", []string{"", "ab"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	Write(&out, "lines", frames)
	for _, s := range []string{"  no bytes        body: \"\" (empty)\n", "  byte 0          end of line\n", "  byte 3          end of line\n", "00000001  61 62 0a"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out.String())
		}
	}
	if _, err := Encode("lines", []string{"a\nb"}, 0); err == nil {
		t.Error("a newline inside a line: want an error")
	}
}

func TestErrors(t *testing.T) {
	if _, err := Encode("header64", []string{"0123456789"}, 1); err == nil || !strings.Contains(err.Error(), "does not fit in a 1-byte header") {
		t.Errorf("got %v", err)
	}
	if _, err := Encode("morse", []string{"x"}, 0); err == nil || !strings.Contains(err.Error(), "header64, block32, lines") {
		t.Errorf("got %v", err)
	}
}

func TestDumpMatchesHexDump(t *testing.T) {
	b := []byte("The quick brown fox jumps over the lazy dog.\x00\x01\xff")
	var out bytes.Buffer
	Dump(&out, b, 0)
	if out.String() != hex.Dump(b) {
		t.Errorf("got\n%s\nwant (encoding/hex)\n%s", out.String(), hex.Dump(b))
	}
}
