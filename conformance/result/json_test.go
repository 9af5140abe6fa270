package result

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestJSONGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, mixedRun()); err != nil {
		t.Fatal(err)
	}
	golden(t, "json_mixed.golden", buf.Bytes())
}

func TestJSONRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, mixedRun()); err != nil {
		t.Fatal(err)
	}
	// The model reads back what it wrote: field names are the model's tags.
	var back Run
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	want := mixedRun()
	if back.Protocol != want.Protocol || back.Seed != want.Seed || !back.Start.Equal(want.Start) ||
		back.Duration != want.Duration || len(back.Results) != len(want.Results) {
		t.Fatalf("round trip lost run fields: %+v", back)
	}
	for i, res := range back.Results {
		w := want.Results[i]
		// JSON strings are UTF-8: encoding/json turns an invalid byte into U+FFFD.
		if res.ID != w.ID || res.Verdict != w.Verdict || res.Level != w.Level ||
			res.Transcript != strings.ToValidUTF8(w.Transcript, "\uFFFD") ||
			res.Hint != w.Hint || res.Duration != w.Duration {
			t.Errorf("result %d: got %+v, want %+v", i, res, w)
		}
	}
	if back.Summary != (Summary{Total: 5, Passed: 1, Failed: 1, NonStrict: 1, Skipped: 1, Info: 1}) {
		t.Errorf("summary = %+v, want counts recomputed from the results", back.Summary)
	}

	// Stable shape: lists are never null, and readable durations sit beside the nanoseconds.
	var raw struct {
		Duration string            `json:"duration"`
		Profile  map[string]string `json:"profile"`
		Results  []struct {
			Specs    []string `json:"specs"`
			Duration string   `json:"duration"`
		} `json:"results"`
	}
	buf.Reset()
	WriteJSON(&buf, &Run{Protocol: "echo", Duration: 4200 * time.Millisecond, Results: []Result{{ID: "ECHO-RESP-1", Verdict: Pass}}})
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Duration != "4.2s" || raw.Profile == nil || raw.Results[0].Specs == nil || raw.Results[0].Duration != "0ms" {
		t.Errorf("unexpected shape: %s", buf.String())
	}
	if bytes.Contains(buf.Bytes(), []byte("null")) {
		t.Errorf("no field should be null: %s", buf.String())
	}
}
