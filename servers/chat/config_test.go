package chat

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sockspec/sockspec/servers/kit"
)

func TestParseConfigDefaults(t *testing.T) {
	cfg, err := ParseConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg != DefaultConfig() {
		t.Fatalf("ParseConfig(nil) = %+v, want DefaultConfig() %+v", cfg, DefaultConfig())
	}
	if cfg.MaxMessageBytes() != 2048 || cfg.Welcome != "Welcome to this chatroom!" || cfg.Relay != "<{ip}> {msg}" || cfg.Framing != "raw" {
		t.Fatalf("defaults differ from the seed: %+v", cfg)
	}
	cfg, err = ParseConfig(map[string]string{"framing": "lines", "max_message": ""})
	if err != nil || cfg.MaxMessageBytes() != 64<<10 {
		t.Fatalf("lines: max %d, err %v; want 64 KiB", cfg.MaxMessageBytes(), err)
	}
	// Every knob's listed default parses to the default config.
	k := map[string]string{}
	for _, knob := range Protocol.Knobs {
		k[knob.Name] = knob.Default
	}
	if cfg, err = ParseConfig(k); err != nil || cfg != DefaultConfig() {
		t.Fatalf("ParseConfig(listed defaults) = %+v, %v; want %+v", cfg, err, DefaultConfig())
	}
}

func TestParseConfigValues(t *testing.T) {
	cfg, err := ParseConfig(map[string]string{
		"framing": "lines", "welcome": "", "relay": "{nick}: {msg}", "max_message": "1KiB",
		"join": `expect NICKNAME; send {nick}\n`, "join_timeout": "2s", "ignore": ".* joined",
		"queue": "64KiB", "slow_timeout": "250ms", "idle": "1m",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Framing: "lines", Relay: "{nick}: {msg}", MaxMessage: 1024, Join: `expect NICKNAME; send {nick}\n`,
		JoinTimeout: 2 * time.Second, Ignore: ".* joined", Queue: 64 << 10, SlowTimeout: 250 * time.Millisecond,
		Idle: time.Minute}
	if cfg != want {
		t.Fatalf("got %+v\nwant %+v", cfg, want)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		knobs map[string]string
		knob  string // the *kit.KnobError's knob; "" for the unknown-knob error
		text  string // in the message
	}{
		{map[string]string{"colour": "red"}, "", "framing"},
		{map[string]string{"framing": "json"}, "framing", "raw | lines"},
		{map[string]string{"max_message": "0"}, "max_message", "from 1"},
		{map[string]string{"max_message": "big"}, "max_message", "KiB"},
		{map[string]string{"queue": "-1"}, "queue", "from"},
		{map[string]string{"idle": "soon"}, "idle", "duration"},
		{map[string]string{"slow_timeout": "0"}, "slow_timeout", "positive"},
		{map[string]string{"join_timeout": "-1s"}, "join_timeout", "duration"},
		{map[string]string{"relay": "<{name}> {msg}"}, "relay", "{name}"},
		{map[string]string{"relay": "<{nick}> {msg}"}, "relay", "join script"},
		{map[string]string{"join": "expect"}, "join", "expect needs"},
		{map[string]string{"join": "say hi"}, "join", "want"},
		{map[string]string{"join": "send {nick}"}, "join", `ending in \n`},
		{map[string]string{"join": `send {nick}\n; send {nick}\n`}, "join", "twice"},
		{map[string]string{"join": `send {nick} {ip}\n`}, "join", "one {nick}"},
		{map[string]string{"join": `expect hi {nick}; send {nick}\n`}, "join", "already sent"},
		{map[string]string{"join": `expect a\q`}, "join", `\q`},
	} {
		_, err := ParseConfig(tc.knobs)
		if err == nil {
			t.Errorf("ParseConfig(%v): no error", tc.knobs)
			continue
		}
		var ke *kit.KnobError
		if tc.knob == "" {
			if errors.As(err, &ke) {
				t.Errorf("ParseConfig(%v): %v: want an unknown-knob error", tc.knobs, err)
			}
		} else if !errors.As(err, &ke) || ke.Knob != tc.knob {
			t.Errorf("ParseConfig(%v): %v: want a *kit.KnobError for %s", tc.knobs, err, tc.knob)
		}
		if !strings.Contains(err.Error(), tc.text) {
			t.Errorf("ParseConfig(%v): %q does not say %q", tc.knobs, err, tc.text)
		}
	}
}

func TestNewWithBadConfigFailsServe(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Framing = "xml"
	if err := New(cfg, nil).Serve(context.Background(), kit.Listener{}); err == nil {
		t.Fatal("Serve with a bad Config: no error")
	}
	if err := New(DefaultConfig(), nil).Serve(context.Background(), kit.Listener{}); err == nil {
		t.Fatal("Serve without a stream listener: no error")
	}
}

func TestProtocol(t *testing.T) {
	if Protocol.Name != "chat" || Protocol.Network != "tcp" || Protocol.Port != 8000 {
		t.Fatalf("Protocol = %+v", Protocol)
	}
	if _, err := Protocol.New(map[string]string{"framing": "lines"}, kit.Discard()); err != nil {
		t.Fatal(err)
	}
	if _, err := Protocol.New(map[string]string{"nope": "1"}, kit.Discard()); err == nil {
		t.Fatal("unknown knob accepted")
	}
}

func TestTemplate(t *testing.T) {
	p := peer{ip: "127.0.0.2", port: "5000", nick: "ann"}
	for _, tc := range []struct{ format, msg, want string }{
		{"<{ip}> {msg}", "hi", "<127.0.0.2> hi"},
		{"{msg}", "hi", "hi"},
		{"{nick}@{ip}:{port} {msg}|{msg}", "x", "ann@127.0.0.2:5000 x|x"},
		{"no message", "x", "no message"},
		{"{} {a b} {msg} {", "m", "{} {a b} m {"},
		{"", "m", ""},
	} {
		tp, err := parseTemplate(tc.format)
		if err != nil {
			t.Fatalf("parseTemplate(%q): %v", tc.format, err)
		}
		f := tp.bind(p)
		got := f.appendRelay(nil, []byte(tc.msg))
		if string(got) != tc.want {
			t.Errorf("format %q with %q = %q, want %q", tc.format, tc.msg, got, tc.want)
		}
		if f.size(len(tc.msg)) != len(got) {
			t.Errorf("format %q: size %d, relay is %d bytes", tc.format, f.size(len(tc.msg)), len(got))
		}
	}
}

func TestParseJoin(t *testing.T) {
	steps, readsNick, err := parseJoin(` expect NICKNAME\n ;; send NICK {nick} please\r\n; expect a\;b\\ {nick}`)
	if err != nil || !readsNick || len(steps) != 3 {
		t.Fatalf("parseJoin: %d steps, readsNick %v, %v", len(steps), readsNick, err)
	}
	p := peer{nick: "zed"}
	if got := string(steps[0].prompt.render(p)); got != "NICKNAME\n" {
		t.Errorf("step 0 sends %q", got)
	}
	if s := steps[1]; s.sends() || s.prefix != "NICK " || s.suffix != " please" || !s.readsNick {
		t.Errorf("step 1 = %+v", s)
	}
	if got := string(steps[2].prompt.render(p)); got != `a;b\ zed` {
		t.Errorf("step 2 sends %q", got)
	}
	if steps, _, err := parseJoin(" ; "); err != nil || len(steps) != 0 {
		t.Errorf("empty script: %v, %v", steps, err)
	}
}
