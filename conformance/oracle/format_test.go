package oracle

import (
	"strings"
	"testing"
)

func TestParseFormatAndRender(t *testing.T) {
	id := Identity{IP: "127.0.0.2", Port: 4242, Nick: "alice"}
	cases := []struct {
		template, want, prefix, suffix string
		identifies                     bool
	}{
		{"<{ip}> {msg}", "<127.0.0.2> hi", "<127.0.0.2> ", "", true},
		{"{msg}", "hi", "", "", false},
		{"[{nick}] {msg}", "[alice] hi", "[alice] ", "", true},
		{"{ip}:{port} says {msg}!", "127.0.0.2:4242 says hi!", "127.0.0.2:4242 says ", "!", true},
		{"> {msg}", "> hi", "> ", "", false},
	}
	for _, c := range cases {
		f, err := ParseFormat(c.template)
		if err != nil {
			t.Fatalf("ParseFormat(%q): %v", c.template, err)
		}
		if got := string(f.Render(id, []byte("hi"))); got != c.want {
			t.Errorf("%q.Render = %q, want %q", c.template, got, c.want)
		}
		if got := string(f.Prefix(id)); got != c.prefix {
			t.Errorf("%q.Prefix = %q, want %q", c.template, got, c.prefix)
		}
		if got := string(f.Suffix(id)); got != c.suffix {
			t.Errorf("%q.Suffix = %q, want %q", c.template, got, c.suffix)
		}
		if f.Identifies() != c.identifies {
			t.Errorf("%q.Identifies = %v, want %v", c.template, f.Identifies(), c.identifies)
		}
		if f.String() != c.template {
			t.Errorf("String = %q, want %q", f.String(), c.template)
		}
	}
	var zero Format
	if got := string(zero.Render(id, []byte("hi"))); got != "hi" || zero.String() != "{msg}" {
		t.Errorf("zero Format renders %q and prints %q, want the payload alone and {msg}", got, zero.String())
	}
}

func TestParseFormatErrors(t *testing.T) {
	for template, want := range map[string]string{
		"<{ip}>":             "no {msg}",
		"{msg} {msg}":        "twice",
		"{host} {msg}":       "unknown field {host}",
		"{msg} {ip":          "unclosed",
		"{MSG}":              "unknown field",
		"<{ip}> {msg} {nik}": "unknown field {nik}",
	} {
		_, err := ParseFormat(template)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseFormat(%q) = %v, want an error mentioning %q", template, err, want)
		}
	}
}

func TestMustParseFormatPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParseFormat of an invalid template did not panic")
		}
	}()
	MustParseFormat("no field")
}
