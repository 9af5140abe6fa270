package result

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
)

func TestJUnitGolden(t *testing.T) {
	for _, strict := range []bool{false, true} {
		var buf bytes.Buffer
		if err := WriteJUnit(&buf, JUnitOptions{Strict: strict}, mixedRun(), passingRun(), unreachableRun()); err != nil {
			t.Fatal(err)
		}
		name := "junit.golden"
		if strict {
			name = "junit_strict.golden"
		}
		golden(t, name, buf.Bytes())
	}
}

// What a CI reporter reads back.
type parsedSuites struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Skipped  int `xml:"skipped,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Skipped  int    `xml:"skipped,attr"`
		Cases    []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error   *struct{} `xml:"error"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
			SystemOut string `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func parseJUnit(t *testing.T, strict bool) (parsedSuites, string) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, JUnitOptions{Strict: strict}, mixedRun(), passingRun(), unreachableRun()); err != nil {
		t.Fatal(err)
	}
	var doc parsedSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("output is not valid XML: %v\n%s", err, buf.String())
	}
	return doc, buf.String()
}

func TestJUnitParsesBack(t *testing.T) {
	doc, out := parseJUnit(t, false)
	if strings.ContainsAny(out, "\x00\x1b\r") {
		t.Errorf("raw control characters in the XML")
	}
	if doc.Tests != 8 || doc.Failures != 1 || doc.Errors != 1 || doc.Skipped != 1 || len(doc.Suites) != 3 {
		t.Fatalf("totals: tests=%d failures=%d errors=%d skipped=%d suites=%d; want 8 1 1 1 3",
			doc.Tests, doc.Failures, doc.Errors, doc.Skipped, len(doc.Suites))
	}
	chat := doc.Suites[0]
	if chat.Name != "chat" || chat.Tests != 5 || chat.Failures != 1 || chat.Skipped != 1 {
		t.Errorf("chat suite: %+v", chat)
	}
	byID := map[string]int{}
	for i, c := range chat.Cases {
		byID[strings.Fields(c.Name)[0]] = i
		if c.Classname != "sockspec.chat" {
			t.Errorf("%s: classname %q", c.Name, c.Classname)
		}
	}
	fail := chat.Cases[byID["CHAT-RELAY-1"]]
	if fail.Name != "CHAT-RELAY-1 [must] a message reaches every other client" {
		t.Errorf("test case name %q", fail.Name)
	}
	if fail.Failure == nil || fail.Failure.Type != "must" ||
		fail.Failure.Message != `expected 127.0.0.3 to receive "<127.0.0.2> hello & <bye>\n"` {
		t.Fatalf("CHAT-RELAY-1 failure: %+v", fail.Failure)
	}
	for _, part := range []string{"got nothing within 2s", "hint: your server", "transcript:", "line 45", "<bye> ]]>", `\x1b[2Jcleared\r\x00\xff`} {
		if !strings.Contains(fail.Failure.Text, part) {
			t.Errorf("CHAT-RELAY-1 failure text lacks %q", part)
		}
	}
	nonStrict := chat.Cases[byID["CHAT-ORDER-2"]]
	if nonStrict.Failure != nil || !strings.Contains(nonStrict.SystemOut, "saw B before A") {
		t.Errorf("without strict, non-strict passes with diagnostics in system-out: %+v", nonStrict)
	}
	if sk := chat.Cases[byID["GEN-IDLE-1"]].Skipped; sk == nil || !strings.Contains(sk.Message, "--exec") {
		t.Errorf("GEN-IDLE-1 should be skipped with its reason: %+v", sk)
	}
	if info := chat.Cases[byID["CHAT-LAT-1"]]; info.Failure != nil || !strings.Contains(info.SystemOut, "p99 9.8ms") {
		t.Errorf("info passes with its message in system-out: %+v", info)
	}
	unreachable := doc.Suites[2]
	if unreachable.Errors != 1 || len(unreachable.Cases) != 1 || unreachable.Cases[0].Error == nil {
		t.Errorf("an unreachable target must show as an error, not as an empty green suite: %+v", unreachable)
	}
}

func TestJUnitStrict(t *testing.T) {
	doc, _ := parseJUnit(t, true)
	if doc.Failures != 2 {
		t.Errorf("strict failures = %d, want 2 (the MUST and the SHOULD)", doc.Failures)
	}
	for _, c := range doc.Suites[0].Cases {
		if strings.HasPrefix(c.Name, "CHAT-ORDER-2 ") {
			if c.Failure == nil || c.Failure.Type != "should" || !strings.Contains(c.Failure.Text, "hint: relay from one goroutine") {
				t.Errorf("strict: CHAT-ORDER-2 should fail with type should: %+v", c.Failure)
			}
			return
		}
	}
	t.Errorf("CHAT-ORDER-2 missing")
}
