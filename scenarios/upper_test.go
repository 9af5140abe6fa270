package scenarios

import (
	"context"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sockspec/sockspec/conformance/engine"
	"github.com/sockspec/sockspec/conformance/profile"
	"github.com/sockspec/sockspec/conformance/result"
	"github.com/sockspec/sockspec/conformance/target"
	"github.com/sockspec/sockspec/servers/faulty"
	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/servers/upper"
)

// referenceUpper builds the reference upper server with knobs (profile knobs and `model`).
func referenceUpper(t *testing.T, knobs map[string]string) func() kit.Server {
	return func() kit.Server {
		srv, err := upper.Protocol.New(knobs, kit.Discard())
		if err != nil {
			t.Fatal(err)
		}
		return srv
	}
}

// The positive control: the reference server passes every upper requirement.
func TestUpperReferencePasses(t *testing.T) {
	r := runSuite(t, "upper", inProcess("reference upper", "tcp", referenceUpper(t, nil)), "", nil)
	expectClean(t, r)
	for _, id := range []string{"UP-RESP-1", "UP-STREAM-1", "UP-SPLIT-1", "UP-LARGE-1", "UP-EOF-1", "UP-UTF8-1",
		"UP-CONC-1", "UP-IDLE-1", "GEN-IDLE-1", "GEN-LEAK-1", "GEN-BAD-1", "GEN-ALIVE-1"} {
		expectVerdict(t, r, id, result.Pass)
	}
}

// The seed variants as knob values: once mode (the seed's first server) and the ASCII rule.
func TestUpperReferencePassesItsVariants(t *testing.T) {
	for _, sets := range []map[string]string{
		{"mode": "once"},
		{"case": "ascii"},
		{"mode": "once", "case": "ascii"},
	} {
		t.Run(upperKnobText(sets), func(t *testing.T) {
			r := runSuite(t, "upper", inProcess("reference upper", "tcp", referenceUpper(t, sets)), "!GEN-IDLE-1 && !GEN-LEAK-1", sets)
			expectClean(t, r)
			if sets["mode"] == "once" {
				expectVerdict(t, r, "UP-STREAM-1", result.Skipped)
				expectVerdict(t, r, "UP-SPLIT-1", result.Skipped)
				expectVerdict(t, r, "UP-LARGE-1", result.Pass)
			}
		})
	}
}

func upperKnobText(sets map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(sets)) {
		parts = append(parts, k+"="+sets[k])
	}
	return strings.Join(parts, ",")
}

// upperEchoCase is a server and the verdicts some requirements must get against it.
type upperEchoCase struct {
	name   string
	want   map[string]result.Verdict
	sets   map[string]string
	filter string   // the label filter; default: the IDs of want
	cpu    []string // IDs of want that fail on CPU use: see upperExpectCPU
}

func (c upperEchoCase) labels() string {
	if c.filter != "" {
		return c.filter
	}
	return labelsOf(slices.Sorted(maps.Keys(c.want)))
}

// run checks the case's server. A case that expects only failures runs at time scale 0.25:
// its failures are things that never arrive, and the 2 s waits for them shrink to the
// 0.5 s minimum. A case that also expects a pass runs at the normal scale.
func (c upperEchoCase) run(t *testing.T, protocol string, starter engine.Starter) *result.Run {
	t.Helper()
	scale := upperFailScale
	for _, v := range c.want {
		if v == result.Pass {
			scale = 1
		}
	}
	return upperRunScaled(t, protocol, starter, c.labels(), c.sets, scale)
}

// upperFailScale is the time scale of runs that expect only failures: their failures are
// things that never arrive, and the 2 s waits for them shrink to the 0.5 s minimum.
const upperFailScale = 0.25

// upperRunScaled is runSuite at a time scale, logging what a student would read.
func upperRunScaled(t *testing.T, protocol string, starter engine.Starter, labels string, sets map[string]string, scale float64) *result.Run {
	t.Helper()
	prof, err := profile.Load(protocol, "", sets)
	if err != nil {
		t.Fatal(err)
	}
	suite, _ := For(protocol)
	env := &engine.Env{Protocol: protocol, Profile: prof, Starter: starter, TimeScale: scale, Seed: 1, LabelFilter: labels}
	r := engine.Run(env, suite)
	for _, res := range r.Results {
		switch res.Verdict {
		case result.Skipped:
		case result.Pass:
			t.Logf("%-15s %-10s %v", res.ID, res.Verdict, res.Duration.Round(time.Millisecond))
		default:
			t.Logf("%-15s %-10s %v\n%s\nhint: %s", res.ID, res.Verdict, res.Duration.Round(time.Millisecond), res.Message, res.Hint)
		}
	}
	return r
}

