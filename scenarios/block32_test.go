package scenarios

import (
	"testing"

	"github.com/sockspec/sockspec/conformance/result"
	"github.com/sockspec/sockspec/servers/block32"
	"github.com/sockspec/sockspec/servers/faulty"
	"github.com/sockspec/sockspec/servers/kit"
)

func referenceBlock32(t *testing.T, knobs map[string]string) func() kit.Server {
	return func() kit.Server {
		srv, err := block32.Protocol.New(knobs, kit.Discard())
		if err != nil {
			t.Fatal(err)
		}
		return srv
	}
}

// The positive control: the reference server passes every block32 requirement, in the seed's
// profile and with many blocks per connection and ASCII case.
func TestBlock32ReferencePasses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sets   map[string]string
		labels string
	}{
		{name: "seed", sets: nil},
		{name: "many-ascii", sets: map[string]string{"per_connection": "many", "case": "ascii"}, labels: "!GEN-IDLE-1 && !GEN-LEAK-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runSuite(t, "block32", inProcess("reference block32", "tcp", referenceBlock32(t, tc.sets)), tc.labels, tc.sets)
			expectClean(t, r)
			for _, id := range []string{"BLK-RESP-1", "BLK-FRAME-4", "BLK-CONC-1", "GEN-ALIVE-1"} {
				expectVerdict(t, r, id, result.Pass)
			}
		})
	}
}

// The negative controls: each broken server is caught by the requirement it breaks (a SHOULD
// part alone gives non-strict).
func TestBlock32FaultyServersAreCaught(t *testing.T) {
	cases := []struct {
		bug  string
		ids  []string
		want result.Verdict
	}{
		{bug: "raw-reply", ids: []string{"BLK-RESP-1"}, want: result.Fail},
		{bug: "little-endian", ids: []string{"BLK-RESP-1"}, want: result.Fail},
		{bug: "simple-case", ids: []string{"BLK-RESP-1"}, want: result.Fail},
		{bug: "one-recv-prefix", ids: []string{"BLK-FRAME-1"}, want: result.Fail},
		{bug: "one-recv-payload", ids: []string{"BLK-FRAME-2", "BLK-FRAME-4"}, want: result.Fail},
		{bug: "empty-block-closes", ids: []string{"BLK-FRAME-3"}, want: result.Fail},
		{bug: "limit-64k", ids: []string{"BLK-FRAME-4"}, want: result.Fail},
		{bug: "crash-mid-block", ids: []string{"BLK-BAD-1"}, want: result.Fail},
		{bug: "no-limit", ids: []string{"BLK-BAD-2"}, want: result.NonStrict},
		{bug: "huge-length-kills-server", ids: []string{"BLK-BAD-2", "GEN-BAD-1"}, want: result.Fail},
		{bug: "utf8-kills-thread", ids: []string{"BLK-UTF8-1"}, want: result.NonStrict},
		{bug: "utf8-kills-server", ids: []string{"BLK-UTF8-1"}, want: result.Fail},
		{bug: "sequential", ids: []string{"BLK-CONC-1"}, want: result.NonStrict},
		{bug: "busy-loop", ids: []string{"GEN-IDLE-1"}, want: result.Fail},
		{bug: "keeps-departed", ids: []string{"GEN-LEAK-1"}, want: result.NonStrict},
	}
	for _, tc := range cases {
		t.Run(tc.bug, func(t *testing.T) {
			starter := inProcess("faulty block32: "+tc.bug, "tcp", func() kit.Server {
				s, err := faulty.NewBlock32(tc.bug)
				if err != nil {
					panic(err)
				}
				return s
			})
			r := runScaled(t, "block32", starter, labelsOf(tc.ids), nil, negativeScale(tc.want))
			if idleMissed(t, r) {
				r = runScaled(t, "block32", starter, labelsOf(tc.ids), nil, negativeScale(tc.want))
			}
			for _, id := range tc.ids {
				expectVerdict(t, r, id, tc.want)
			}
		})
	}
}

// Launch-only controls on real processes: a busy loop, a crash, and a careful server.
func TestBlock32PythonControls(t *testing.T) {
	t.Run("busy loop", func(t *testing.T) {
		expectBusy(t, func() *result.Run { return runSuite(t, "block32", python(t, "block32/busy.py"), "GEN-IDLE-1", nil) })
	})
	t.Run("crash mid-block", func(t *testing.T) {
		r := runSuite(t, "block32", python(t, "block32/crash.py"), "BLK-BAD-1 || BLK-RESP-1", nil)
		expectVerdict(t, r, "GEN-ALIVE-1", result.Fail)
		expectVerdict(t, r, "BLK-BAD-1", result.Fail)
		expectVerdict(t, r, "BLK-RESP-1", result.Pass)
	})
	t.Run("careful student server", func(t *testing.T) {
		r := runReused(t, "block32", python(t, "block32/good.py"), "")
		expectClean(t, r)
		expectVerdict(t, r, "GEN-IDLE-1", result.Pass)
	})
}
