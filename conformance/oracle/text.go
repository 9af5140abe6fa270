package oracle

import (
	"fmt"
	"strconv"
)

// quoteLimit bounds how many bytes of a payload an explanation shows.
const quoteLimit = 60

// quote renders bytes safely for an explanation: Go-quoted and truncated.
func quote(b []byte) string {
	if len(b) <= quoteLimit {
		return strconv.Quote(string(b))
	}
	return strconv.Quote(string(b[:quoteLimit])) + fmt.Sprintf("... (%d bytes)", len(b))
}

// plural returns "1 message" or "3 messages".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// lcp is the length of the common prefix of a and b.
func lcp(a, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// tally keeps the first of a series of similar violations and counts them.
type tally struct {
	n int
	v Violation
}

func (t *tally) add(v Violation) {
	if t.n == 0 {
		t.v = v
	}
	t.n++
}

func (t *tally) emit(out []Violation, what string) []Violation {
	if t.n == 0 {
		return out
	}
	v := t.v
	if t.n > 1 {
		v.Explanation += fmt.Sprintf(" (%s in all)", plural(t.n, what))
	}
	return append(out, v)
}
