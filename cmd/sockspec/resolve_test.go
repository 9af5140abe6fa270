package main

import (
	"strings"
	"testing"
)

// Only numeric addresses and "localhost" are resolved: no network.
func TestResolveCommand(t *testing.T) {
	status, out, errOut := clientTestRun(t, "", "resolve", "--type", "stream", "::1", "8080")
	want := "FAMILY    TYPE         PROTOCOL     ADDRESS\nAF_INET6  SOCK_STREAM  IPPROTO_TCP  [::1]:8080\n"
	if status != exitOK || out != want {
		t.Errorf("status %d, stdout %q, stderr %q", status, out, errOut)
	}
	status, out, _ = clientTestRun(t, "", "resolve", "localhost")
	if status != exitOK || !strings.Contains(out, "SOCK_DGRAM   IPPROTO_UDP  127.0.0.1\n") {
		t.Errorf("localhost: status %d, stdout %q", status, out)
	}
	for _, c := range []struct {
		args   []string
		status int
		says   string
	}{
		{[]string{"resolve"}, exitUsage, "want HOST [SERVICE]"},
		{[]string{"resolve", "a", "b", "c"}, exitUsage, "want HOST [SERVICE]"},
		{[]string{"resolve", "--family", "5", "::1"}, exitUsage, "want --family 4 or 6"},
		{[]string{"resolve", "127.0.0.1", "no-such-service-here"}, exitFail, `sockspec resolve: service "no-such-service-here"`},
		{[]string{"resolve", "--family", "6", "127.0.0.1"}, exitFail, "127.0.0.1 has no IPv6 address"},
	} {
		status, _, errOut := clientTestRun(t, "", c.args...)
		if status != c.status || !strings.Contains(errOut, c.says) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("sockspec %s: status %d, stderr %q; want %d and %q", strings.Join(c.args, " "), status, errOut, c.status, c.says)
		}
	}
}
