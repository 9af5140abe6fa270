package profile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultsAreTheSeeds(t *testing.T) {
	p, err := Default("chat")
	if err != nil {
		t.Fatal(err)
	}
	if p.Get("welcome") != "Welcome to this chatroom!" || p.Get("relay") != "<{ip}> {msg}" || p.Get("framing") != "raw" {
		t.Errorf("chat defaults: %v", p.Values)
	}
	h, _ := Default("header64")
	if h.Get("token") != "!DISCONNECT" || h.Size("max_length", 0) != 1<<20 || h.Size("header_size", 0) != 64 {
		t.Errorf("header64 defaults: %v", h.Values)
	}
	if _, err := Default("nosuch"); err == nil {
		t.Error("an unknown protocol must be an error")
	}
}

func TestLayering(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "nick.yaml")
	os.WriteFile(file, []byte("protocol: chat\nname: nicknames\nknobs:\n  framing: lines\n  relay: \"[{nick}] {msg}\"\n"), 0o644)
	p, err := Load("chat", file, map[string]string{"relay": "{nick}: {msg}"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "nicknames" || p.Get("framing") != "lines" || p.Get("relay") != "{nick}: {msg}" || p.Get("welcome") != "Welcome to this chatroom!" {
		t.Errorf("defaults < file < --set: got %v (%s)", p.Values, p.Name)
	}
	b, err := Load("header64", "ack", nil)
	if err != nil || b.Get("reply") != "ack" {
		t.Errorf("built-in profile ack: %v %v", b.Values, err)
	}
	// The rendered profile is itself a valid profile file.
	again := filepath.Join(dir, "again.yaml")
	os.WriteFile(again, []byte(p.String()), 0o644)
	if q, err := Load("chat", again, nil); err != nil || q.Get("relay") != "{nick}: {msg}" {
		t.Errorf("round trip: %v %v", q.Values, err)
	}
}

func TestErrorsSayWhatToDo(t *testing.T) {
	dir := t.TempDir()
	wrongProto := filepath.Join(dir, "p.yaml")
	os.WriteFile(wrongProto, []byte("protocol: echo\nknobs: {}\n"), 0o644)
	unknownField := filepath.Join(dir, "q.yaml")
	os.WriteFile(unknownField, []byte("protocol: chat\nknob:\n  framing: lines\n"), 0o644)
	cases := []struct {
		source string
		sets   map[string]string
		says   string
	}{
		{"", map[string]string{"nosuch": "1"}, `no knob "nosuch"`},
		{"", map[string]string{"framing": "words"}, "framing"},
		{"", map[string]string{"max_message": "lots"}, "byte count"},
		{"", map[string]string{"ignore": "("}, "ignore"},
		{"nosuchprofile", nil, "c199, lines"},
		{wrongProto, nil, `for protocol "echo"`},
		{unknownField, nil, "knobs"},
	}
	for _, tc := range cases {
		_, err := Load("chat", tc.source, tc.sets)
		if err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("Load(%q, %v): %v, want an error saying %q", tc.source, tc.sets, err, tc.says)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"2048": 2048, "64KiB": 64 << 10, "1MiB": 1 << 20, "16MiB": 16 << 20} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "-1", "1MB", "x"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) should fail", bad)
		}
	}
}
