// Package requirements is the catalogue of PROTOCOLS.md's requirement IDs: level and a
// one-line text for each, per protocol. Specs are labelled with these IDs.
package requirements

import "github.com/sockspec/sockspec/conformance/result"

// Requirement is one requirement of PROTOCOLS.md.
type Requirement struct {
	ID string
	// Level is the strongest level of the ID. Some IDs have a SHOULD part and a MUST part
	// ("SHOULD: closes the connection; MUST: others are still served"): each part is its own
	// spec, labelled with the same ID and the part's level.
	Level      result.Level
	Text       string // one line
	LaunchOnly bool   // needs the server's process (CPU use, exit, descriptors)
}

// For returns the requirements that apply to protocol, GEN-* first, in PROTOCOLS.md order.
func For(protocol string) []Requirement {
	out := append([]Requirement(nil), general...)
	return append(out, byProtocol[protocol]...)
}

// Lookup finds a requirement by ID.
func Lookup(id string) (Requirement, bool) {
	for _, r := range general {
		if r.ID == id {
			return r, true
		}
	}
	for _, rs := range byProtocol {
		for _, r := range rs {
			if r.ID == id {
				return r, true
			}
		}
	}
	return Requirement{}, false
}

// Protocols lists the protocols with a catalogue, in PROTOCOLS.md order.
func Protocols() []string {
	return []string{"chat", "header64", "block32", "upper", "echo", "udp-upper", "udp-pong", "lookup", "datetime", "httptime"}
}

// byProtocol holds each protocol's own requirements; one file per protocol fills it.
var byProtocol = map[string][]Requirement{}
