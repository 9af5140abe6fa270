package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/extensions/globals"

	"github.com/sockspec/sockspec/conformance/profile"

	"github.com/sockspec/sockspec/conformance/requirements"
	"github.com/sockspec/sockspec/conformance/result"
)

// T is what a spec body gets: its context, the target, and ways to report.
type T struct {
	ginkgo.SpecContext
	Env    *Env
	ID     string
	Target Target
}

// Addr is the target's address.
func (t *T) Addr() string { return t.Target.Addr() }

// Scale multiplies d by the time scale.
func (t *T) Scale(d time.Duration) time.Duration { return t.Env.Scale(d) }

// Failure is a failed expectation, told so that a student can act on it.
type Failure struct {
	Expected   string // what the requirement wants, concretely
	Got        string // what arrived (bytes shown safely)
	Hint       string // the classic cause, in a student's words
	Transcript string // the conversation that shows it
}

// Fail fails the spec with an expected/got message, a hint and a transcript.
func (t *T) Fail(f Failure) {
	if f.Hint != "" {
		ginkgo.AddReportEntry(entryHint, f.Hint)
	}
	if f.Transcript != "" {
		ginkgo.AddReportEntry(entryTranscript, f.Transcript)
	}
	msg := "expected " + f.Expected
	if f.Got != "" {
		msg += "\ngot " + f.Got
	}
	ginkgo.Fail(msg, 1)
}

// Info records a measurement or diagnosis (INFO requirements).
func (t *T) Info(format string, args ...any) {
	ginkgo.AddReportEntry(entryInfo, fmt.Sprintf(format, args...))
}

// Skip skips the spec with a reason the report shows.
func (t *T) Skip(reason string) { ginkgo.Skip(reason, 1) }

// Option changes how a spec is registered.
type Option func(*specOptions)

type specOptions struct {
	needsProcess bool
	timeout      time.Duration
	labels       []string
}

// NeedsProcess marks a spec that reads the server's process (CPU, descriptors): skipped
// against a bare address.
func NeedsProcess() Option { return func(o *specOptions) { o.needsProcess = true } }

// Timeout sets the spec's time limit (scaled); default 60 s.
func Timeout(d time.Duration) Option { return func(o *specOptions) { o.timeout = d } }

// Labels adds labels of its own to a spec (e.g. "rapid"), for --label-filter.
func Labels(labels ...string) Option {
	return func(o *specOptions) { o.labels = append(o.labels, labels...) }
}

// It registers a spec for requirement id at a level (a requirement with a SHOULD part and a
// MUST part has one spec per part). The title says what the spec does.
func (e *Env) It(id string, level result.Level, title string, body func(t *T), opts ...Option) {
	req, ok := requirements.Lookup(id)
	if !ok {
		panic("engine: unknown requirement " + id) // a programming error in scenarios/
	}
	o := specOptions{timeout: 60 * time.Second, needsProcess: req.LaunchOnly}
	for _, opt := range opts {
		opt(&o)
	}
	full := id + " [" + string(level) + "] " + title
	e.specs[id] = append(e.specs[id], full)
	ginkgo.It(full, ginkgo.Label(append([]string{id, string(level)}, o.labels...)...), func(ctx ginkgo.SpecContext) {
		if o.needsProcess && !e.Starter.HasProcess() {
			ginkgo.Skip("needs the server's process (CPU, descriptors): run with --exec, or give --pid")
		}
		body(&T{SpecContext: ctx, Env: e, ID: id, Target: e.Target()})
	}, ginkgo.SpecTimeout(e.Scale(o.timeout)))
}

// SpecsOf returns the spec titles registered for each requirement ID (after a Run or Preview).
func (e *Env) SpecsOf(id string) []string { return e.specs[id] }

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Preview registers a suite's specs without running anything, to list them.
func Preview(protocol string, prof profile.Profile, suite Suite) *Env {
	runMu.Lock()
	defer runMu.Unlock()
	env := &Env{Protocol: protocol, Profile: prof, Starter: Remote{}, specs: map[string][]string{}}
	globals.Reset()
	suite.Specs(env) // It only registers nodes; nothing runs
	globals.Reset()
	return env
}
