package scenarios

import (
	"strings"
	"testing"

	"github.com/sockspec/sockspec/conformance/result"
	"github.com/sockspec/sockspec/servers/chat"
	"github.com/sockspec/sockspec/servers/faulty"
	"github.com/sockspec/sockspec/servers/kit"
)

func referenceChat(t *testing.T, knobs map[string]string) func() kit.Server {
	return func() kit.Server {
		srv, err := chat.Protocol.New(knobs, kit.Discard())
		if err != nil {
			t.Fatal(err)
		}
		return srv
	}
}

// The positive control: the reference server passes every chat requirement.
func TestChatReferencePasses(t *testing.T) {
	r := runSuite(t, "chat", inProcess("reference chat", "tcp", referenceChat(t, nil)), "", nil)
	expectClean(t, r)
	for _, id := range []string{"CHAT-RELAY-1", "CHAT-CONC-1", "GEN-IDLE-1", "GEN-ALIVE-1"} {
		expectVerdict(t, r, id, result.Pass)
	}
	expectVerdict(t, r, "CHAT-LAT-1", result.InfoOnly)
}

func TestChatReferencePassesInLinesFraming(t *testing.T) {
	sets := map[string]string{"framing": "lines"}
	r := runSuite(t, "chat", inProcess("reference chat", "tcp", referenceChat(t, sets)), "!CHAT-LAT-1", sets)
	expectClean(t, r)
}

// The negative controls: each broken server is caught by the requirement it breaks.
func TestChatFaultyServersAreCaught(t *testing.T) {
	cases := []struct {
		bug  string
		ids  []string
		sets map[string]string
	}{
		{bug: "wrong-welcome", ids: []string{"CHAT-WELCOME-1"}},
		{bug: "echoes-sender", ids: []string{"CHAT-RELAY-2"}},
		{bug: "duplicates", ids: []string{"CHAT-RELAY-3"}},
		{bug: "loses-concurrent", ids: []string{"CHAT-CONC-1"}},
		{bug: "reorders", ids: []string{"CHAT-ORDER-1"}},
		{bug: "per-receiver-order", ids: []string{"CHAT-ORDER-2"}},
		{bug: "drops-non-utf8", ids: []string{"CHAT-UTF8-1"}},
		{bug: "blocking-broadcast", ids: []string{"CHAT-SLOW-1"}},
		{bug: "keeps-departed", ids: []string{"CHAT-LEAVE-3", "GEN-LEAK-1"}},
		{bug: "forgets-departed", ids: []string{"CHAT-LEAVE-1", "CHAT-LEAVE-2"}},
		{bug: "wrong-format", ids: []string{"CHAT-RELAY-1"}},
		{bug: "drops-small-reads", ids: []string{"CHAT-FRAME-1"}},
		{bug: "truncates", ids: []string{"CHAT-FRAME-3"}},
		{bug: "busy-loop", ids: []string{"GEN-IDLE-1"}},
		{bug: "crashes-bad-input", ids: []string{"GEN-BAD-1", "GEN-ALIVE-1"}},
		{bug: "handshake-accept", ids: []string{"CHAT-JOIN-1"}, sets: map[string]string{"join": `expect NICKNAME; send {nick}\n`}},
	}
	for _, tc := range cases {
		t.Run(tc.bug, func(t *testing.T) {
			starter := inProcess("faulty chat: "+tc.bug, "tcp", func() kit.Server {
				s, err := faulty.NewChat(tc.bug)
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
			r := runSuite(t, "chat", starter, labelsOf(tc.ids), tc.sets)
			for _, id := range tc.ids {
				expectVerdict(t, r, id, result.Fail, result.NonStrict)
			}
		})
	}
}

// The rapid state machine catches a broken server and shrinks the session to a few actions.
func TestChatMachineShrinksAFailure(t *testing.T) {
	starter := inProcess("faulty chat: echoes-sender", "tcp", func() kit.Server {
		s, _ := faulty.NewChat("echoes-sender")
		return s
	})
	r := runSuite(t, "chat", starter, "CHAT-RELAY-3 && rapid", nil)
	expectVerdict(t, r, "CHAT-RELAY-3", result.Fail)
	res := r.Find("CHAT-RELAY-3")
	if !strings.Contains(res.Transcript, "CHAT-RELAY-2 violated") {
		t.Errorf("the shrunk failure should name CHAT-RELAY-2; transcript:\n%s", res.Transcript)
	}
	if sends := strings.Count(res.Transcript, " sends "); sends == 0 || sends > 4 {
		t.Errorf("want a short shrunk session (1-4 sends), got %d:\n%s", sends, res.Transcript)
	}
}

// Launch-only controls on real processes: a busy loop and a crash, in Python.
func TestChatPythonControls(t *testing.T) {
	t.Run("busy loop", func(t *testing.T) {
		r := runSuite(t, "chat", python(t, "chat/busy.py"), "GEN-IDLE-1", nil)
		expectVerdict(t, r, "GEN-IDLE-1", result.Fail)
	})
	t.Run("crash on bad input", func(t *testing.T) {
		r := runSuite(t, "chat", python(t, "chat/crash.py"), "GEN-BAD-1 || CHAT-RELAY-1", nil)
		expectVerdict(t, r, "GEN-ALIVE-1", result.Fail)
		expectVerdict(t, r, "GEN-BAD-1", result.Fail)
		expectVerdict(t, r, "CHAT-RELAY-1", result.Pass)
		if msg := r.Find("GEN-BAD-1").Message; !strings.Contains(msg, "crashed while running GEN-BAD-1") || !strings.Contains(msg, "UnicodeDecodeError") {
			t.Errorf("want the crash and the server's last output in the message, got:\n%s", msg)
		}
	})
	t.Run("careful student server", func(t *testing.T) {
		r := runSuite(t, "chat", python(t, "chat/good.py"), "must && !CHAT-LAT-1", nil)
		expectClean(t, r)
	})
}

func labelsOf(ids []string) string {
	out := ""
	for i, id := range ids {
		if i > 0 {
			out += " || "
		}
		out += id
	}
	return out
}

// The nickname variant: a join script and a relay format that names the sender by nick.
func TestChatReferencePassesWithNicknames(t *testing.T) {
	sets := map[string]string{"framing": "lines", "join": `expect NICKNAME; send {nick}\n`, "relay": "[{nick}] {msg}", "welcome": ""}
	knobs := map[string]string{"framing": "lines", "join": `expect NICKNAME; send {nick}\n`, "relay": "[{nick}] {msg}", "welcome": ""}
	r := runSuite(t, "chat", inProcess("reference chat", "tcp", referenceChat(t, knobs)), "!CHAT-LAT-1 && !rapid", sets)
	expectClean(t, r)
	expectVerdict(t, r, "CHAT-WELCOME-1", result.Skipped)
}
