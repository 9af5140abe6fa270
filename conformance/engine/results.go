package engine

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/sockspec/sockspec/conformance/requirements"
	"github.com/sockspec/sockspec/conformance/result"
	"github.com/sockspec/sockspec/conformance/target"
)

// EngineChecks says how the engine itself checks a requirement that has no spec of its own.
func EngineChecks(id string) string {
	switch id {
	case "GEN-START-1", "GEN-START-2":
		return "engine: a preflight start, and a fresh start before every spec"
	case "GEN-ALIVE-1":
		return "engine: a crash watch during every spec, and a plain valid request after it"
	}
	return ""
}

// rank orders verdicts from best to worst, to combine the specs of one requirement.
var rank = map[result.Verdict]int{result.Skipped: 0, result.InfoOnly: 1, result.Pass: 2, result.NonStrict: 3, result.Fail: 4}

// buildResults turns Ginkgo's report into one result per requirement of the protocol.
func buildResults(env *Env, suite Suite, report types.Report) []result.Result {
	byID := map[string]*result.Result{}
	var order []string
	for _, req := range requirements.For(env.Protocol) {
		byID[req.ID] = &result.Result{ID: req.ID, Level: req.Level, Text: req.Text, Specs: []string{}}
		order = append(order, req.ID)
	}
	for _, sr := range report.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt {
			continue
		}
		id := specID(sr)
		res, ok := byID[id]
		if !ok {
			continue
		}
		res.Specs = append(res.Specs, sr.LeafNodeText)
		res.Duration += sr.RunTime
		v, msg := specVerdict(sr)
		merge(res, v, msg, entries(sr))
	}

	// Engine-made results: start-up and liveness.
	for _, id := range []string{"GEN-START-1", "GEN-START-2"} {
		if res, ok := byID[id]; ok {
			if env.Starter.Kind() == "exec" {
				res.Verdict, res.Message = result.Pass, "the target started and listened (preflight and before every spec)"
			} else {
				res.Verdict, res.Message = result.Skipped, "not launched by sockspec ("+env.Starter.Kind()+" target)"
			}
			res.Specs = append(res.Specs, EngineChecks(id))
		}
	}
	if res, ok := byID["GEN-ALIVE-1"]; ok {
		res.Specs = append(res.Specs, EngineChecks("GEN-ALIVE-1"))
		switch {
		case len(env.alive) > 0:
			res.Verdict = result.Fail
			res.Message = strings.Join(env.alive, "\n")
			res.Hint = "The server stopped answering. Look for an exception that ends the accept loop or " +
				"the whole process (a KeyError, a UnicodeDecodeError, an int() of a bad header), or a thread " +
				"that died and left its client hanging."
		case suite.Probe == nil:
			res.Verdict, res.Message = result.Skipped, "this suite has no plain valid request"
		default:
			res.Verdict, res.Message = result.Pass, "the server answered a plain valid request after every spec"
		}
	}

	out := make([]result.Result, 0, len(order))
	for _, id := range order {
		res := byID[id]
		if res.Verdict == "" {
			res.Verdict, res.Message = result.Skipped, "no spec of this suite covers it yet"
		}
		out = append(out, *res)
	}
	return out
}

type specEntries struct{ hint, transcript, info, crash string }

func entries(sr types.SpecReport) specEntries {
	var e specEntries
	for _, re := range sr.ReportEntries {
		v := re.StringRepresentation()
		switch re.Name {
		case entryHint:
			e.hint = v
		case entryTranscript:
			e.transcript = v
		case entryInfo:
			e.info = join(e.info, v)
		case entryCrash:
			e.crash = v
		}
	}
	return e
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "\n" + b
}

// specVerdict maps one spec's outcome to a verdict, by the level of the part it checks.
func specVerdict(sr types.SpecReport) (result.Verdict, string) {
	level := specLevel(sr)
	switch {
	case sr.State == types.SpecStatePassed:
		if level == result.Info {
			return result.InfoOnly, ""
		}
		return result.Pass, ""
	case sr.State == types.SpecStateSkipped || sr.State == types.SpecStatePending:
		msg := sr.Failure.Message
		if msg == "" {
			msg = "filtered out (--label-filter)"
		}
		return result.Skipped, msg
	}
	msg := sr.Failure.Message
	if sr.State == types.SpecStateTimedout {
		msg = "the spec ran out of time (" + sr.RunTime.Round(time.Millisecond).String() + "): " + msg
	}
	if sr.State == types.SpecStatePanicked {
		msg = "the check itself panicked (a sockspec bug, please report it): " + msg + "\n" + sr.Failure.ForwardedPanic
	}
	switch level {
	case result.Should:
		return result.NonStrict, msg
	case result.Info:
		return result.InfoOnly, "could not measure: " + msg
	}
	return result.Fail, msg
}

// merge folds one spec's outcome into its requirement's result: the worst verdict wins and
// brings its message, hint and transcript.
func merge(res *result.Result, v result.Verdict, msg string, e specEntries) {
	if e.crash != "" {
		msg = e.crash + "\n" + msg
	}
	if v == result.InfoOnly && e.info != "" {
		msg = join(msg, e.info)
	}
	msg = strings.TrimSpace(msg)
	if v == result.InfoOnly {
		// A measurement or diagnosis: kept in Info whatever the verdict of the other parts.
		res.Info = join(res.Info, msg)
		if res.Verdict == "" || rank[v] > rank[res.Verdict] {
			res.Verdict, res.Message = v, res.Info
		}
		return
	}
	if res.Verdict == "" || rank[v] > rank[res.Verdict] {
		res.Verdict, res.Message, res.Hint, res.Transcript = v, msg, e.hint, e.transcript
	}
}

// unreachableResults is the report of a target that never came up.
func unreachableResults(env *Env, err error) []result.Result {
	var never *target.NeverListenedError
	var exited *target.ExitedDuringStartupError
	out := []result.Result{}
	for _, req := range requirements.For(env.Protocol) {
		res := result.Result{ID: req.ID, Level: req.Level, Text: req.Text, Specs: []string{}, Verdict: result.Skipped,
			Message: "not checked: the target could not be started or reached"}
		switch {
		case req.ID == "GEN-START-1" && errors.As(err, &never):
			res.Verdict, res.Message = result.Fail, never.Error()
			res.Hint = "The server never accepted a connection on the port it was given. Does it read the port " +
				"from its arguments ({port}) and bind 127.0.0.1 or 0.0.0.0, and call listen()?"
		case req.ID == "GEN-START-2" && errors.As(err, &exited):
			res.Verdict, res.Message = result.Fail, exited.Error()
			res.Hint = "The server exited before it listened: read its output above for the exception."
		case req.ID == "GEN-START-1" || req.ID == "GEN-START-2":
			if env.Starter.Kind() == "exec" {
				res.Verdict, res.Message = result.Pass, "not the cause"
			}
		}
		if req.ID == "GEN-START-1" && env.Starter.Kind() != "exec" {
			res.Verdict, res.Message = result.Fail, fmt.Sprintf("could not reach the target: %v", err)
		}
		out = append(out, res)
	}
	return out
}