func (c upperEchoCase) check(t *testing.T, r *result.Run) {
	t.Helper()
	for _, id := range slices.Sorted(maps.Keys(c.want)) {
		if slices.Contains(c.cpu, id) {
			upperExpectCPU(t, r, id, c.want[id])
		} else {
			expectVerdict(t, r, id, c.want[id])
		}
	}
}

// upperExpectCPU is expectVerdict for a verdict that rests on a busy loop's CPU use. On an
// overloaded machine a spinning thread gets so little of a core that it looks idle: when a
// spinner of our own cannot get half a core either, the verdict is logged, not asserted.
func upperExpectCPU(t *testing.T, r *result.Run, id string, want result.Verdict) {
	t.Helper()
	if res := r.Find(id); res != nil && res.Verdict != want && !upperCPUAvailable(t) {
		t.Logf("%s: verdict %s, want %s, but the machine is too loaded for a busy loop to show (%s)", id, res.Verdict, want, res.Message)
		return
	}
	expectVerdict(t, r, id, want)
}

// upperCPUAvailable reports whether a spinning goroutine gets at least half a core now.
func upperCPUAvailable(t *testing.T) bool {
	w, err := target.Attach(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		for ctx.Err() == nil { // the spinner: burns a core until stop
		}
	}()
	cpu, err := w.IdleCPU(context.Background(), 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("a spinning goroutine got %.0f%% of a core", cpu*100)
	return cpu >= 0.5
}

// The negative controls: each broken server is caught by the requirement it breaks.
func TestUpperFaultyServersAreCaught(t *testing.T) {
	const fail, nonStrict, pass = result.Fail, result.NonStrict, result.Pass
	cases := []upperEchoCase{
		{name: "one-recv", want: map[string]result.Verdict{"UP-STREAM-1": fail, "UP-LARGE-1": fail, "UP-RESP-1": pass}},
		{name: "bytes-upper", want: map[string]result.Verdict{"UP-RESP-1": fail}},
		{name: "bytes-upper", sets: map[string]string{"case": "ascii"}, want: map[string]result.Verdict{"UP-RESP-1": pass}},
		{name: "go-toupper", want: map[string]result.Verdict{"UP-RESP-1": fail, "UP-SPLIT-1": pass}},
		{name: "split-replace", want: map[string]result.Verdict{"UP-SPLIT-1": fail, "UP-RESP-1": pass}},
		// The SHOULD part fails, the MUST part (others are still served) passes: non-strict.
		{name: "dies-on-bad-utf8", want: map[string]result.Verdict{"UP-UTF8-1": nonStrict, "UP-SPLIT-1": fail}},
		{name: "crash-on-bad-utf8", want: map[string]result.Verdict{"UP-UTF8-1": fail, "GEN-BAD-1": fail, "GEN-ALIVE-1": fail}},
		{name: "busy-loop", want: map[string]result.Verdict{"UP-EOF-1": fail, "GEN-IDLE-1": fail}, cpu: []string{"GEN-IDLE-1"}},
		{name: "closes-then-spins", want: map[string]result.Verdict{"UP-EOF-1": fail, "GEN-IDLE-1": fail}, cpu: []string{"UP-EOF-1", "GEN-IDLE-1"}},
		{name: "no-close", want: map[string]result.Verdict{"UP-EOF-1": fail}},
		{name: "leaks-sockets", want: map[string]result.Verdict{"UP-EOF-1": fail, "GEN-LEAK-1": nonStrict}},
		{name: "sequential", want: map[string]result.Verdict{"UP-CONC-1": nonStrict, "UP-IDLE-1": nonStrict},
			filter: "UP-IDLE-1 || (UP-CONC-1 && should)"},
		{name: "pool-4", want: map[string]result.Verdict{"UP-IDLE-1": nonStrict}},
		{name: "pool-4", want: map[string]result.Verdict{"UP-CONC-1": pass}, filter: "UP-CONC-1 && should"},
	}
	for _, tc := range cases {
		t.Run(tc.name+upperKnobSuffix(tc.sets)+upperFilterSuffix(tc.filter), func(t *testing.T) {
			starter := inProcess("faulty upper: "+tc.name, "tcp", func() kit.Server {
				s, err := faulty.NewUpper(tc.name)
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
			tc.check(t, tc.run(t, "upper", starter))
		})
	}
	// Every upper requirement has a faulty server that fails it.
	caught := map[string]bool{}
	for _, tc := range cases {
		for id, v := range tc.want {
			caught[id] = caught[id] || v != pass
		}
	}
	for _, id := range []string{"UP-RESP-1", "UP-STREAM-1", "UP-SPLIT-1", "UP-LARGE-1", "UP-EOF-1", "UP-UTF8-1",
		"UP-CONC-1", "UP-IDLE-1", "GEN-IDLE-1", "GEN-LEAK-1", "GEN-BAD-1", "GEN-ALIVE-1"} {
		if !caught[id] {
			t.Errorf("no faulty upper server fails %s", id)
		}
	}
}

func upperFilterSuffix(filter string) string {
	if filter == "" {
		return ""
	}
	return "/only " + filter
}

func upperKnobSuffix(sets map[string]string) string {
	if len(sets) == 0 {
		return ""
	}
	return "/" + upperKnobText(sets)
}

// UP-CONC-1's INFO part tells the three concurrency models of seed 004 apart; the reference
// server's `model` knob (sockspec serve upper --set model=...) gives a control for each.
func TestUpperDiagnosesConcurrencyModel(t *testing.T) {
	cases := []struct {
		model, mode, want string
	}{
		{model: "sequential", want: "one client at a time"},
		{model: "pool=3", want: "a pool of 3:"},
		{model: "per-conn", want: "one per client"},
		{model: "pool=2", mode: "once", want: "a pool of 2:"},
		{model: "per-conn", mode: "once", want: "one per client"},
	}
	for _, tc := range cases {
		sets := map[string]string{}
		if tc.mode != "" {
			sets["mode"] = tc.mode
		}
		t.Run(tc.model+upperKnobSuffix(sets), func(t *testing.T) {
			knobs := maps.Clone(sets)
			knobs["model"] = tc.model
			r := runSuite(t, "upper", inProcess("reference upper, model="+tc.model, "tcp", referenceUpper(t, knobs)), "UP-CONC-1 && info", sets)
			expectVerdict(t, r, "UP-CONC-1", result.InfoOnly)
			if res := r.Find("UP-CONC-1"); res != nil && !strings.Contains(res.Message, tc.want) {
				t.Errorf("model %s: diagnosis %q, want it to say %q", tc.model, res.Message, tc.want)
			}
		})
	}
}

// Launch-only controls on real processes, and student-style Python servers.
func TestUpperPythonControls(t *testing.T) {
	t.Run("busy loop", func(t *testing.T) {
		r := upperRunScaled(t, "upper", python(t, "upper/busy.py"), "GEN-IDLE-1 || UP-EOF-1", nil, upperFailScale)
		upperExpectCPU(t, r, "GEN-IDLE-1", result.Fail)
		expectVerdict(t, r, "UP-EOF-1", result.Fail)
	})
	t.Run("crash on bad input", func(t *testing.T) {
		r := runSuite(t, "upper", python(t, "upper/crash.py"), "GEN-BAD-1 || (UP-UTF8-1 && must) || UP-RESP-1", nil)
		expectVerdict(t, r, "GEN-ALIVE-1", result.Fail)
		expectVerdict(t, r, "GEN-BAD-1", result.Fail)
		expectVerdict(t, r, "UP-UTF8-1", result.Fail)
		expectVerdict(t, r, "UP-RESP-1", result.Pass)
	})
	t.Run("the seed's pool of 4 threads", func(t *testing.T) {
		sets := map[string]string{"mode": "once"}
		r := runSuite(t, "upper", python(t, "upper/pool.py"), "UP-CONC-1 && info", sets)
		res := r.Find("UP-CONC-1")
		if res == nil || !strings.Contains(res.Message, "a pool of 4:") {
			t.Errorf("diagnosis of the seed's pool of 4 threads: %+v", res)
		}
	})
	t.Run("careful student server", func(t *testing.T) {
		r := runSuite(t, "upper", python(t, "upper/good.py"), "", nil)
		expectClean(t, r)
	})
}
