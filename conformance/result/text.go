package result

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// summarized returns r's summary computed from its results, so that encoders never show
// stale counts and never modify the run they are given.
func summarized(r *Run) Summary {
	c := *r
	c.Summarize()
	return c.Summary
}

// status is the run's overall word: PASS, FAIL, or ERROR when the target could not be checked.
func status(r *Run, s Summary) string {
	switch {
	case r.Error != "":
		return "ERROR"
	case s.OK:
		return "PASS"
	default:
		return "FAIL"
	}
}

// counts lists the non-zero verdict counts, failures first: "2 failed, 15 passed, 1 skipped".
func counts(s Summary) string {
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(s.Failed, "failed")
	add(s.Passed, "passed")
	add(s.NonStrict, "non-strict")
	add(s.Skipped, "skipped")
	add(s.Info, "info")
	if len(parts) == 0 {
		return "no results"
	}
	return strings.Join(parts, ", ")
}

// humanDuration is short and readable: 850ms, 4.2s, 1m5s.
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Round(time.Millisecond).Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	default:
		return d.Round(time.Second).String()
	}
}

// sanitize makes text from an untrusted target safe to print and to put in XML: newlines and
// tabs stay; other control characters, C1 controls and invalid UTF-8 become visible escapes
// (\r, \x1b, \u0085, \xff) so that they can neither drive a terminal nor break a document.
func sanitize(s string) string {
	clean := true
	for _, r := range s {
		if needsEscape(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case needsEscape(r):
			q := strconv.QuoteRune(r) // 'x' with Go escapes
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func needsEscape(r rune) bool {
	if r == '\n' || r == '\t' {
		return false
	}
	// RuneError also stands for invalid UTF-8; a real U+FFFD is printed escaped, harmlessly.
	return r == utf8.RuneError || unicode.IsControl(r) || r == 0xFFFE || r == 0xFFFF
}

// firstLine is the first non-empty line of s, trimmed.
func firstLine(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return ""
}

// excerpt keeps at most maxLines lines of s: the first two thirds and the last third, with a
// note of how many were left out in between (the end of a transcript is often the failure).
func excerpt(s string, maxLines int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if maxLines <= 0 || len(lines) <= maxLines {
		return strings.Join(lines, "\n")
	}
	tail := maxLines / 3
	head := maxLines - tail
	omitted := len(lines) - head - tail
	out := append([]string(nil), lines[:head]...)
	out = append(out, fmt.Sprintf("... %d more lines (verbose output shows all) ...", omitted))
	out = append(out, lines[len(lines)-tail:]...)
	return strings.Join(out, "\n")
}

// quoteIfNeeded shows a profile value as is when it is a plain word, quoted otherwise.
func quoteIfNeeded(v string) string {
	if v == "" || strings.ContainsAny(v, " \t\"'=\\") || sanitize(v) != v {
		return strconv.Quote(v)
	}
	return v
}
