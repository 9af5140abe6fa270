package wire_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sockspec/sockspec/wire"
)

func TestChunkDecoder(t *testing.T) {
	cases := []struct {
		name  string
		max   int
		feeds []string
		want  []string
	}{
		{"nothing", 4, []string{"", ""}, nil},
		{"each feed is a chunk", 4, []string{"ab", "c", "d"}, []string{"ab", "c", "d"}},
		{"cut at max", 4, []string{"abcdefghij"}, []string{"abcd", "efgh", "ij"}},
		{"exactly max", 4, []string{"abcd"}, []string{"abcd"}},
		{"default 2048", 0, []string{string(bytes.Repeat([]byte("x"), 2049))}, []string{string(bytes.Repeat([]byte("x"), 2048)), "x"}},
		{"negative means default", -1, []string{"abc"}, []string{"abc"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &wire.ChunkDecoder{Max: c.max}
			var got [][]byte
			for _, f := range c.feeds {
				got = append(got, mustFeed(t, d, []byte(f))...)
				if d.Pending() != 0 {
					t.Fatalf("Pending: want 0, got %d", d.Pending())
				}
			}
			if diff := sameMessages(msgs(c.want...), got); diff != "" {
				t.Error(diff)
			}
		})
	}
}

func TestChunkDecoderEmitError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := (&wire.ChunkDecoder{Max: 1}).Feed([]byte("abc"), func([]byte) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("want emit's error after one chunk, got %v after %d", err, n)
	}
}
