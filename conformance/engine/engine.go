// Package engine runs a protocol's conformance specs (Ginkgo, inside the sockspec binary)
// against a target and turns Ginkgo's report into sockspec's result model.
//
// One Run registers the suite afresh (globals.Reset), starts a fresh target per spec (or one
// for the run), watches it for crashes, makes a plain valid request after every spec
// (GEN-ALIVE-1), and maps each spec's outcome to its requirement ID.
package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/extensions/globals"
	"github.com/onsi/ginkgo/v2/formatter"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/sockspec/sockspec/conformance/profile"
	"github.com/sockspec/sockspec/conformance/requirements"
	"github.com/sockspec/sockspec/conformance/result"
)

// Env is what specs see of the run: the profile, the time scale, the seed and the target.
type Env struct {
	Protocol    string
	Profile     profile.Profile
	Starter     Starter
	TimeScale   float64 // multiplies every timing threshold; 1 on a quiet machine
	Seed        int64
	ReuseTarget bool
	LabelFilter string
	Verbose     bool
	Log         io.Writer // Ginkgo's own output when Verbose; nil discards
	Version     string

	mu      sync.Mutex
	current Target
	alive   []string // GEN-ALIVE-1 failures, in order
	crashes int
	specs   map[string][]string // requirement ID -> spec titles, for `sockspec list`
}

// Scale multiplies d by the time scale.
func (e *Env) Scale(d time.Duration) time.Duration {
	if e.TimeScale <= 0 {
		return d
	}
	return time.Duration(float64(d) * e.TimeScale)
}

// Target is the target of the running spec.
func (e *Env) Target() Target {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.current
}

// Suite is a protocol's conformance suite (one file in scenarios/).
type Suite struct {
	Protocol string
	// Probe makes one plain valid request against addr and checks the answer (GEN-ALIVE-1).
	Probe func(ctx context.Context, env *Env, addr string) error
	// Specs registers the specs, with env.It.
	Specs func(env *Env)
}

// testingT satisfies ginkgo.GinkgoTestingT outside `go test`.
type testingT struct{ failed bool }

func (t *testingT) Fail() { t.failed = true }

var runMu sync.Mutex // Ginkgo's state is global: one run at a time

// Run checks env's target against suite and returns the result. It never calls os.Exit.
func Run(env *Env, suite Suite) *result.Run {
	runMu.Lock()
	defer runMu.Unlock()
	start := time.Now()
	run := &result.Run{
		Protocol:  env.Protocol,
		Target:    env.Starter.Describe(),
		Profile:   env.Profile.Values,
		Seed:      env.Seed,
		TimeScale: env.TimeScale,
		Start:     start,
		Version:   env.Version,
	}
	defer func() {
		run.Duration = time.Since(start)
		run.Summarize()
	}()
	if env.specs == nil {
		env.specs = map[string][]string{}
	}

	// Preflight: the target must come up at all (GEN-START-1/2, exit status 3).
	ctx, cancel := context.WithTimeout(context.Background(), env.Scale(30*time.Second))
	first, err := env.Starter.Start(ctx)
	cancel()
	if err != nil {
		run.Error = err.Error()
		run.Results = unreachableResults(env, err)
		return run
	}
	if c, ok := first.(interface{ Containment() string }); ok {
		run.Containment = c.Containment()
	}
	if env.ReuseTarget {
		env.current = first
	} else if err := first.Stop(); err != nil {
		fmt.Fprintf(logOf(env), "stopping the preflight target: %v\n", err)
	}

	var report types.Report
	globals.Reset()
	register(env, suite, &report)

	suiteConfig, reporterConfig := ginkgo.GinkgoConfiguration()
	suiteConfig.RandomSeed = env.Seed
	suiteConfig.LabelFilter = env.LabelFilter
	suiteConfig.Timeout = env.Scale(30 * time.Minute)
	suiteConfig.PollProgressAfter = -1
	reporterConfig.NoColor = true
	reporterConfig.Verbose = env.Verbose
	reporterConfig.Succinct = !env.Verbose
	saved := formatter.ColorableStdOut
	formatter.ColorableStdOut = logOf(env)
	ginkgo.RunSpecs(&testingT{}, "sockspec "+env.Protocol, suiteConfig, reporterConfig)
	formatter.ColorableStdOut = saved
	// Ginkgo's interrupt handler stays installed after RunSpecs and would swallow signals.
	signal.Reset(os.Interrupt, syscall.SIGTERM)

	if env.ReuseTarget && env.current != nil {
		env.current.Stop()
		env.current = nil
	}
	run.Results = buildResults(env, suite, report)
	return run
}

