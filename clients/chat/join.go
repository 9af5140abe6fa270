package chat

import (
	"errors"
	"fmt"
	"strings"
)

// Step is one step of a join script: the client waits until the server has sent Text
// (Expect), or sends Text (Send). {nick}, {ip} and {port} in Text are the client's nickname,
// local IP and local port.
type Step struct {
	Expect bool
	Text   string
}

// ParseJoin parses a join script as PROTOCOLS.md writes it: steps split by ';', each
// "expect TEXT" or "send TEXT", with escapes \n \r \t \\ \; anywhere in the text. Example:
// `expect NICKNAME; send {nick}\n`.
func ParseJoin(script string) ([]Step, error) {
	var steps []Step
	for _, raw := range splitSteps(script) {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		verb, rest, _ := strings.Cut(raw, " ")
		text, err := unescape(strings.TrimLeft(rest, " "))
		if err != nil {
			return nil, fmt.Errorf("join step %q: %v", raw, err)
		}
		switch verb {
		case "expect":
			if text == "" {
				return nil, fmt.Errorf("join step %q: expect needs the text the server sends", raw)
			}
			steps = append(steps, Step{Expect: true, Text: text})
		case "send":
			steps = append(steps, Step{Text: text})
		default:
			return nil, fmt.Errorf(`join step %q: want "expect TEXT" or "send TEXT"`, raw)
		}
	}
	return steps, nil
}

// usesNick reports whether a script needs a nickname.
func usesNick(steps []Step) bool {
	for _, s := range steps {
		if strings.Contains(s.Text, "{nick}") {
			return true
		}
	}
	return false
}

// splitSteps splits on ';' not escaped by a backslash, keeping the escapes.
func splitSteps(s string) []string {
	var steps []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case ';':
			steps = append(steps, s[start:i])
			start = i + 1
		}
	}
	return append(steps, s[start:])
}

func unescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		i++
		if i == len(s) {
			return "", errors.New(`a lone \ at the end`)
		}
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '\\', ';':
			b.WriteByte(s[i])
		default:
			return "", fmt.Errorf(`unknown escape \%c (known: \n \r \t \\ \;)`, s[i])
		}
	}
	return b.String(), nil
}
