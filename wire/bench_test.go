package wire_test

import (
	"bytes"
	"testing"

	"github.com/sockspec/sockspec/wire"
)

// benchStream builds about 1 MiB of framed 100-byte messages.
func benchStream(frame func(dst, msg []byte) []byte) []byte {
	msg := bytes.Repeat([]byte("hello wire "), 10)[:100]
	var stream []byte
	for len(stream) < 1<<20 {
		stream = frame(stream, msg)
	}
	return stream
}

// benchDecode feeds stream in 4 KiB pieces, as reads from a socket would arrive.
func benchDecode(b *testing.B, newDec func() wire.Decoder, stream []byte) {
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	n := 0
	emit := func([]byte) error { n++; return nil }
	for b.Loop() {
		d := newDec()
		for p := stream; len(p) > 0; {
			k := min(4096, len(p))
			if err := d.Feed(p[:k], emit); err != nil {
				b.Fatal(err)
			}
			p = p[k:]
		}
	}
	if n == 0 {
		b.Fatal("no messages decoded")
	}
}

func BenchmarkLineDecoder(b *testing.B) {
	stream := benchStream(wire.AppendLine)
	benchDecode(b, func() wire.Decoder { return &wire.LineDecoder{} }, stream)
}

func BenchmarkHeaderDecoder(b *testing.B) {
	stream := benchStream(func(dst, msg []byte) []byte {
		dst, _ = wire.AppendHeader(dst, 64, msg)
		return dst
	})
	benchDecode(b, func() wire.Decoder { return &wire.HeaderDecoder{} }, stream)
}

func BenchmarkBlockDecoder(b *testing.B) {
	stream := benchStream(wire.AppendBlock)
	benchDecode(b, func() wire.Decoder { return &wire.BlockDecoder{} }, stream)
}

func BenchmarkChunkDecoder(b *testing.B) {
	stream := benchStream(func(dst, msg []byte) []byte { return append(dst, msg...) })
	benchDecode(b, func() wire.Decoder { return &wire.ChunkDecoder{} }, stream)
}

func BenchmarkUpper(b *testing.B) {
	inputs := []struct {
		name string
		c    wire.Case
		text string
	}{
		{"ascii-text/unicode", wire.Unicode, "the quick brown fox jumps over the lazy dog. "},
		{"ascii-text/ascii", wire.ASCII, "the quick brown fox jumps over the lazy dog. "},
		{"mixed/unicode", wire.Unicode, "straße ﬁx héllo wörld αβγ привет 日本 "},
		{"invalid/unicode", wire.Unicode, "ab\xffcd\xc3ef\xe2\x82gh "},
	}
	for _, in := range inputs {
		text := bytes.Repeat([]byte(in.text), 64<<10/len(in.text))
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			dst := make([]byte, 0, 2*len(text))
			for b.Loop() {
				dst = wire.AppendUpper(in.c, dst[:0], text)
			}
		})
	}
}

func BenchmarkStreamUpper(b *testing.B) {
	text := bytes.Repeat([]byte("straße ﬁx héllo wörld αβγ привет 日本 "), 1000)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	dst := make([]byte, 0, 2*len(text))
	for b.Loop() {
		var s wire.StreamUpper
		dst = dst[:0]
		for p := text; len(p) > 0; { // 1000-byte pieces cut characters in half
			k := min(1000, len(p))
			dst = s.Append(dst, p[:k])
			p = p[k:]
		}
		dst = s.Flush(dst)
	}
}
