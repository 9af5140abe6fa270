package scenarios

import (
	"testing"

	"github.com/sockspec/sockspec/conformance/result"
	"github.com/sockspec/sockspec/servers/echo"
	"github.com/sockspec/sockspec/servers/faulty"
	"github.com/sockspec/sockspec/servers/kit"
)

func referenceEcho(t *testing.T) func() kit.Server {
	return func() kit.Server {
		srv, err := echo.Protocol.New(nil, kit.Discard())
		if err != nil {
			t.Fatal(err)
		}
		return srv
	}
}

// The positive control: the reference server passes every echo requirement.
func TestEchoReferencePasses(t *testing.T) {
	r := runSuite(t, "echo", inProcess("reference echo", "tcp", referenceEcho(t)), "", nil)
	expectClean(t, r)
	for _, id := range []string{"ECHO-RESP-1", "ECHO-LARGE-1", "ECHO-HALF-1", "ECHO-CONC-1", "ECHO-IDLE-1",
		"GEN-IDLE-1", "GEN-LEAK-1", "GEN-BAD-1", "GEN-ALIVE-1"} {
		expectVerdict(t, r, id, result.Pass)
	}
}

// The negative controls: each broken server is caught by the requirement it breaks.
func TestEchoFaultyServersAreCaught(t *testing.T) {
	const fail, nonStrict, pass = result.Fail, result.NonStrict, result.Pass
	cases := []upperEchoCase{
		{name: "utf8-roundtrip", want: map[string]result.Verdict{"ECHO-RESP-1": fail, "ECHO-HALF-1": pass}},
		{name: "echo-once", want: map[string]result.Verdict{"ECHO-LARGE-1": fail}},
		{name: "line-buffered", want: map[string]result.Verdict{"ECHO-HALF-1": fail, "ECHO-RESP-1": fail}},
		{name: "busy-loop", want: map[string]result.Verdict{"ECHO-HALF-1": fail, "GEN-IDLE-1": fail}, cpu: []string{"GEN-IDLE-1"}},
		{name: "no-close", want: map[string]result.Verdict{"ECHO-HALF-1": fail}},
		{name: "leaks-sockets", want: map[string]result.Verdict{"ECHO-HALF-1": fail, "GEN-LEAK-1": nonStrict}},
		{name: "global-socket", want: map[string]result.Verdict{"ECHO-CONC-1": fail}},
		{name: "global-socket", want: map[string]result.Verdict{"ECHO-RESP-1": pass, "ECHO-LARGE-1": pass}, filter: "ECHO-RESP-1 || ECHO-LARGE-1"},
		{name: "sequential", want: map[string]result.Verdict{"ECHO-CONC-1": fail, "ECHO-IDLE-1": nonStrict}},
		{name: "pool-4", want: map[string]result.Verdict{"ECHO-IDLE-1": nonStrict, "ECHO-CONC-1": fail}},
		{name: "prints-decoded", want: map[string]result.Verdict{"GEN-BAD-1": fail, "GEN-ALIVE-1": fail}},
	}
	for _, tc := range cases {
		t.Run(tc.name+upperFilterSuffix(tc.filter), func(t *testing.T) {
			starter := inProcess("faulty echo: "+tc.name, "tcp", func() kit.Server {
				s, err := faulty.NewEcho(tc.name)
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
			tc.check(t, tc.run(t, "echo", starter))
		})
	}
	caught := map[string]bool{}
	for _, tc := range cases {
		for id, v := range tc.want {
			caught[id] = caught[id] || v != pass
		}
	}
	for _, id := range []string{"ECHO-RESP-1", "ECHO-LARGE-1", "ECHO-HALF-1", "ECHO-CONC-1", "ECHO-IDLE-1",
		"GEN-IDLE-1", "GEN-LEAK-1", "GEN-BAD-1", "GEN-ALIVE-1"} {
		if !caught[id] {
			t.Errorf("no faulty echo server fails %s", id)
		}
	}
}

// Launch-only controls on real processes, and a careful student-style Python server.
func TestEchoPythonControls(t *testing.T) {
	t.Run("busy loop", func(t *testing.T) {
		r := upperRunScaled(t, "echo", python(t, "echo/busy.py"), "GEN-IDLE-1 || ECHO-HALF-1", nil, upperFailScale)
		upperExpectCPU(t, r, "GEN-IDLE-1", result.Fail)
		expectVerdict(t, r, "ECHO-HALF-1", result.Fail)
	})
	t.Run("crash on bad input", func(t *testing.T) {
		r := runSuite(t, "echo", python(t, "echo/crash.py"), "GEN-BAD-1 || ECHO-HALF-1", nil)
		expectVerdict(t, r, "GEN-ALIVE-1", result.Fail)
		expectVerdict(t, r, "GEN-BAD-1", result.Fail)
		expectVerdict(t, r, "ECHO-HALF-1", result.Pass)
	})
	t.Run("careful student server", func(t *testing.T) {
		r := runSuite(t, "echo", python(t, "echo/good.py"), "", nil)
		expectClean(t, r)
	})
}
