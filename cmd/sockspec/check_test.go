package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func pythonScript(t *testing.T, name string) string {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	p, err := filepath.Abs(filepath.Join("..", "..", "scenarios", "testdata", "chat", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckExitStatus(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want int
		says string
	}{
		{"reference passes", []string{"check", "chat", "--label-filter", "CHAT-RELAY-2 || CHAT-WELCOME-1"}, 0, "chat: PASS"},
		{"unknown protocol", []string{"check", "nosuch"}, 2, "no conformance suite"},
		{"bad flag", []string{"check", "chat", "--bogus"}, 2, "flag provided but not defined"},
		{"unknown knob", []string{"check", "chat", "--set", "nosuch=1"}, 2, `no knob "nosuch"`},
		{"bad knob value", []string{"check", "chat", "--set", "framing=words"}, 2, "framing"},
		{"both targets", []string{"check", "chat", "--target", "127.0.0.1:1", "--exec", "true"}, 2, "not both"},
		{"bad report", []string{"check", "chat", "--report", "xml=out"}, 2, "--report"},
		{"unreachable", []string{"check", "chat", "--target", "127.0.0.1:1"}, 3, "GEN-START-1"},
		{"exits at start", []string{"check", "chat", "--exec", "echo oops >&2; exit 4"}, 3, "oops"},
		{"never listens", []string{"check", "chat", "--exec", "exec sleep 30", "--start-timeout", "300ms"}, 3, "never"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.args...)
			if code != tc.want {
				t.Errorf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.want, out, errOut)
			}
			if !strings.Contains(out+errOut, tc.says) {
				t.Errorf("output should say %q\nstdout:\n%s\nstderr:\n%s", tc.says, out, errOut)
			}
		})
	}
}

func TestCheckFailsABusyLoopAndLeavesNothingBehind(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreTopFunction("github.com/onsi/ginkgo/v2/internal/interrupt_handler.(*InterruptHandler).registerForInterrupts.func2"))
	script := pythonScript(t, "busy.py")
	code, out, _ := runCLI(t, "check", "chat", "--exec", "python3 "+script+" {port}", "--label-filter", "GEN-IDLE-1")
	if code != 1 || !strings.Contains(out, "GEN-IDLE-1") || !strings.Contains(out, "busy loop") {
		t.Fatalf("want exit 1 and GEN-IDLE-1 failing with a busy-loop hint, got %d:\n%s", code, out)
	}
	if left := markedProcesses(t); len(left) > 0 {
		t.Fatalf("launched processes left behind: %v", left)
	}
}

// markedProcesses lists live processes carrying the launcher's environment marker.
func markedProcesses(t *testing.T) []string {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var left []string
	for _, d := range dirs {
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil || !bytes.Contains(env, []byte("SOCKSPEC_TARGET=")) {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join(d, "stat"))
		if fields := strings.Fields(string(stat)); len(fields) > 2 && fields[2] == "Z" {
			continue // a zombie that init will reap
		}
		cmd, _ := os.ReadFile(filepath.Join(d, "cmdline"))
		left = append(left, d+" "+strings.ReplaceAll(string(cmd), "\x00", " "))
	}
	return left
}

func TestCheckWritesReports(t *testing.T) {
	dir := t.TempDir()
	jsonPath, junitPath := filepath.Join(dir, "r", "chat.json"), filepath.Join(dir, "junit.xml")
	code, out, errOut := runCLI(t, "check", "chat", "--seed", "42", "--label-filter", "CHAT-RELAY-1 || CHAT-FRAME-2",
		"--report", "json="+jsonPath, "--report", "junit="+junitPath)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var report struct {
		Protocol string `json:"protocol"`
		Seed     int64  `json:"seed"`
		Results  []struct {
			ID, Level, Verdict string
		} `json:"results"`
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &report); err != nil {
		t.Fatal(err)
	}
	verdicts := map[string]string{}
	for _, r := range report.Results {
		verdicts[r.ID] = r.Verdict
	}
	if report.Protocol != "chat" || report.Seed != 42 || verdicts["CHAT-RELAY-1"] != "pass" || verdicts["CHAT-FRAME-2"] != "info" {
		t.Errorf("unexpected JSON report: %s", b)
	}
	x, err := os.ReadFile(junitPath)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Suites []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(x, &suites); err != nil || len(suites.Suites) != 1 || len(suites.Suites[0].Cases) < 17 {
		t.Errorf("unexpected JUnit report (%v): %s", err, x)
	}
}

func TestListAndProfile(t *testing.T) {
	code, out, _ := runCLI(t, "list", "chat")
	if code != 0 || !strings.Contains(out, "CHAT-ORDER-2") || !strings.Contains(out, "rapid state machine") {
		t.Errorf("list chat: %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "profile", "show", "chat", "--profile", "lines", "--set", "welcome=")
	if code != 0 || !strings.Contains(out, "framing: lines") || !strings.Contains(out, `welcome: ""`) {
		t.Errorf("profile show: %d\n%s", code, out)
	}
}
