package chat

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/sockspec/sockspec/wire"
)

// maxJoinLine bounds a line a client sends during the join script (a nickname and the like).
const maxJoinLine = 1024

// joinStep is one step of the join script, seen from the server. The script is written from
// the client's side: the client's "expect X" is the server sending X, and the client's
// "send ...\n" is the server reading one line.
type joinStep struct {
	prompt template // the server sends this (nil for a read step)
	// A read step: the line must be prefix + nick + suffix (nick only when readsNick), or
	// exactly prefix + suffix.
	prefix, suffix string
	readsNick      bool
}

func (s joinStep) sends() bool { return s.prompt != nil }

// parseJoin parses a script such as `expect NICKNAME; send {nick}\n`. Steps are split by ';'
// and trimmed of spaces; escapes \n \r \t \\ \; work anywhere in a step's text.
func parseJoin(script string) (steps []joinStep, readsNick bool, err error) {
	for _, raw := range splitSteps(script) {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		verb, rest, _ := strings.Cut(raw, " ")
		text, err := unescape(strings.TrimLeft(rest, " "))
		if err != nil {
			return nil, false, fmt.Errorf("step %q: %v", raw, err)
		}
		t, err := parseTemplate(text)
		if err != nil {
			return nil, false, fmt.Errorf("step %q: %v", raw, err)
		}
		switch verb {
		case "expect":
			if text == "" {
				return nil, false, fmt.Errorf("step %q: expect needs the text the server sends", raw)
			}
			if t.has(fieldMsg) || t.has(fieldNick) && !readsNick {
				return nil, false, fmt.Errorf("step %q: only {ip}, {port} and an already sent {nick} can be expected", raw)
			}
			steps = append(steps, joinStep{prompt: t})
		case "send":
			step, err := readStep(text, t)
			if err != nil {
				return nil, false, fmt.Errorf("step %q: %v", raw, err)
			}
			if step.readsNick && readsNick {
				return nil, false, fmt.Errorf("step %q: the nickname is sent twice", raw)
			}
			readsNick = readsNick || step.readsNick
			steps = append(steps, step)
		default:
			return nil, false, fmt.Errorf("step %q: want \"expect TEXT\" or \"send TEXT\\n\"", raw)
		}
	}
	return steps, readsNick, nil
}

// readStep turns the client's "send TEXT\n" into the line the server reads.
func readStep(text string, t template) (joinStep, error) {
	body, ok := strings.CutSuffix(text, "\n")
	if !ok || strings.Contains(body, "\n") {
		return joinStep{}, errors.New(`the client must send exactly one line, ending in \n`)
	}
	body = strings.TrimSuffix(body, "\r") // lines are compared without their \r
	t, _ = parseTemplate(body)
	var step joinStep
	for _, s := range t {
		switch {
		case s.field == fieldLiteral && !step.readsNick:
			step.prefix += s.lit
		case s.field == fieldLiteral:
			step.suffix += s.lit
		case s.field == fieldNick && !step.readsNick:
			step.readsNick = true
		default:
			return joinStep{}, errors.New("a sent line may hold one {nick} and no other field")
		}
	}
	return step, nil
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
	if !strings.Contains(s, `\`) {
		return s, nil
	}
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

// joinError is a client that did not follow the join script (refused input).
type joinError struct {
	want string
	got  []byte
}

func (e *joinError) Error() string {
	return fmt.Sprintf("join: expected a line %s, got %s", e.want, wire.Quote(e.got, 80))
}

// runJoin performs the script on conn (the caller sets the deadline). It returns the nickname
// and the bytes the client sent after its last join line, which belong to the chat.
func runJoin(conn net.Conn, steps []joinStep, p peer) (nick string, rest []byte, err error) {
	var buf []byte // unread bytes after the last line
	for _, step := range steps {
		if step.sends() {
			if _, err := conn.Write(step.prompt.render(p)); err != nil {
				return "", nil, err
			}
			continue
		}
		var line []byte
		line, buf, err = readJoinLine(conn, buf)
		if err != nil {
			return "", nil, err
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		mid, ok := bytes.CutPrefix(line, []byte(step.prefix))
		if ok {
			mid, ok = bytes.CutSuffix(mid, []byte(step.suffix))
		}
		if !ok || !step.readsNick && len(mid) > 0 {
			want := fmt.Sprintf("%q", step.prefix+step.suffix)
			if step.readsNick {
				want = fmt.Sprintf("%q + nickname + %q", step.prefix, step.suffix)
			}
			return "", nil, &joinError{want: want, got: line}
		}
		if step.readsNick {
			p.nick = string(mid)
			nick = p.nick
		}
	}
	return nick, buf, nil
}

// readJoinLine returns the first line (without "\n") from buf and conn, and what follows it.
func readJoinLine(conn net.Conn, buf []byte) (line, rest []byte, err error) {
	for {
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			return buf[:i], buf[i+1:], nil
		}
		if len(buf) > maxJoinLine {
			return nil, nil, &joinError{want: fmt.Sprintf("of at most %d bytes", maxJoinLine), got: buf}
		}
		if cap(buf)-len(buf) < 512 {
			buf = append(make([]byte, 0, 2*maxJoinLine), buf...)
		}
		n, err := conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil && n == 0 {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, nil, err
		}
	}
}
