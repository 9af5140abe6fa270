package result

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites the file under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `go test ./conformance/result -update` to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs at line %d:\nwant %q\ngot  %q\n(rerun with -update if the change is intended)", path, i+1, w, g)
			}
		}
		t.Fatalf("%s differs (rerun with -update if the change is intended)", path)
	}
}

var start = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// longTranscript has 45 lines and bytes a hostile or broken target might send: terminal
// escapes, a carriage return, a NUL, invalid UTF-8, XML's special characters and a CDATA end.
func longTranscript() string {
	var b strings.Builder
	b.WriteString("00.000 127.0.0.2 -> \"hello & <bye> ]]>\\n\"\n")
	b.WriteString("00.001 127.0.0.3 <- \"\x1b[2Jcleared\r\x00\xff\"\n")
	for i := 3; i <= 45; i++ {
		fmt.Fprintf(&b, "00.%03d 127.0.0.3 <- \"<127.0.0.2> line %d\\n\"\n", i, i)
	}
	return b.String()
}

// mixedRun has one result of every verdict.
func mixedRun() *Run {
	r := &Run{
		Protocol:    "chat",
		Target:      "python3 server.py {port}",
		Profile:     map[string]string{"framing": "raw", "welcome": "Welcome to this chatroom!", "relay": "<{ip}> {msg}", "join": ""},
		Seed:        1234567,
		TimeScale:   1,
		Start:       start,
		Duration:    4200 * time.Millisecond,
		Version:     "v0.1.0",
		Containment: "pid namespace",
		Results: []Result{
			{ID: "GEN-START-1", Level: Must, Text: "a launched target accepts connections within the start timeout", Verdict: Pass,
				Specs: []string{"chat starts"}, Duration: 120 * time.Millisecond},
			{ID: "GEN-IDLE-1", Level: Must, Text: "CPU use returns to idle", Verdict: Skipped,
				Message: "needs the target's process: launch it with --exec"},
			{ID: "CHAT-RELAY-1", Level: Must, Text: "a message reaches every other client", Verdict: Fail,
				Message:    "expected 127.0.0.3 to receive \"<127.0.0.2> hello & <bye>\\n\"\ngot nothing within 2s",
				Hint:       "your server seems to send each message back to its sender only",
				Transcript: longTranscript(), Specs: []string{"relays to every other client", "relays after join"},
				Duration: 2013 * time.Millisecond},
			{ID: "CHAT-ORDER-2", Level: Should, Text: "all receivers see the same order", Verdict: NonStrict,
				Message: "127.0.0.3 saw B before A; 127.0.0.4 saw A before B", Hint: "relay from one goroutine",
				Transcript: "00.010 127.0.0.3 <- \"B\"\n00.011 127.0.0.4 <- \"A\"\n", Duration: 35 * time.Millisecond},
			{ID: "CHAT-LAT-1", Level: Info, Text: "relay latency p50/p99", Verdict: InfoOnly,
				Message: "2 clients: p50 0.21ms p99 1.3ms\n50 clients: p50 2.1ms p99 9.8ms", Duration: 1500 * time.Millisecond},
		},
	}
	return r
}

func passingRun() *Run {
	return &Run{
		Protocol: "echo", Target: "", Seed: 42, TimeScale: 2, Start: start, Duration: 850 * time.Millisecond,
		Version: "v0.1.0",
		Results: []Result{
			{ID: "ECHO-RESP-1", Level: Must, Text: "byte-exact echo", Verdict: Pass, Duration: 3 * time.Millisecond},
			{ID: "ECHO-IDLE-1", Level: Should, Text: "silent clients do not block", Verdict: Pass, Duration: 40 * time.Millisecond},
		},
	}
}

func unreachableRun() *Run {
	return &Run{
		Protocol: "header64", Target: "127.0.0.1:5050", Seed: 7, TimeScale: 1, Start: start,
		Duration: 10 * time.Second, Version: "v0.1.0",
		Error: "never listened on 127.0.0.1:5050 within 10s\nstderr: Traceback (most recent call last):",
	}
}
