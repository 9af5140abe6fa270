package scenarios

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sockspec/sockspec/conformance/engine"
	"github.com/sockspec/sockspec/conformance/profile"
	"github.com/sockspec/sockspec/conformance/result"
	"github.com/sockspec/sockspec/conformance/target"
	"github.com/sockspec/sockspec/servers/faulty"
	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/servers/udp"
)

func referenceUDP(t *testing.T, protocol string, knobs map[string]string) engine.Starter {
	p := udp.UpperProtocol
	if protocol == "udp-pong" {
		p = udp.PongProtocol
	}
	return inProcess("reference "+protocol, "udp", func() kit.Server {
		srv, err := p.New(knobs, kit.Discard())
		if err != nil {
			t.Fatal(err)
		}
		return srv
	})
}

func faultyUDP(t *testing.T, protocol, bug string) engine.Starter {
	return inProcess("faulty "+protocol+": "+bug, "udp", func() kit.Server {
		s, err := faulty.NewUDP(protocol, bug)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// pythonUDP launches a Python fixture UDP server per spec, ready once it answers the CLI's
// probe datagram; skips without python3.
func pythonUDP(t *testing.T, script string, startTimeout time.Duration) engine.Starter {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	path, err := filepath.Abs(filepath.Join("testdata", "udp", script))
	if err != nil {
		t.Fatal(err)
	}
	return engine.Exec{Spec: target.Spec{
		Command: "exec python3 " + path + " {port}", Network: "udp", Probe: []byte("ready?"),
		StartTimeout: startTimeout,
	}}
}

// quickScale makes the negative controls fail fast: every reply deadline is then 0.5 s, the
// shortest the suite allows, and a lost reply costs 1 s (sent twice) instead of 4 s.
const quickScale = 0.25

// runUDPSuite is runSuite with a time scale.
func runUDPSuite(t *testing.T, protocol string, starter engine.Starter, labels string, sets map[string]string, scale float64) *result.Run {
	t.Helper()
	prof, err := profile.Load(protocol, "", sets)
	if err != nil {
		t.Fatal(err)
	}
	suite, ok := For(protocol)
	if !ok {
		t.Fatalf("no suite for %s", protocol)
	}
	env := &engine.Env{Protocol: protocol, Profile: prof, Starter: starter, TimeScale: scale, Seed: 1, LabelFilter: labels}
	r := engine.Run(env, suite)
	for _, res := range r.Results {
		t.Logf("%-15s %-10s %v", res.ID, res.Verdict, res.Duration.Round(time.Millisecond))
	}
	return r
}

// The positive controls: the reference servers pass every UDP requirement.
func TestUDPUpperReferencePasses(t *testing.T) {
	start := time.Now()
	r := runSuite(t, "udp-upper", referenceUDP(t, "udp-upper", nil), "", nil)
	t.Logf("whole udp-upper suite: %v", time.Since(start).Round(time.Millisecond))
	expectClean(t, r)
	for _, id := range []string{"UDP-RESP-1", "UDP-SRC-1", "UDP-MAX-1", "UDP-EMPTY-1", "UDP-UTF8-1", "UDP-CONC-1",
		"GEN-IDLE-1", "GEN-LEAK-1", "GEN-BAD-1", "GEN-ALIVE-1"} {
		expectVerdict(t, r, id, result.Pass)
	}
	expectVerdict(t, r, "UDP-BIG-1", result.InfoOnly)
	if msg := r.Find("UDP-BIG-1").Message; !strings.Contains(msg, "truncated: the reply held its first 2048 bytes") {
		t.Errorf("UDP-BIG-1 info: %q, want the truncation to 2048 bytes", msg)
	}
}

func TestUDPPongReferencePasses(t *testing.T) {
	r := runSuite(t, "udp-pong", referenceUDP(t, "udp-pong", nil), "", nil)
	expectClean(t, r)
	for _, id := range []string{"UDP-RESP-1", "UDP-SRC-1", "UDP-MAX-1", "UDP-EMPTY-1", "UDP-CONC-1", "GEN-BAD-1", "GEN-ALIVE-1"} {
		expectVerdict(t, r, id, result.Pass)
	}
	expectVerdict(t, r, "UDP-BIG-1", result.InfoOnly)
}

// The knobs drive both the checker and the reference server.
func TestUDPReferencePassesOtherKnobs(t *testing.T) {
	t.Run("upper case=ascii max_datagram=4096", func(t *testing.T) {
		sets := map[string]string{"case": "ascii", "max_datagram": "4096"}
		r := runSuite(t, "udp-upper", referenceUDP(t, "udp-upper", sets), "!GEN-IDLE-1 && !GEN-LEAK-1", sets)
		expectClean(t, r)
		if msg := r.Find("UDP-BIG-1").Message; !strings.Contains(msg, "first 4096 bytes") {
			t.Errorf("UDP-BIG-1 info: %q", msg)
		}
	})
	t.Run("pong reply=HELLO", func(t *testing.T) {
		sets := map[string]string{"reply": "HELLO"}
		r := runSuite(t, "udp-pong", referenceUDP(t, "udp-pong", sets), "!GEN-IDLE-1 && !GEN-LEAK-1", sets)
		expectClean(t, r)
	})
	t.Run("a checker with the wrong case rule fails the reference", func(t *testing.T) {
		r := runSuite(t, "udp-upper", referenceUDP(t, "udp-upper", nil), "UDP-RESP-1", map[string]string{"case": "ascii"})
		expectVerdict(t, r, "UDP-RESP-1", result.Fail)
	})
}

// The negative controls: each broken server is caught by the requirement(s) it breaks.
func TestUDPFaultyServersAreCaught(t *testing.T) {
	cases := []struct {
		protocol, bug string
		ids           []string
		verdict       result.Verdict
	}{
		{"udp-upper", "other-socket", []string{"UDP-SRC-1"}, result.Fail},
		{"udp-pong", "other-socket", []string{"UDP-SRC-1"}, result.Fail},
		{"udp-upper", "per-client-socket", []string{"UDP-SRC-1"}, result.Fail},
		{"udp-upper", "per-client-socket", []string{"GEN-LEAK-1"}, result.NonStrict},
		{"udp-upper", "connected-socket", []string{"UDP-RESP-1"}, result.Fail},
		{"udp-upper", "replies-twice", []string{"UDP-RESP-1", "UDP-CONC-1"}, result.Fail},
		{"udp-pong", "replies-twice", []string{"UDP-RESP-1", "UDP-CONC-1"}, result.Fail},
		{"udp-upper", "recv-1024", []string{"UDP-MAX-1"}, result.Fail},
		{"udp-pong", "skips-large", []string{"UDP-MAX-1"}, result.Fail},
		{"udp-pong", "stops-on-empty", []string{"UDP-EMPTY-1", "GEN-ALIVE-1"}, result.Fail},
		{"udp-upper", "crashes-non-utf8", []string{"UDP-UTF8-1", "GEN-BAD-1", "GEN-ALIVE-1"}, result.Fail},
		{"udp-upper", "echoes-non-utf8", []string{"UDP-UTF8-1"}, result.NonStrict},
		{"udp-upper", "keyed-by-ip", []string{"UDP-CONC-1"}, result.Fail},
		{"udp-pong", "keyed-by-ip", []string{"UDP-CONC-1"}, result.Fail},
		{"udp-upper", "busy-loop", []string{"GEN-IDLE-1"}, result.Fail},
	}
	for _, tc := range cases {
		t.Run(tc.protocol+"/"+tc.bug+"/"+strings.Join(tc.ids, ","), func(t *testing.T) {
			r := runUDPSuite(t, tc.protocol, faultyUDP(t, tc.protocol, tc.bug), labelsOf(tc.ids), nil, quickScale)
			for _, id := range tc.ids {
				expectVerdict(t, r, id, tc.verdict)
			}
		})
	}
}

// Bugs whose targets stay up pass the other checks: one bug, one requirement.
func TestUDPFaultyServersFailOnlyTheirRequirement(t *testing.T) {
	cases := []struct{ bug, id string }{
		{"other-socket", "UDP-SRC-1"},
		{"echoes-non-utf8", "UDP-UTF8-1"},
	}
	for _, tc := range cases {
		t.Run(tc.bug, func(t *testing.T) {
			r := runUDPSuite(t, "udp-upper", faultyUDP(t, "udp-upper", tc.bug), "!GEN-IDLE-1 && !GEN-LEAK-1 && !UDP-BIG-1", nil, quickScale)
			for _, res := range r.Results {
				if res.ID == tc.id || res.Verdict == result.Skipped {
					continue
				}
				if res.Verdict != result.Pass {
					t.Errorf("%s: %s, want pass (only %s should fail)\n%s", res.ID, res.Verdict, tc.id, res.Message)
				}
			}
		})
	}
}

// UDP-BIG-1 is a diagnosis: it tells a truncating server from a dropping one.
func TestUDPBigDiagnosis(t *testing.T) {
	r := runUDPSuite(t, "udp-upper", faultyUDP(t, "udp-upper", "skips-large"), "UDP-BIG-1", nil, quickScale)
	expectVerdict(t, r, "UDP-BIG-1", result.InfoOnly)
	if msg := r.Find("UDP-BIG-1").Message; !strings.Contains(msg, "was dropped") {
		t.Errorf("UDP-BIG-1 info for a dropping server: %q", msg)
	}
	r = runUDPSuite(t, "udp-upper", faultyUDP(t, "udp-upper", "recv-1024"), "UDP-BIG-1", nil, quickScale)
	if msg := r.Find("UDP-BIG-1").Message; !strings.Contains(msg, "first 1024 bytes") {
		t.Errorf("UDP-BIG-1 info for a server cutting at 1024: %q", msg)
	}
}

// Launch-only controls on real processes, readiness by probe datagram.
func TestUDPPythonControls(t *testing.T) {
	t.Run("seed upper crashes on bytes that are not UTF-8", func(t *testing.T) {
		r := runUDPSuite(t, "udp-upper", pythonUDP(t, "seed_upper.py", 10*time.Second), "UDP-RESP-1 || GEN-BAD-1", nil, quickScale)
		expectVerdict(t, r, "GEN-START-1", result.Pass)
		expectVerdict(t, r, "UDP-RESP-1", result.Pass)
		expectVerdict(t, r, "GEN-BAD-1", result.Fail)
		expectVerdict(t, r, "GEN-ALIVE-1", result.Fail)
		if msg := r.Find("GEN-ALIVE-1").Message; !strings.Contains(msg, "crashed while running") {
			t.Errorf("GEN-ALIVE-1: %q, want the crash named", msg)
		}
	})
	t.Run("busy loop", func(t *testing.T) {
		r := runSuite(t, "udp-upper", pythonUDP(t, "busy.py", 10*time.Second), "GEN-IDLE-1", nil)
		expectVerdict(t, r, "GEN-IDLE-1", result.Fail)
	})
	t.Run("break on an empty datagram", func(t *testing.T) {
		r := runUDPSuite(t, "udp-upper", pythonUDP(t, "empty_break.py", 10*time.Second), "UDP-EMPTY-1 || UDP-RESP-1", nil, quickScale)
		expectVerdict(t, r, "UDP-EMPTY-1", result.Fail)
		expectVerdict(t, r, "UDP-RESP-1", result.Pass)
		expectVerdict(t, r, "GEN-ALIVE-1", result.Fail)
	})
	t.Run("careful student server", func(t *testing.T) {
		r := runSuite(t, "udp-upper", pythonUDP(t, "good.py", 10*time.Second), "", nil)
		expectClean(t, r)
		expectVerdict(t, r, "GEN-IDLE-1", result.Pass)
		expectVerdict(t, r, "GEN-LEAK-1", result.Pass)
	})
	t.Run("seed pong", func(t *testing.T) {
		r := runSuite(t, "udp-pong", pythonUDP(t, "seed_pong.py", 10*time.Second), "UDP-RESP-1 || UDP-CONC-1", nil)
		expectClean(t, r)
	})
	t.Run("never answers the readiness probe", func(t *testing.T) {
		r := runSuite(t, "udp-upper", pythonUDP(t, "silent.py", time.Second), "", nil)
		expectVerdict(t, r, "GEN-START-1", result.Fail)
	})
	t.Run("exits before it binds", func(t *testing.T) {
		r := runSuite(t, "udp-upper", pythonUDP(t, "exits.py", 10*time.Second), "", nil)
		expectVerdict(t, r, "GEN-START-2", result.Fail)
	})
}
