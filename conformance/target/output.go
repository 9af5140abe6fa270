package target

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// tailBuffer keeps the last limit bytes written to it. A target that logs
// every read must never block on a full pipe, so writes never wait and old
// bytes are dropped instead.
type tailBuffer struct {
	mu      sync.Mutex
	limit   int
	data    []byte
	dropped int64
}

func newTailBuffer(limit int) *tailBuffer {
	return &tailBuffer{limit: limit}
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if len(p) >= t.limit {
		t.dropped += int64(len(t.data) + len(p) - t.limit)
		t.data = append(t.data[:0], p[len(p)-t.limit:]...)
		return n, nil
	}
	t.data = append(t.data, p...)
	if over := len(t.data) - t.limit; over > 0 {
		t.dropped += int64(over)
		t.data = t.data[:copy(t.data, t.data[over:])]
	}
	return n, nil
}

// snapshot returns the kept bytes and how many earlier bytes were dropped.
func (t *tailBuffer) snapshot() (string, int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.data), t.dropped
}

// drain copies r into t until r ends or fails, then closes r and done.
func drain(r *os.File, t *tailBuffer, done chan<- struct{}) {
	defer close(done)
	defer r.Close()
	buf := make([]byte, 32*1024)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			_, _ = t.Write(buf[:n])
		}
		if err != nil {
			// EOF: every writer is gone; ErrClosed: Stop gave up waiting.
			if err != io.EOF && !errors.Is(err, os.ErrClosed) {
				fmt.Fprintf(t, "\n[sockspec: reading the target's output failed: %v]\n", err)
			}
			return
		}
	}
}

// maxShownOutput bounds how much output an error message quotes.
const maxShownOutput = 2048

// describeOutput renders the end of a target's output for an error message:
// each line indented, lines with control bytes or invalid UTF-8 quoted.
func describeOutput(out string, dropped int64) string {
	if out == "" && dropped == 0 {
		return "it printed nothing on stdout or stderr"
	}
	total := int64(len(out)) + dropped
	if len(out) > maxShownOutput {
		out = out[len(out)-maxShownOutput:]
		if i := strings.IndexByte(out, '\n'); i >= 0 && i < len(out)-1 {
			out = out[i+1:]
		}
	}
	var b strings.Builder
	if int64(len(out)) < total {
		fmt.Fprintf(&b, "the last %d of %d bytes of its output:", len(out), total)
	} else {
		fmt.Fprintf(&b, "its output (%d bytes):", total)
	}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		b.WriteString("\n  | ")
		b.WriteString(safeLine(line))
	}
	return b.String()
}

// safeLine returns line unchanged when it is printable UTF-8, else quoted.
func safeLine(line string) string {
	if !utf8.ValidString(line) {
		return strconv.Quote(line)
	}
	for _, r := range line {
		if r != '\t' && !strconv.IsPrint(r) {
			return strconv.Quote(line)
		}
	}
	return line
}
