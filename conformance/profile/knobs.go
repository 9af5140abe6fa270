package profile

import (
	"fmt"
	"regexp"
	"slices"
)

// knobs are the knobs of PROTOCOLS.md, with the seed's values as defaults.
var knobs = map[string][]Knob{
	"chat": {
		{"framing", "raw", "raw (a message is whatever one recv returned) or lines"},
		{"welcome", "Welcome to this chatroom!", "text each client receives first; empty for none"},
		{"relay", "<{ip}> {msg}", "relay format with {ip}, {port}, {nick}, {msg}"},
		{"max_message", "", "largest message in bytes (empty: raw 2048, lines 64KiB)"},
		{"join", "", "script each client runs after connecting, e.g. `expect NICKNAME; send {nick}\\n`"},
		{"ignore", "", "regular expression for server notices that are not relays"},
	},
	"header64": {
		{"header_size", "64", "header size in bytes"},
		{"token", "!DISCONNECT", "the message that ends a session"},
		{"reply", "none", "none, ack or echo"},
		{"ack", "Msg received", "the reply text in ack mode"},
		{"max_length", "1MiB", "largest body length the server must accept"},
	},
	"block32": {
		{"per_connection", "one", "one block per connection (seed) or many"},
		{"case", "unicode", "unicode (as Python's str.upper) or ascii"},
		{"max_length", "16MiB", "largest block the server must accept"},
	},
	"upper": {
		{"mode", "stream", "stream (answer each chunk) or once (one read, one reply, close)"},
		{"case", "unicode", "unicode (as Python's str.upper) or ascii"},
	},
	"echo":      {},
	"udp-upper": {{"max_datagram", "2048", "largest datagram answered in full"}, {"case", "unicode", "unicode or ascii"}},
	"udp-pong":  {{"max_datagram", "2048", "largest datagram answered"}, {"reply", "PONG", "the reply to every datagram"}},
	"lookup": {
		{"per_connection", "many", "many requests per connection (seed's first server) or one (socketserver)"},
		{"unknown", "UNKNOWN", "the reply for an unknown name"},
		{"directory", "", "a CSV (name,office) or JSON file; empty for the seed's directory"},
	},
	"datetime": {},
	"httptime": {},
}

// builtins are named profiles: the seed variants as knob values.
var builtins = map[string]map[string]map[string]string{
	"chat": {
		"c199":  {},
		"lines": {"framing": "lines"},
	},
	"header64": {"seed": {}, "ack": {"reply": "ack"}, "echo": {"reply": "echo"}},
	"upper":    {"seed": {}, "once": {"mode": "once"}},
	"lookup":   {"seed": {}, "socketserver": {"per_connection": "one"}},
}

var choices = map[string][]string{
	"framing":        {"raw", "lines"},
	"reply":          {"none", "ack", "echo"},
	"per_connection": {"one", "many"},
	"case":           {"unicode", "ascii"},
	"mode":           {"stream", "once"},
}

func (p *Profile) validate() error {
	for name, v := range p.Values {
		if allowed, ok := choices[name]; ok && !(p.Protocol == "udp-pong" && name == "reply") {
			if !slices.Contains(allowed, v) {
				return fmt.Errorf("knob %s=%q: want one of %v", name, v, allowed)
			}
		}
		switch name {
		case "max_message", "max_length", "max_datagram", "header_size":
			if v != "" {
				if _, err := ParseSize(v); err != nil {
					return fmt.Errorf("knob %s: %v", name, err)
				}
			}
		case "ignore":
			if _, err := regexp.Compile(v); err != nil {
				return fmt.Errorf("knob ignore: %v", err)
			}
		}
	}
	return nil
}
