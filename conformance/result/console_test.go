package result

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestConsoleGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  *Run
		opt  ConsoleOptions
	}{
		{"console_mixed.golden", mixedRun(), ConsoleOptions{}},
		{"console_mixed_color.golden", mixedRun(), ConsoleOptions{Color: true}},
		{"console_mixed_verbose.golden", mixedRun(), ConsoleOptions{Verbose: true}},
		{"console_pass.golden", passingRun(), ConsoleOptions{}},
		{"console_unreachable.golden", unreachableRun(), ConsoleOptions{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteConsole(&buf, tc.run, tc.opt); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, buf.Bytes())
		})
	}
}

func TestConsoleIsSafeAndTruncates(t *testing.T) {
	var plain, verbose bytes.Buffer
	WriteConsole(&plain, mixedRun(), ConsoleOptions{})
	WriteConsole(&verbose, mixedRun(), ConsoleOptions{Verbose: true})
	for name, out := range map[string]string{"plain": plain.String(), "verbose": verbose.String()} {
		if strings.ContainsAny(out, "\x1b\r\x00") || !strings.Contains(out, `\x1b[2Jcleared\r\x00\xff`) {
			t.Errorf("%s: the target's control bytes must be shown escaped, never raw", name)
		}
	}
	if !strings.Contains(plain.String(), "... 15 more lines") || strings.Contains(plain.String(), "line 30\\n") {
		t.Errorf("plain output should cut the 45-line transcript to 30 lines")
	}
	if strings.Contains(verbose.String(), "more lines") || !strings.Contains(verbose.String(), "line 30\\n") {
		t.Errorf("verbose output should show the whole transcript")
	}
}

func TestSummaryLine(t *testing.T) {
	var buf bytes.Buffer
	for _, r := range []*Run{mixedRun(), passingRun(), unreachableRun()} {
		WriteSummaryLine(&buf, r, false)
	}
	WriteSummaryLine(&buf, mixedRun(), true)
	golden(t, "summary_lines.golden", buf.Bytes())

	want := "echo: PASS (2 passed) in 850ms\n"
	buf.Reset()
	WriteSummaryLine(&buf, passingRun(), false)
	if buf.String() != want {
		t.Errorf("summary line = %q, want %q", buf.String(), want)
	}
}

// Encoders count from the results, not from a possibly stale Summary, and leave the run alone.
func TestEncodersRecountAndDoNotModify(t *testing.T) {
	r := mixedRun()
	r.Summary = Summary{Total: 99, OK: true}
	var buf bytes.Buffer
	WriteSummaryLine(&buf, r, false)
	if got, want := buf.String(), "chat: FAIL (1 failed, 1 passed, 1 non-strict, 1 skipped, 1 info) in 4.2s\n"; got != want {
		t.Errorf("summary line = %q, want %q", got, want)
	}
	if r.Summary.Total != 99 {
		t.Errorf("WriteSummaryLine modified the run's Summary")
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[string]string{"0s": "0ms", "849.6ms": "850ms", "4.24s": "4.2s", "65.4s": "1m5s"} {
		if got := humanDuration(mustDuration(t, d)); got != want {
			t.Errorf("humanDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"plain\ttext\nnext":  "plain\ttext\nnext",
		"héllo ß 日本":         "héllo ß 日本",
		"\x1b[31mred\r":      `\x1b[31mred\r`,
		"nul\x00del\x7f":     `nul\x00del\x7f`,
		"bad\xffutf8\xc3":    `bad\xffutf8\xc3`,
		"c1 \u0085 \u009b":   `c1 \u0085 \u009b`,
		"not xml \uffff":     `not xml \uffff`,
		"<{ip}> a & b \"q\"": "<{ip}> a & b \"q\"",
	} {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestColorEnabled(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	t.Setenv("TERM", "xterm")

	regular, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer regular.Close()
	if ColorEnabled(regular) {
		t.Errorf("a regular file is not a terminal")
	}
	if ColorEnabled(nil) {
		t.Errorf("nil is not a terminal")
	}

	// The master side of a pseudo-terminal answers terminal ioctls like a real terminal.
	tty, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal to test with: %v", err)
	}
	defer tty.Close()
	if !ColorEnabled(tty) {
		t.Errorf("a terminal with TERM=xterm and no NO_COLOR should get colour")
	}
	t.Setenv("TERM", "dumb")
	if ColorEnabled(tty) {
		t.Errorf("TERM=dumb should turn colour off")
	}
	t.Setenv("TERM", "xterm")
	t.Setenv("NO_COLOR", "1")
	if ColorEnabled(tty) {
		t.Errorf("NO_COLOR=1 should turn colour off")
	}
}
