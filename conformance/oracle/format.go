package oracle

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Identity is what a server knows about a client and may put into a relay.
type Identity struct {
	IP   string // source address as the server sees it, e.g. "127.0.0.2"
	Port int    // source port
	Nick string // nickname given during the join script, if any
}

type field uint8

const (
	literal field = iota
	fieldIP
	fieldPort
	fieldNick
)

type token struct {
	field field
	text  string // for literal tokens
}

// Format is a parsed relay template such as "<{ip}> {msg}", "{msg}" or
// "[{nick}] {msg}". The zero Format is "{msg}": the payload alone.
type Format struct {
	template string
	before   []token // what precedes {msg}
	after    []token // what follows {msg}
}

// ParseFormat parses a relay template. It must contain {msg} exactly once and
// may contain {ip}, {port} and {nick}; any other {name} is an error, so that a
// typo in a profile is caught rather than matched literally.
func ParseFormat(template string) (Format, error) {
	f := Format{template: template}
	seenMsg := false
	rest := template
	add := func(t token) {
		if seenMsg {
			f.after = append(f.after, t)
		} else {
			f.before = append(f.before, t)
		}
	}
	for rest != "" {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			add(token{text: rest})
			break
		}
		if open > 0 {
			add(token{text: rest[:open]})
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return Format{}, fmt.Errorf("relay format %q: unclosed %q", template, rest[open:])
		}
		name := rest[open+1 : open+end]
		switch name {
		case "ip":
			add(token{field: fieldIP})
		case "port":
			add(token{field: fieldPort})
		case "nick":
			add(token{field: fieldNick})
		case "msg":
			if seenMsg {
				return Format{}, fmt.Errorf("relay format %q: {msg} appears twice", template)
			}
			seenMsg = true
		default:
			return Format{}, fmt.Errorf("relay format %q: unknown field {%s} (known: {ip}, {port}, {nick}, {msg})", template, name)
		}
		rest = rest[open+end+1:]
	}
	if !seenMsg {
		return Format{}, errors.New("relay format " + strconv.Quote(template) + ": no {msg} field")
	}
	return f, nil
}

// MustParseFormat is ParseFormat for templates known to be valid; it panics
// otherwise.
func MustParseFormat(template string) Format {
	f, err := ParseFormat(template)
	if err != nil {
		panic(err)
	}
	return f
}

// String returns the template the format was parsed from.
func (f Format) String() string {
	if f.template == "" {
		return "{msg}"
	}
	return f.template
}

// Identifies reports whether the format names the sender ({ip}, {port} or
// {nick}), so that a relay can be attributed from its prefix alone.
func (f Format) Identifies() bool {
	return hasField(f.before) || hasField(f.after)
}

func hasField(toks []token) bool {
	for _, t := range toks {
		if t.field != literal {
			return true
		}
	}
	return false
}

// Render returns the relay of msg from the client id exactly as the server
// should produce it: prefix, msg, suffix. With Lines framing pass the payload
// without its newline and append "\n" to the result.
func (f Format) Render(id Identity, msg []byte) []byte {
	out := f.Prefix(id)
	out = append(out, msg...)
	return appendTokens(out, f.after, id)
}

// Prefix is the part of id's relays before the payload.
func (f Format) Prefix(id Identity) []byte { return appendTokens(nil, f.before, id) }

// Suffix is the part of id's relays after the payload (usually empty).
func (f Format) Suffix(id Identity) []byte { return appendTokens(nil, f.after, id) }

func appendTokens(out []byte, toks []token, id Identity) []byte {
	for _, t := range toks {
		switch t.field {
		case literal:
			out = append(out, t.text...)
		case fieldIP:
			out = append(out, id.IP...)
		case fieldPort:
			out = strconv.AppendInt(out, int64(id.Port), 10)
		case fieldNick:
			out = append(out, id.Nick...)
		}
	}
	return out
}
