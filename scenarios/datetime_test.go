package scenarios

import (
	"testing"

	"github.com/sockspec/sockspec/conformance/result"
	"github.com/sockspec/sockspec/servers/datetime"
	"github.com/sockspec/sockspec/servers/faulty"
	"github.com/sockspec/sockspec/servers/kit"
)

func referenceDatetime(t *testing.T) func() kit.Server {
	return func() kit.Server {
		srv, err := datetime.Protocol.New(nil, kit.Discard())
		if err != nil {
			t.Fatal(err)
		}
		return srv
	}
}

// The positive control: the reference server passes every datetime requirement.
func TestDatetimeReferencePasses(t *testing.T) {
	r := runSuite(t, "datetime", inProcess("reference datetime", "tcp", referenceDatetime(t)), "", nil)
	expectClean(t, r)
	for _, id := range []string{"DT-DATE-1", "DT-TIME-1", "DT-DT-1", "DT-DT-2", "DT-UNK-1", "DT-CONC-1",
		"GEN-IDLE-1", "GEN-LEAK-1", "GEN-BAD-1", "GEN-ALIVE-1"} {
		expectVerdict(t, r, id, result.Pass)
	}
}

// datetimeFaulty lists the negative controls: each broken server and the requirements it fails.
var datetimeFaulty = []struct {
	bug  string
	ids  []string
	want result.Verdict
}{
	{bug: "date-european", ids: []string{"DT-DATE-1"}, want: result.Fail},
	{bug: "time-with-microseconds", ids: []string{"DT-TIME-1"}, want: result.Fail},
	{bug: "isoformat", ids: []string{"DT-DT-1"}, want: result.Fail},
	{bug: "hour-off", ids: []string{"DT-TIME-1", "DT-DT-1"}, want: result.Fail},
	{bug: "no-dateandtime", ids: []string{"DT-DT-2"}, want: result.NonStrict},
	{bug: "unknown-as-sent", ids: []string{"DT-UNK-1"}, want: result.Fail},
	{bug: "sequential", ids: []string{"DT-CONC-1"}, want: result.NonStrict},
	{bug: "busy-loop", ids: []string{"GEN-IDLE-1"}, want: result.Fail},
	{bug: "keeps-departed", ids: []string{"GEN-LEAK-1"}, want: result.NonStrict},
	{bug: "crashes-non-utf8", ids: []string{"GEN-BAD-1", "GEN-ALIVE-1"}, want: result.Fail},
}

// The negative controls: each broken server is caught by the requirement it breaks.
func TestDatetimeFaultyServersAreCaught(t *testing.T) {
	for _, tc := range datetimeFaulty {
		t.Run(tc.bug, func(t *testing.T) {
			starter := inProcess("faulty datetime: "+tc.bug, "tcp", func() kit.Server {
				s, err := faulty.NewDatetime(tc.bug)
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
			r := runSuite(t, "datetime", starter, labelsOf(tc.ids), nil)
			for _, id := range tc.ids {
				expectVerdict(t, r, id, tc.want)
			}
		})
	}
}

func TestDatetimeEveryRequirementHasANegativeControl(t *testing.T) {
	var caught, bugs []string
	for _, tc := range datetimeFaulty {
		caught = append(caught, tc.ids...)
		bugs = append(bugs, tc.bug)
	}
	everyIDCaught(t, "datetime", caught)
	everyBugListed(t, faulty.DatetimeBugs, bugs)
}

// Launch-only controls on real processes, and a student-style server that passes.
func TestDatetimePythonControls(t *testing.T) {
	t.Run("busy loop", func(t *testing.T) {
		r := runSuite(t, "datetime", python(t, "datetime/busy.py"), "GEN-IDLE-1", nil)
		expectVerdict(t, r, "GEN-IDLE-1", result.Fail)
	})
	t.Run("crash on bytes that are not UTF-8", func(t *testing.T) {
		r := runSuite(t, "datetime", python(t, "datetime/crash.py"), "GEN-BAD-1 || DT-DATE-1", nil)
		expectVerdict(t, r, "GEN-BAD-1", result.Fail)
		expectVerdict(t, r, "GEN-ALIVE-1", result.Fail)
		expectVerdict(t, r, "DT-DATE-1", result.Pass)
	})
	t.Run("careful student server", func(t *testing.T) {
		r := runSuite(t, "datetime", python(t, "datetime/good.py"), "!GEN-IDLE-1 && !GEN-LEAK-1", nil)
		expectClean(t, r)
	})
}
