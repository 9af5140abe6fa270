package scenarios

import (
	"strings"
	"testing"

	"github.com/sockspec/sockspec/conformance/result"
	"github.com/sockspec/sockspec/servers/faulty"
	"github.com/sockspec/sockspec/servers/httptime"
	"github.com/sockspec/sockspec/servers/kit"
)

func referenceHttptime(t *testing.T) func() kit.Server {
	return func() kit.Server {
		srv, err := httptime.Protocol.New(nil, kit.Discard())
		if err != nil {
			t.Fatal(err)
		}
		return srv
	}
}

func faultyHttptime(t *testing.T, bug string) func() kit.Server {
	return func() kit.Server {
		s, err := faulty.NewHttptime(bug)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

// The positive control: the reference server passes every httptime requirement.
func TestHttptimeReferencePasses(t *testing.T) {
	r := runSuite(t, "httptime", inProcess("reference httptime", "tcp", referenceHttptime(t)), "", nil)
	expectClean(t, r)
	for _, id := range []string{"HTTP-GET-1", "HTTP-CT-1", "HTTP-CL-1", "HTTP-HEAD-1", "HTTP-METHOD-1", "HTTP-BAD-1",
		"HTTP-CONC-1", "HTTP-SLOW-1", "GEN-IDLE-1", "GEN-LEAK-1", "GEN-BAD-1", "GEN-ALIVE-1"} {
		expectVerdict(t, r, id, result.Pass)
	}
	expectVerdict(t, r, "HTTP-KA-1", result.InfoOnly)
	if msg := r.Find("HTTP-KA-1").Message; !strings.Contains(msg, "keep-alive honoured") {
		t.Errorf("HTTP-KA-1 on the reference: %q, want keep-alive honoured", msg)
	}
}

// httptimeFaulty lists the negative controls: each broken server and the requirements it fails.
var httptimeFaulty = []struct {
	bug  string
	ids  []string
	want result.Verdict
}{
	{bug: "isoformat", ids: []string{"HTTP-GET-1"}, want: result.Fail},
	{bug: "charset-typo", ids: []string{"HTTP-CT-1"}, want: result.NonStrict},
	{bug: "wrong-content-length", ids: []string{"HTTP-CL-1"}, want: result.Fail},
	{bug: "no-content-length", ids: []string{"HTTP-CL-1"}, want: result.NonStrict},
	{bug: "no-head", ids: []string{"HTTP-HEAD-1"}, want: result.NonStrict},
	{bug: "head-with-body", ids: []string{"HTTP-HEAD-1"}, want: result.NonStrict},
	{bug: "any-method", ids: []string{"HTTP-METHOD-1", "HTTP-BAD-1"}, want: result.Fail},
	{bug: "crash-on-bad-line", ids: []string{"HTTP-BAD-1", "GEN-ALIVE-1"}, want: result.Fail},
	{bug: "sequential", ids: []string{"HTTP-SLOW-1"}, want: result.NonStrict},
	{bug: "sequential-keepalive", ids: []string{"HTTP-CONC-1"}, want: result.Fail},
	{bug: "busy-loop", ids: []string{"GEN-IDLE-1"}, want: result.Fail},
	{bug: "keeps-departed", ids: []string{"GEN-LEAK-1"}, want: result.NonStrict},
	{bug: "crashes-non-utf8", ids: []string{"GEN-BAD-1", "GEN-ALIVE-1"}, want: result.Fail},
}

// The negative controls: each broken server is caught by the requirement it breaks.
func TestHttptimeFaultyServersAreCaught(t *testing.T) {
	for _, tc := range httptimeFaulty {
		t.Run(tc.bug, func(t *testing.T) {
			r := runSuite(t, "httptime", inProcess("faulty httptime: "+tc.bug, "tcp", faultyHttptime(t, tc.bug)), labelsOf(tc.ids), nil)
			for _, id := range tc.ids {
				expectVerdict(t, r, id, tc.want)
			}
		})
	}
}

// HTTP-KA-1 only informs: it tells a server that closes after each response from one that
// keeps the connection.
func TestHttptimeKeepAliveDiagnosis(t *testing.T) {
	for bug, want := range map[string]string{"sequential": "not honoured", "sequential-keepalive": "keep-alive honoured"} {
		r := runSuite(t, "httptime", inProcess("faulty httptime: "+bug, "tcp", faultyHttptime(t, bug)), "HTTP-KA-1", nil)
		expectVerdict(t, r, "HTTP-KA-1", result.InfoOnly)
		if msg := r.Find("HTTP-KA-1").Message; !strings.Contains(msg, want) {
			t.Errorf("%s: HTTP-KA-1 says %q, want %q", bug, msg, want)
		}
	}
}

func TestHttptimeEveryRequirementHasANegativeControl(t *testing.T) {
	var caught, bugs []string
	for _, tc := range httptimeFaulty {
		caught = append(caught, tc.ids...)
		bugs = append(bugs, tc.bug)
	}
	everyIDCaught(t, "httptime", caught)
	everyBugListed(t, faulty.HttptimeBugs, bugs)
}

// Launch-only controls on real processes, and Python's http.server as students use it.
func TestHttptimePythonControls(t *testing.T) {
	t.Run("busy loop", func(t *testing.T) {
		r := runSuite(t, "httptime", python(t, "httptime/busy.py"), "GEN-IDLE-1", nil)
		expectVerdict(t, r, "GEN-IDLE-1", result.Fail)
	})
	t.Run("crash on a malformed request line", func(t *testing.T) {
		r := runSuite(t, "httptime", python(t, "httptime/crash.py"), "HTTP-BAD-1 || HTTP-GET-1", nil)
		expectVerdict(t, r, "HTTP-BAD-1", result.Fail)
		expectVerdict(t, r, "GEN-ALIVE-1", result.Fail)
		expectVerdict(t, r, "HTTP-GET-1", result.Pass)
	})
	t.Run("seed-like server: the charset typo and no HEAD", func(t *testing.T) {
		r := runSuite(t, "httptime", python(t, "httptime/seedlike.py"), "!GEN-IDLE-1 && !GEN-LEAK-1", nil)
		expectVerdict(t, r, "HTTP-CT-1", result.NonStrict)
		expectVerdict(t, r, "HTTP-HEAD-1", result.NonStrict)
		for _, id := range []string{"HTTP-GET-1", "HTTP-CL-1", "HTTP-METHOD-1", "HTTP-BAD-1", "HTTP-CONC-1", "HTTP-SLOW-1", "GEN-BAD-1", "GEN-ALIVE-1"} {
			expectVerdict(t, r, id, result.Pass)
		}
	})
	t.Run("careful student server", func(t *testing.T) {
		r := runSuite(t, "httptime", python(t, "httptime/good.py"), "!GEN-IDLE-1 && !GEN-LEAK-1", nil)
		expectClean(t, r)
	})
}
