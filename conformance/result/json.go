package result

import (
	"encoding/json"
	"io"
)

// jsonRun is a Run as JSON: the model's own fields (embedded, so new fields appear without
// changes here), an up-to-date summary, lists that are [] rather than null, and readable
// durations beside the nanosecond ones.
type jsonRun struct {
	Run
	Profile  map[string]string `json:"profile"`
	Duration string            `json:"duration"`
	Results  []jsonResult      `json:"results"`
	Summary  Summary           `json:"summary"`
}

type jsonResult struct {
	Result
	Specs    []string `json:"specs"`
	Duration string   `json:"duration"`
}

func toJSON(r *Run) jsonRun {
	j := jsonRun{
		Run:      *r,
		Profile:  r.Profile,
		Duration: humanDuration(r.Duration),
		Results:  make([]jsonResult, len(r.Results)),
		Summary:  summarized(r),
	}
	if j.Profile == nil {
		j.Profile = map[string]string{}
	}
	for i, res := range r.Results {
		j.Results[i] = jsonResult{Result: res, Specs: res.Specs, Duration: humanDuration(res.Duration)}
		if j.Results[i].Specs == nil {
			j.Results[i].Specs = []string{}
		}
	}
	return j
}

// WriteJSON writes r as indented JSON: {"protocol": ..., "results": [{"id": ..., "verdict":
// ...}], "summary": {...}}. Field names are an interface: keep them stable.
func WriteJSON(w io.Writer, r *Run) error {
	return writeJSON(w, toJSON(r))
}

// writeJSONRuns writes several runs as a JSON array of WriteJSON's objects.
func writeJSONRuns(w io.Writer, runs []*Run) error {
	out := make([]jsonRun, len(runs))
	for i, r := range runs {
		out[i] = toJSON(r)
	}
	return writeJSON(w, out)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // transcripts hold <{ip}> relays; keep them readable
	return enc.Encode(v)
}
