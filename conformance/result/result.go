// Package result is sockspec's one result model: a run's metadata and one result per
// requirement ID. Encoders (console, JSON, JUnit) render it; nothing else decides verdicts.
package result

import "time"

// Level of a requirement (PROTOCOLS.md).
type Level string

const (
	Must   Level = "must"
	Should Level = "should"
	Info   Level = "info"
)

// Verdict of one requirement.
type Verdict string

const (
	Pass      Verdict = "pass"
	Fail      Verdict = "fail"       // a MUST failed
	NonStrict Verdict = "non-strict" // a SHOULD failed
	Skipped   Verdict = "skipped"
	InfoOnly  Verdict = "info" // a measurement or diagnosis
)

// Result is the outcome of one requirement.
type Result struct {
	ID         string        `json:"id"`
	Level      Level         `json:"level"`
	Text       string        `json:"text"`
	Verdict    Verdict       `json:"verdict"`
	Message    string        `json:"message,omitempty"`
	Info       string        `json:"info,omitempty"` // a measurement or diagnosis (INFO parts)
	Hint       string        `json:"hint,omitempty"`
	Transcript string        `json:"transcript,omitempty"`
	Specs      []string      `json:"specs"`
	Duration   time.Duration `json:"duration_ns"`
}

// Summary counts verdicts.
type Summary struct {
	Total     int  `json:"total"`
	Passed    int  `json:"passed"`
	Failed    int  `json:"failed"`
	NonStrict int  `json:"non_strict"`
	Skipped   int  `json:"skipped"`
	Info      int  `json:"info"`
	OK        bool `json:"ok"` // every MUST passed
}

// Run is one `sockspec check` of one protocol against one target.
type Run struct {
	Protocol    string            `json:"protocol"`
	Target      string            `json:"target"`
	Profile     map[string]string `json:"profile"`
	Seed        int64             `json:"seed"`
	TimeScale   float64           `json:"time_scale"`
	Start       time.Time         `json:"start"`
	Duration    time.Duration     `json:"duration_ns"`
	Version     string            `json:"sockspec_version"`
	Containment string            `json:"containment,omitempty"` // how launched process trees were contained
	Error       string            `json:"error,omitempty"`       // the run could not check (target unreachable)
	Results     []Result          `json:"results"`
	Summary     Summary           `json:"summary"`
}

// Summarize fills r.Summary from r.Results.
func (r *Run) Summarize() {
	s := Summary{Total: len(r.Results)}
	for _, res := range r.Results {
		switch res.Verdict {
		case Pass:
			s.Passed++
		case Fail:
			s.Failed++
		case NonStrict:
			s.NonStrict++
		case Skipped:
			s.Skipped++
		case InfoOnly:
			s.Info++
		}
	}
	s.OK = s.Failed == 0 && r.Error == ""
	r.Summary = s
}

// Exit statuses of ARCHITECTURE.md decision 8.
const (
	ExitOK          = 0
	ExitFail        = 1
	ExitUsage       = 2
	ExitUnreachable = 3
)

// ExitStatus is 0 when every MUST passed (and, under strict, every SHOULD), 1 otherwise, and
// 3 when the target could not be started or reached.
func (r *Run) ExitStatus(strict bool) int {
	if r.Error != "" {
		return ExitUnreachable
	}
	for _, res := range r.Results {
		if res.Verdict == Fail || (strict && res.Verdict == NonStrict) {
			return ExitFail
		}
	}
	return ExitOK
}

// Find returns the result for id, or nil.
func (r *Run) Find(id string) *Result {
	for i := range r.Results {
		if r.Results[i].ID == id {
			return &r.Results[i]
		}
	}
	return nil
}
