package stdinlines

import (
	"io"
	"strings"
	"testing"
)

func TestLines(t *testing.T) {
	r := New(strings.NewReader("a\r\n\nb\nlast"))
	var got []string
	for {
		line, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(line))
	}
	if strings.Join(got, "|") != "a||b|last" {
		t.Errorf("got %q", got)
	}
}

func TestLongLines(t *testing.T) {
	long := strings.Repeat("x", 100<<10) // longer than the 64 KiB buffer
	r := New(strings.NewReader(long + "\n"))
	if line, err := r.Next(); err != nil || len(line) != len(long) {
		t.Errorf("a 100 KiB line: %d bytes, %v", len(line), err)
	}
	r = New(strings.NewReader(long))
	r.Max = 1000
	if _, err := r.Next(); err == nil || !strings.Contains(err.Error(), "a line longer than 1000 bytes") {
		t.Errorf("over the limit: %v", err)
	}
}

func TestEachPrefersMessages(t *testing.T) {
	var got []string
	Each([]string{"x"}, strings.NewReader("from stdin\n"), func(m []byte) error { got = append(got, string(m)); return nil })
	Each(nil, strings.NewReader("from stdin\n"), func(m []byte) error { got = append(got, string(m)); return nil })
	if strings.Join(got, "|") != "x|from stdin" {
		t.Errorf("got %q", got)
	}
}
