package scenarios

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sockspec/sockspec/conformance/requirements"
	"github.com/sockspec/sockspec/conformance/result"
	"github.com/sockspec/sockspec/servers/faulty"
	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/servers/lookup"
)

func referenceLookup(t *testing.T, knobs map[string]string) func() kit.Server {
	return func() kit.Server {
		srv, err := lookup.Protocol.New(knobs, kit.Discard())
		if err != nil {
			t.Fatal(err)
		}
		return srv
	}
}

func faultyLookup(t *testing.T, bug string) func() kit.Server {
	return func() kit.Server {
		s, err := faulty.NewLookup(bug)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

// The positive controls: the reference server passes every lookup requirement, in both
// per_connection modes and with a directory file.
func TestLookupReferencePasses(t *testing.T) {
	r := runSuite(t, "lookup", inProcess("reference lookup", "tcp", referenceLookup(t, nil)), "", nil)
	expectClean(t, r)
	for _, id := range []string{"LOOK-RESP-1", "LOOK-CASE-1", "LOOK-WS-1", "LOOK-UNK-1", "LOOK-MULTI-1", "LOOK-CONC-1",
		"GEN-IDLE-1", "GEN-LEAK-1", "GEN-BAD-1", "GEN-ALIVE-1"} {
		expectVerdict(t, r, id, result.Pass)
	}
}

func TestLookupReferencePassesOnePerConnection(t *testing.T) {
	sets := map[string]string{"per_connection": "one"}
	r := runSuite(t, "lookup", inProcess("reference lookup", "tcp", referenceLookup(t, sets)), "!GEN-IDLE-1", sets)
	expectClean(t, r)
	expectVerdict(t, r, "LOOK-MULTI-1", result.Skipped)
	expectVerdict(t, r, "LOOK-CONC-1", result.Pass)
}

func TestLookupReferencePassesWithDirectoryFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "staff.csv")
	if err := os.WriteFile(dir, []byte("name,office\n# two people\nZoë,A1\nBob Smith,Z-99\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sets := map[string]string{"directory": dir, "unknown": "NOT FOUND"}
	r := runSuite(t, "lookup", inProcess("reference lookup", "tcp", referenceLookup(t, sets)),
		"LOOK-RESP-1 || LOOK-CASE-1 || LOOK-UNK-1", sets)
	expectClean(t, r)
	expectVerdict(t, r, "LOOK-CASE-1", result.Pass)
}

// The socketserver version (one recv, one reply, close) is right under per_connection=one.
func TestLookupOneRecvPassesSocketserverProfile(t *testing.T) {
	sets := map[string]string{"per_connection": "one"}
	r := runSuite(t, "lookup", inProcess("faulty lookup: one-recv", "tcp", faultyLookup(t, "one-recv")),
		"LOOK-RESP-1 || LOOK-CASE-1 || LOOK-WS-1 || LOOK-UNK-1 || LOOK-CONC-1", sets)
	expectClean(t, r)
}

// lookupFaulty lists the negative controls: each broken server and the requirements it fails.
var lookupFaulty = []struct {
	bug    string
	ids    []string
	want   result.Verdict
	labels string // the specs to run, when not all of ids' (to keep the test short)
}{
	{bug: "chops-last-char", ids: []string{"LOOK-RESP-1"}, want: result.Fail},
	{bug: "waits-for-newline", ids: []string{"LOOK-RESP-1"}, want: result.Fail},
	{bug: "case-sensitive", ids: []string{"LOOK-CASE-1"}, want: result.Fail},
	{bug: "no-strip", ids: []string{"LOOK-WS-1"}, want: result.NonStrict},
	{bug: "keyerror-exits", ids: []string{"LOOK-UNK-1", "GEN-ALIVE-1"}, want: result.Fail},
	{bug: "keyerror-closes", ids: []string{"LOOK-UNK-1"}, want: result.NonStrict},
	{bug: "keyerror-hangs", ids: []string{"LOOK-UNK-1"}, want: result.NonStrict, labels: "LOOK-UNK-1 && should"},
	{bug: "one-recv", ids: []string{"LOOK-MULTI-1"}, want: result.Fail},
	{bug: "sequential", ids: []string{"LOOK-CONC-1"}, want: result.NonStrict},
	{bug: "busy-loop", ids: []string{"GEN-IDLE-1"}, want: result.Fail},
	{bug: "keeps-departed", ids: []string{"GEN-LEAK-1"}, want: result.NonStrict},
	{bug: "crashes-non-utf8", ids: []string{"GEN-BAD-1", "GEN-ALIVE-1"}, want: result.Fail},
}

// The negative controls: each broken server is caught by the requirement it breaks.
func TestLookupFaultyServersAreCaught(t *testing.T) {
	for _, tc := range lookupFaulty {
		t.Run(tc.bug, func(t *testing.T) {
			labels := tc.labels
			if labels == "" {
				labels = labelsOf(tc.ids)
			}
			r := runSuite(t, "lookup", inProcess("faulty lookup: "+tc.bug, "tcp", faultyLookup(t, tc.bug)), labels, nil)
			for _, id := range tc.ids {
				expectVerdict(t, r, id, tc.want)
			}
		})
	}
}

// Every requirement of lookup that can fail has a faulty server above that fails it, and
// every faulty server is in the table.
func TestLookupEveryRequirementHasANegativeControl(t *testing.T) {
	var caught []string
	var bugs []string
	for _, tc := range lookupFaulty {
		caught = append(caught, tc.ids...)
		bugs = append(bugs, tc.bug)
	}
	everyIDCaught(t, "lookup", caught)
	everyBugListed(t, faulty.LookupBugs, bugs)
}

// Launch-only controls on real processes, and student-style servers that pass.
func TestLookupPythonControls(t *testing.T) {
	t.Run("busy loop", func(t *testing.T) {
		r := runSuite(t, "lookup", python(t, "lookup/busy.py"), "GEN-IDLE-1", nil)
		expectVerdict(t, r, "GEN-IDLE-1", result.Fail)
	})
	t.Run("KeyError ends the seed-style server", func(t *testing.T) {
		r := runSuite(t, "lookup", python(t, "lookup/crash.py"), "LOOK-UNK-1 || LOOK-RESP-1 || LOOK-MULTI-1", nil)
		expectVerdict(t, r, "LOOK-UNK-1", result.Fail)
		expectVerdict(t, r, "GEN-ALIVE-1", result.Fail)
		expectVerdict(t, r, "LOOK-RESP-1", result.Pass)
		expectVerdict(t, r, "LOOK-MULTI-1", result.Pass)
	})
	t.Run("careful student server", func(t *testing.T) {
		r := runSuite(t, "lookup", python(t, "lookup/good.py"), "!GEN-IDLE-1 && !GEN-LEAK-1", nil)
		expectClean(t, r)
	})
	t.Run("socketserver version under per_connection=one", func(t *testing.T) {
		sets := map[string]string{"per_connection": "one"}
		r := runSuite(t, "lookup", python(t, "lookup/once.py"), "LOOK-RESP-1 || LOOK-UNK-1 || LOOK-CONC-1", sets)
		expectClean(t, r)
	})
}

// everyIDCaught fails unless every requirement of protocol that can fail is in caught: the
// INFO ones only measure, and GEN-START-1/2 are the engine's (shown by its own tests).
func everyIDCaught(t *testing.T, protocol string, caught []string) {
	t.Helper()
	for _, req := range requirements.For(protocol) {
		if req.Level == result.Info || req.ID == "GEN-START-1" || req.ID == "GEN-START-2" {
			continue
		}
		if !slices.Contains(caught, req.ID) {
			t.Errorf("%s: no faulty server is shown failing it", req.ID)
		}
	}
}

// everyBugListed fails unless each faulty server of a protocol has a test case.
func everyBugListed(t *testing.T, all map[string]string, tested []string) {
	t.Helper()
	for bug := range all {
		if !slices.Contains(tested, bug) {
			t.Errorf("faulty server %q has no test case", bug)
		}
	}
}