func logOf(env *Env) io.Writer {
	if env.Verbose && env.Log != nil {
		return env.Log
	}
	return io.Discard
}

func register(env *Env, suite Suite, report *types.Report) {
	ginkgo.ReportAfterSuite("sockspec results", func(r ginkgo.Report) { *report = r })
	ginkgo.Describe(env.Protocol, func() {
		ginkgo.BeforeEach(func(ctx ginkgo.SpecContext) {
			if env.ReuseTarget && env.current != nil {
				if !crashed(env.current) {
					return
				}
				env.current.Stop()
			}
			t, err := env.Starter.Start(ctx)
			if err != nil {
				ginkgo.Fail("could not start a fresh target for this spec: " + err.Error())
			}
			env.mu.Lock()
			env.current = t
			env.mu.Unlock()
		}, ginkgo.NodeTimeout(env.Scale(40*time.Second)))
		ginkgo.AfterEach(func(ctx ginkgo.SpecContext) {
			afterSpec(ctx, env, suite)
		}, ginkgo.NodeTimeout(env.Scale(20*time.Second)))
		suite.Specs(env)
	})
}

func crashed(t Target) bool {
	select {
	case <-t.Exited(): // a nil channel (no process of ours) never fires
		return true
	default:
		return false
	}
}

// afterSpec reports a crash during the spec, checks the target still answers (GEN-ALIVE-1)
// and stops a per-spec target.
func afterSpec(ctx context.Context, env *Env, suite Suite) {
	t := env.Target()
	if t == nil {
		return
	}
	id := specID(ginkgo.CurrentSpecReport())
	defer func() {
		if !env.ReuseTarget {
			env.mu.Lock()
			env.current = nil
			env.mu.Unlock()
			t.Stop()
		}
	}()
	if ginkgo.CurrentSpecReport().Failed() && t.Exited() != nil {
		// A failure may be the server dying: give its exit a moment to be noticed.
		select {
		case <-t.Exited():
		case <-time.After(env.Scale(300 * time.Millisecond)):
		}
	}
	if crashed(t) {
		msg := fmt.Sprintf("crashed while running %s (%s)", id, t.ExitStatus())
		env.mu.Lock()
		env.alive = append(env.alive, msg)
		env.crashes++
		env.mu.Unlock()
		ginkgo.AddReportEntry(entryCrash, msg+"\nlast output of the server:\n"+indent(t.Output()))
		if !ginkgo.CurrentSpecReport().Failed() {
			ginkgo.Fail(msg)
		}
		return
	}
	if suite.Probe == nil || ginkgo.CurrentSpecReport().State.Is(types.SpecStateSkipped) {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, env.Scale(5*time.Second))
	defer cancel()
	if err := suite.Probe(pctx, env, t.Addr()); err != nil {
		env.mu.Lock()
		env.alive = append(env.alive, fmt.Sprintf("after %s, the server no longer answered a plain valid request: %v", id, err))
		env.mu.Unlock()
	}
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "    (no output)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// Report entry names that specs and the engine attach to a spec.
const (
	entryHint       = "hint"
	entryTranscript = "transcript"
	entryInfo       = "info"
	entryCrash      = "crash"
)

// specID returns the requirement ID a spec is labelled with.
func specID(r types.SpecReport) string {
	for _, l := range r.Labels() {
		if _, ok := requirements.Lookup(l); ok {
			return l
		}
	}
	return r.LeafNodeText
}

func specLevel(r types.SpecReport) result.Level {
	for _, l := range r.Labels() {
		switch result.Level(l) {
		case result.Must, result.Should, result.Info:
			return result.Level(l)
		}
	}
	return result.Must
}
