package result

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// ReportFormats are the formats WriteReport knows.
var ReportFormats = []string{"console", "json", "junit"}

// WriteReport writes runs to the file at path in format "json", "junit" or "console" (plain
// text, no colour), creating its directories. The report is rendered in full before the file
// is written, so an encoding error never leaves half a report. strict makes NON-STRICT
// results JUnit failures. One run in JSON is an object; several are an array of them.
func WriteReport(format, path string, strict bool, runs ...*Run) error {
	var buf bytes.Buffer
	var err error
	switch format {
	case "json":
		if len(runs) == 1 {
			err = WriteJSON(&buf, runs[0])
		} else {
			err = writeJSONRuns(&buf, runs)
		}
	case "junit":
		err = WriteJUnit(&buf, JUnitOptions{Strict: strict}, runs...)
	case "console":
		for i, r := range runs {
			if i > 0 {
				buf.WriteString("\n")
			}
			if err = WriteConsole(&buf, r, ConsoleOptions{Verbose: true}); err != nil {
				break
			}
		}
	default:
		return fmt.Errorf("report format %q: want one of %v", format, ReportFormats)
	}
	if err != nil {
		return fmt.Errorf("%s report: %w", format, err)
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("%s report: %w", format, err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("%s report: %w", format, err)
	}
	return nil
}
