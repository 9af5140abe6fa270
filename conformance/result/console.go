package result

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// ConsoleOptions shape the human-readable report.
type ConsoleOptions struct {
	Color   bool // ANSI colours on verdict badges
	Verbose bool // whole transcripts instead of excerpts
}

// transcriptLines is how much of a transcript the console shows unless verbose.
const transcriptLines = 30

// ANSI colours of the verdict badges.
const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
	ansiGrey   = "\x1b[90m"
	ansiBold   = "\x1b[1m"
)

var badges = map[Verdict]struct{ text, color string }{
	Pass:      {"PASS", ansiGreen},
	Fail:      {"FAIL", ansiRed},
	NonStrict: {"NON-STRICT", ansiYellow},
	Skipped:   {"SKIP", ansiGrey},
	InfoOnly:  {"INFO", ansiCyan},
}

const badgeWidth = len("NON-STRICT")

// paint wraps s in an ANSI colour when color is set.
func paint(s, ansi string, color bool) string {
	if !color || ansi == "" {
		return s
	}
	return ansi + s + ansiReset
}

// badge is the verdict's label padded to a fixed width; padding stays outside the colour so
// columns line up either way.
func badge(v Verdict, color bool) string {
	b, ok := badges[v]
	if !ok {
		b.text = strings.ToUpper(string(v))
	}
	pad := ""
	if n := badgeWidth - len(b.text); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	return paint(b.text, b.color, color) + pad
}

// WriteConsole writes r for people: a header, one entry per requirement with diagnostics for
// failures, a table of counts, and the summary line. It returns the first write error.
func WriteConsole(w io.Writer, r *Run, opt ConsoleOptions) error {
	bw := bufio.NewWriter(w)
	s := summarized(r)

	writeHeader(bw, r)
	if r.Error != "" {
		fmt.Fprintf(bw, "\n%s %s\n", paint("ERROR", ansiRed+ansiBold, opt.Color), indentRest(sanitize(r.Error), "      "))
	}

	idWidth := 0
	for _, res := range r.Results {
		idWidth = max(idWidth, len(res.ID))
	}
	if len(r.Results) > 0 {
		fmt.Fprintln(bw)
	}
	for _, res := range r.Results {
		fmt.Fprintf(bw, "%s  %-*s  %-8s %s\n", badge(res.Verdict, opt.Color), idWidth, res.ID,
			"["+string(res.Level)+"]", sanitize(res.Text))
		writeDetails(bw, res, opt)
	}

	if len(r.Results) > 0 {
		fmt.Fprintln(bw)
		writeTable(bw, s, opt.Color)
	}
	fmt.Fprintln(bw)
	writeSummaryLine(bw, r, s, opt.Color)
	return bw.Flush()
}

func writeHeader(w io.Writer, r *Run) {
	version := r.Version
	if version == "" {
		version = "(unknown version)"
	}
	fmt.Fprintf(w, "sockspec %s: check %s\n", sanitize(version), sanitize(r.Protocol))
	field := func(name, value string) { fmt.Fprintf(w, "  %-12s %s\n", name+":", value) }
	target := r.Target
	if target == "" {
		target = "(built-in reference server)"
	}
	field("target", sanitize(target))
	scale := ""
	if r.TimeScale != 0 && r.TimeScale != 1 {
		scale = fmt.Sprintf("  (time scale %g)", r.TimeScale)
	}
	field("seed", fmt.Sprintf("%d%s", r.Seed, scale))
	if len(r.Profile) > 0 {
		keys := make([]string, 0, len(r.Profile))
		for k := range r.Profile {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		knobs := make([]string, len(keys))
		for i, k := range keys {
			knobs[i] = sanitize(k) + "=" + quoteIfNeeded(r.Profile[k])
		}
		field("profile", strings.Join(knobs, " "))
	}
	if !r.Start.IsZero() {
		field("started", r.Start.Format("2006-01-02 15:04:05 MST"))
	}
	if r.Containment != "" {
		field("containment", sanitize(r.Containment))
	}
}

// writeDetails prints what a reader needs to act on a verdict.
func writeDetails(w io.Writer, res Result, opt ConsoleOptions) {
	const ind = "      "
	if res.Info != "" && res.Verdict != InfoOnly {
		fmt.Fprintln(w, ind+"info: "+indentRest(sanitize(res.Info), ind+"      "))
	}
	switch res.Verdict {
	case Fail, NonStrict:
		if res.Message != "" {
			fmt.Fprintln(w, indent(sanitize(res.Message), ind))
		}
		if res.Hint != "" {
			fmt.Fprintln(w, ind+"hint: "+indentRest(sanitize(res.Hint), ind+"      "))
		}
		if res.Transcript != "" {
			t := sanitize(res.Transcript)
			if !opt.Verbose {
				t = excerpt(t, transcriptLines)
			}
			fmt.Fprintln(w, ind+"transcript:")
			fmt.Fprintln(w, indent(t, ind+"  | "))
		}
	case InfoOnly:
		if res.Message != "" {
			fmt.Fprintln(w, indent(sanitize(res.Message), ind))
		}
	case Skipped:
		reason := res.Message
		if reason == "" {
			reason = "no reason given"
		}
		fmt.Fprintln(w, indent("skipped: "+sanitize(reason), ind))
	}
}

func writeTable(w io.Writer, s Summary, color bool) {
	rows := []struct {
		v Verdict
		n int
	}{{Pass, s.Passed}, {Fail, s.Failed}, {NonStrict, s.NonStrict}, {Skipped, s.Skipped}, {InfoOnly, s.Info}}
	for _, row := range rows {
		fmt.Fprintf(w, "  %s %4d\n", badge(row.v, color), row.n)
	}
	fmt.Fprintf(w, "  %-*s %4d\n", badgeWidth, "TOTAL", s.Total)
}

// WriteSummaryLine writes the run's one-line verdict, as `sockspec check all` prints per
// protocol: "chat: PASS (17 passed, 1 non-strict, 2 skipped) in 4.2s".
func WriteSummaryLine(w io.Writer, r *Run, color bool) error {
	bw := bufio.NewWriter(w)
	writeSummaryLine(bw, r, summarized(r), color)
	return bw.Flush()
}

func writeSummaryLine(w io.Writer, r *Run, s Summary, color bool) {
	word := status(r, s)
	ansi := ansiGreen
	if word != "PASS" {
		ansi = ansiRed
	}
	detail := counts(s)
	if r.Error != "" {
		detail = firstLine(sanitize(r.Error))
	}
	fmt.Fprintf(w, "%s: %s (%s) in %s\n", sanitize(r.Protocol), paint(word, ansi+ansiBold, color),
		detail, humanDuration(r.Duration))
}

// indent prefixes every line of s.
func indent(s, prefix string) string {
	return prefix + indentRest(s, prefix)
}

// indentRest prefixes every line of s but the first.
func indentRest(s, prefix string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix)
}

// ColorEnabled reports whether colour suits f: f is a terminal, NO_COLOR is unset or empty
// (https://no-color.org), and TERM is not "dumb".
func ColorEnabled(f *os.File) bool {
	if f == nil || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	conn, err := f.SyscallConn() // unlike Fd, leaves the file's blocking mode alone
	if err != nil {
		return false
	}
	isTerminal := false
	conn.Control(func(fd uintptr) {
		_, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
		isTerminal = err == nil
	})
	return isTerminal
}
