package result

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func mustDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestWriteReport(t *testing.T) {
	dir := t.TempDir()
	runs := []*Run{mixedRun(), passingRun()}

	var wantJSON, wantJUnit, wantConsole bytes.Buffer
	writeJSONRuns(&wantJSON, runs)
	WriteJUnit(&wantJUnit, JUnitOptions{Strict: true}, runs...)
	WriteConsole(&wantConsole, runs[0], ConsoleOptions{Verbose: true})
	wantConsole.WriteString("\n")
	WriteConsole(&wantConsole, runs[1], ConsoleOptions{Verbose: true})

	for format, want := range map[string][]byte{"json": wantJSON.Bytes(), "junit": wantJUnit.Bytes(), "console": wantConsole.Bytes()} {
		path := filepath.Join(dir, "nested", "deeper", format+".out")
		if err := WriteReport(format, path, true, runs...); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: file differs from the encoder's output", format)
		}
		if format == "console" && bytes.Contains(got, []byte("\x1b[")) {
			t.Errorf("console report files carry no colour")
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm()&^0o644 != 0 {
			t.Errorf("%s: mode %v, want at most 0644", format, fi.Mode().Perm())
		}
	}

	// One run in JSON is the plain object of WriteJSON.
	var one bytes.Buffer
	WriteJSON(&one, runs[0])
	path := filepath.Join(dir, "one.json")
	if err := WriteReport("json", path, false, runs[0]); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, one.Bytes()) {
		t.Errorf("a single run's JSON report should equal WriteJSON's output")
	}

	if err := WriteReport("yaml", filepath.Join(dir, "x"), false, runs...); err == nil {
		t.Errorf("an unknown format must be an error")
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); !os.IsNotExist(err) {
		t.Errorf("an unknown format must not create a file")
	}
}
