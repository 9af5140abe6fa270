package chat

import (
	"fmt"
	"strings"
)

type field int

const (
	fieldLiteral field = iota
	fieldIP
	fieldPort
	fieldNick
	fieldMsg
)

var fieldNames = map[string]field{"ip": fieldIP, "port": fieldPort, "nick": fieldNick, "msg": fieldMsg}

type segment struct {
	field field
	lit   string // for fieldLiteral
}

// template is a parsed format such as "<{ip}> {msg}".
type template []segment

// parseTemplate splits s into literals and {field}s. A brace pair around a word that is not a
// known field is an error (a typo such as {nickname} would otherwise be relayed literally);
// other braces are literal text.
func parseTemplate(s string) (template, error) {
	var t template
	lit := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '{' {
			continue
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		name := s[i+1 : i+j]
		if !isWord(name) {
			continue
		}
		f, ok := fieldNames[name]
		if !ok {
			return nil, fmt.Errorf("fields {ip} {port} {nick} {msg} only, not {%s}", name)
		}
		if lit < i {
			t = append(t, segment{lit: s[lit:i]})
		}
		t = append(t, segment{field: f})
		i += j
		lit = i + 1
	}
	if lit < len(s) {
		t = append(t, segment{lit: s[lit:]})
	}
	return t, nil
}

func isWord(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

func (t template) has(f field) bool {
	for _, s := range t {
		if s.field == f {
			return true
		}
	}
	return false
}

// peer is what a template knows of one client.
type peer struct{ ip, port, nick string }

// bind renders every field except {msg} for one client, once per connection, so that each
// relay costs only a few appends.
func (t template) bind(p peer) relayFormat {
	f := relayFormat{lits: [][]byte{nil}}
	for _, s := range t {
		last := &f.lits[len(f.lits)-1]
		switch s.field {
		case fieldLiteral:
			*last = append(*last, s.lit...)
		case fieldIP:
			*last = append(*last, p.ip...)
		case fieldPort:
			*last = append(*last, p.port...)
		case fieldNick:
			*last = append(*last, p.nick...)
		case fieldMsg:
			f.lits = append(f.lits, nil)
		}
	}
	for _, l := range f.lits {
		f.fixed += len(l)
	}
	return f
}

// render formats a template that has no {msg} (join prompts).
func (t template) render(p peer) []byte { return t.bind(p).lits[0] }

// relayFormat is a bound template: lits[0] msg lits[1] msg ... lits[n].
type relayFormat struct {
	lits  [][]byte
	fixed int // total length of lits
}

// size is the length of the relay of an n-byte message.
func (f relayFormat) size(n int) int { return f.fixed + n*(len(f.lits)-1) }

func (f relayFormat) appendRelay(dst, msg []byte) []byte {
	dst = append(dst, f.lits[0]...)
	for _, l := range f.lits[1:] {
		dst = append(dst, msg...)
		dst = append(dst, l...)
	}
	return dst
}
