package main

import (
	"strings"
	"testing"
)

func TestFrameCommand(t *testing.T) {
	status, out, errOut := clientTestRun(t, "", "frame", "block32", "Hi")
	want := "00000000  00 00 00 02 48 69                                 |....Hi|\n"
	if status != exitOK || !strings.HasSuffix(out, want) || errOut != "" {
		t.Errorf("status %d, stdout %q, stderr %q", status, out, errOut)
	}
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"frame"}, "want a framing (header64, block32, lines) and at least one MESSAGE"},
		{[]string{"frame", "header64"}, "at least one MESSAGE"},
		{[]string{"frame", "morse", "x"}, "want a framing"},
		{[]string{"frame", "--header-size", "0", "header64", "x"}, "--header-size 0: want 1 to 1024"},
		{[]string{"frame", "--header-size", "1", "header64", "0123456789"}, "does not fit in a 1-byte header"},
	} {
		status, _, errOut := clientTestRun(t, "", c.args...)
		if status != exitUsage || !strings.Contains(errOut, c.says) {
			t.Errorf("sockspec %s: status %d, stderr %q; want 2 and %q", strings.Join(c.args, " "), status, errOut, c.says)
		}
	}
}
