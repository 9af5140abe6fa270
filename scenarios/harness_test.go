package scenarios

import (
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sockspec/sockspec/conformance/engine"
	"github.com/sockspec/sockspec/conformance/profile"
	"github.com/sockspec/sockspec/conformance/result"
	"github.com/sockspec/sockspec/conformance/target"
	"github.com/sockspec/sockspec/servers/kit"
)

// inProcess runs a kit.Server per spec inside the test process.
func inProcess(name, network string, newServer func() kit.Server) engine.Starter {
	return engine.InProcess{Name: name, Network: network, Serve: func(ctx context.Context, ln net.Listener, pc net.PacketConn) error {
		return newServer().Serve(ctx, kit.Listener{Stream: ln, Packet: pc})
	}}
}

// runSuite checks a target with the protocol's suite, restricted to labels when not empty.
func runSuite(t *testing.T, protocol string, starter engine.Starter, labels string, sets map[string]string) *result.Run {
	t.Helper()
	prof, err := profile.Load(protocol, "", sets)
	if err != nil {
		t.Fatal(err)
	}
	suite, ok := For(protocol)
	if !ok {
		t.Fatalf("no suite for %s", protocol)
	}
	env := &engine.Env{Protocol: protocol, Profile: prof, Starter: starter, TimeScale: raceScale, Seed: 1, LabelFilter: labels}
	r := engine.Run(env, suite)
	for _, res := range r.Results {
		t.Logf("%-15s %-10s %v", res.ID, res.Verdict, res.Duration.Round(time.Millisecond))
	}
	return r
}

// verdicts renders each result as "ID=verdict" for failure messages.
func verdicts(r *result.Run) string {
	var b strings.Builder
	for _, res := range r.Results {
		b.WriteString(res.ID + "=" + string(res.Verdict) + " ")
	}
	return b.String()
}

// expectVerdict fails the test unless requirement id has one of the verdicts.
func expectVerdict(t *testing.T, r *result.Run, id string, want ...result.Verdict) {
	t.Helper()
	res := r.Find(id)
	if res == nil {
		t.Fatalf("no result for %s", id)
	}
	for _, w := range want {
		if res.Verdict == w {
			return
		}
	}
	t.Errorf("%s: verdict %s, want %v\nmessage: %s\nhint: %s\ntranscript:\n%s", id, res.Verdict, want, res.Message, res.Hint, res.Transcript)
}

// expectClean fails the test when any requirement failed or was non-strict.
func expectClean(t *testing.T, r *result.Run) {
	t.Helper()
	if r.Error != "" {
		t.Fatalf("run error: %s", r.Error)
	}
	for _, res := range r.Results {
		if res.Verdict == result.Fail || res.Verdict == result.NonStrict {
			t.Errorf("%s: %s\nmessage: %s\ntranscript:\n%s", res.ID, res.Verdict, res.Message, res.Transcript)
		}
	}
}

// python launches a Python fixture server from testdata per spec; skips without python3.
func python(t *testing.T, script string) engine.Starter {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	path, err := filepath.Abs(filepath.Join("testdata", script))
	if err != nil {
		t.Fatal(err)
	}
	return engine.Exec{Spec: target.Spec{Command: "exec python3 " + path + " {port}", StartTimeout: 10 * time.Second}}
}
