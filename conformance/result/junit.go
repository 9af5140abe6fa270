package result

import (
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// JUnitOptions shape the JUnit report.
type JUnitOptions struct {
	// Strict reports NON-STRICT results as failures (type "should"), as `--strict` fails the run.
	Strict bool
}

// The JUnit XML that CI reporters (Jenkins, GitLab, GitHub actions) read.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure"`
	Error     *junitProblem `xml:"error"`
	Skipped   *junitSkipped `xml:"skipped"`
	SystemOut *junitText    `xml:"system-out"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

// junitText is character data written as CDATA, so multi-line diagnostics stay readable.
type junitText struct {
	Text string `xml:",cdata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// WriteJUnit writes one <testsuite> per run and one <testcase> per requirement, named
// "CHAT-RELAY-1 [must] text" in class "sockspec.chat". Diagnostics go inside <failure>, which
// CI reporters show; a run that could not check its target becomes an <error> testcase.
func WriteJUnit(w io.Writer, opt JUnitOptions, runs ...*Run) error {
	doc := junitSuites{Name: "sockspec"}
	var total time.Duration
	for _, r := range runs {
		s := junitSuiteOf(r, opt)
		doc.Suites = append(doc.Suites, s)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		total += r.Duration
	}
	doc.Time = seconds(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func junitSuiteOf(r *Run, opt JUnitOptions) junitSuite {
	s := junitSuite{Name: sanitize(r.Protocol), Time: seconds(r.Duration), Properties: junitProperties(r)}
	if !r.Start.IsZero() {
		s.Timestamp = r.Start.UTC().Format("2006-01-02T15:04:05") // the JUnit schema has no zone
	}
	class := "sockspec." + sanitize(r.Protocol)
	if r.Error != "" {
		s.Cases = append(s.Cases, junitCase{
			Name: "target could not be checked", Classname: class, Time: seconds(0),
			Error: &junitProblem{Message: firstLine(sanitize(r.Error)), Type: "unreachable", Text: sanitize(r.Error)},
		})
		s.Errors++
	}
	for _, res := range r.Results {
		c := junitCase{
			Name:      sanitize(fmt.Sprintf("%s [%s] %s", res.ID, res.Level, res.Text)),
			Classname: class,
			Time:      seconds(res.Duration),
		}
		switch {
		case res.Verdict == Fail || (res.Verdict == NonStrict && opt.Strict):
			typ := string(res.Level)
			if res.Verdict == NonStrict {
				typ = string(Should)
			}
			msg := firstLine(sanitize(res.Message))
			if msg == "" {
				msg = string(res.Verdict)
			}
			c.Failure = &junitProblem{Message: msg, Type: typ, Text: diagnostics(res)}
			s.Failures++
		case res.Verdict == Skipped:
			c.Skipped = &junitSkipped{Message: firstLine(sanitize(res.Message))}
			s.Skipped++
		case res.Verdict == NonStrict:
			c.SystemOut = &junitText{"NON-STRICT (passes unless strict)\n" + diagnostics(res)}
		case res.Message != "" || res.Info != "": // pass, info
			text := res.Message
			if res.Verdict != InfoOnly {
				text = strings.TrimSpace(text + "\n" + res.Info)
			}
			c.SystemOut = &junitText{sanitize(text)}
		}
		s.Cases = append(s.Cases, c)
	}
	s.Tests = len(s.Cases)
	return s
}

// junitProperties records how the run was made, so a CI log can reproduce it.
func junitProperties(r *Run) []junitProperty {
	ps := []junitProperty{
		{"target", sanitize(r.Target)},
		{"seed", fmt.Sprint(r.Seed)},
		{"time_scale", fmt.Sprint(r.TimeScale)},
		{"sockspec_version", sanitize(r.Version)},
	}
	if r.Containment != "" {
		ps = append(ps, junitProperty{"containment", sanitize(r.Containment)})
	}
	keys := make([]string, 0, len(r.Profile))
	for k := range r.Profile {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ps = append(ps, junitProperty{"profile." + sanitize(k), sanitize(r.Profile[k])})
	}
	return ps
}

// junitTranscriptLines bounds a transcript in a CI log, where the whole report is kept.
const junitTranscriptLines = 200

// diagnostics is what a reader of a failure needs: message, hint and the whole transcript.
// Text from the target is sanitized: encoding/xml would turn control characters into U+FFFD,
// hiding what the target sent; escapes keep the document valid and the bytes visible.
func diagnostics(res Result) string {
	var b strings.Builder
	b.WriteString(strings.TrimRight(sanitize(res.Message), "\n"))
	if res.Hint != "" {
		b.WriteString("\nhint: " + strings.TrimRight(sanitize(res.Hint), "\n"))
	}
	if res.Transcript != "" {
		b.WriteString("\ntranscript:\n" + excerpt(sanitize(res.Transcript), junitTranscriptLines))
	}
	return strings.TrimLeft(b.String(), "\n")
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
