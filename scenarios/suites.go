// Package scenarios holds the conformance specs, one file per protocol, each spec labelled with
// the PROTOCOLS.md requirement ID it checks. Grep a requirement ID here to find its spec.
package scenarios

import (
	"sort"

	"github.com/sockspec/sockspec/conformance/engine"
)

var suites = map[string]engine.Suite{}

func add(s engine.Suite) { suites[s.Protocol] = s }

// For returns the suite of a protocol.
func For(protocol string) (engine.Suite, bool) {
	s, ok := suites[protocol]
	return s, ok
}

// Protocols lists the protocols that have a suite, sorted.
func Protocols() []string {
	out := make([]string, 0, len(suites))
	for p := range suites {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
