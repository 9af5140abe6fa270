package requirements

import (
	"regexp"
	"strings"
	"testing"

	"github.com/sockspec/sockspec/conformance/result"
)

// wellFormed is the shape of PROTOCOLS.md's IDs: upper-case words joined by dashes, then a
// number (GEN-START-1, DT-DT-2, HTTP-METHOD-1).
var wellFormed = regexp.MustCompile(`^[A-Z][A-Z0-9]*(-[A-Z][A-Z0-9]*)+-[1-9][0-9]*$`)

// prefix is each protocol's ID prefix.
var prefix = map[string]string{
	"chat": "CHAT-", "header64": "HDR-", "block32": "BLK-", "upper": "UP-", "echo": "ECHO-",
	"udp-upper": "UDP-", "udp-pong": "UDP-", "lookup": "LOOK-", "datetime": "DT-", "httptime": "HTTP-",
}

func TestEveryProtocolHasACatalogue(t *testing.T) {
	listed := map[string]bool{}
	for _, p := range Protocols() {
		listed[p] = true
		if len(byProtocol[p]) == 0 {
			t.Errorf("protocol %q has no requirements", p)
		}
		if _, ok := prefix[p]; !ok {
			t.Errorf("protocol %q has no ID prefix in this test", p)
		}
	}
	for p := range byProtocol {
		if !listed[p] {
			t.Errorf("protocol %q has a catalogue but is missing from Protocols()", p)
		}
	}
}

func TestIDsAreUniqueAndWellFormed(t *testing.T) {
	for _, p := range Protocols() {
		seen := map[string]bool{}
		for _, r := range For(p) {
			if !wellFormed.MatchString(r.ID) {
				t.Errorf("%s: ID %q is not of the form WORD-WORD-N", p, r.ID)
			}
			if !strings.HasPrefix(r.ID, "GEN-") && !strings.HasPrefix(r.ID, prefix[p]) {
				t.Errorf("%s: ID %q does not start with %q", p, r.ID, prefix[p])
			}
			if seen[r.ID] {
				t.Errorf("%s: ID %q is listed twice", p, r.ID)
			}
			seen[r.ID] = true
			switch r.Level {
			case result.Must, result.Should, result.Info:
			default:
				t.Errorf("%s: %s has level %q, want must, should or info", p, r.ID, r.Level)
			}
			if r.Text == "" || strings.ContainsAny(r.Text, "\r\n") {
				t.Errorf("%s: %s text %q must be one non-empty line", p, r.ID, r.Text)
			}
		}
	}
}

// TestIDsBelongToOneProtocol keeps Lookup unambiguous: an ID names one requirement, except the
// UDP-* IDs that udp-upper and udp-pong share, which must then be identical.
func TestIDsBelongToOneProtocol(t *testing.T) {
	owner := map[string]Requirement{}
	for _, p := range Protocols() {
		for _, r := range byProtocol[p] {
			if prev, ok := owner[r.ID]; ok && prev != r {
				t.Errorf("ID %q is defined differently in two places: %+v and %+v", r.ID, prev, r)
			}
			owner[r.ID] = r
			if got, ok := Lookup(r.ID); !ok || got != r {
				t.Errorf("Lookup(%q) = %+v, %v; want %+v", r.ID, got, ok, r)
			}
		}
	}
}

func TestUDPCatalogues(t *testing.T) {
	has := func(p, id string) bool {
		for _, r := range byProtocol[p] {
			if r.ID == id {
				return true
			}
		}
		return false
	}
	if !has("udp-upper", "UDP-UTF8-1") || has("udp-pong", "UDP-UTF8-1") {
		t.Errorf("UDP-UTF8-1 must apply to udp-upper only")
	}
	if len(byProtocol["udp-upper"]) != len(byProtocol["udp-pong"])+1 {
		t.Errorf("udp-upper should have exactly one requirement more than udp-pong")
	}
}

// Levels that PROTOCOLS.md mixes within one ID: the catalogue keeps the strongest.
func TestMixedLevelsKeepTheStrongest(t *testing.T) {
	want := map[string]result.Level{
		"HDR-BAD-1": result.Must, "HDR-BAD-2": result.Must, "BLK-BAD-2": result.Must,
		"BLK-UTF8-1": result.Must, "UP-UTF8-1": result.Must, "UP-CONC-1": result.Should,
		"UDP-UTF8-1": result.Must, "LOOK-UNK-1": result.Must, "HTTP-CL-1": result.Must,
	}
	for id, level := range want {
		r, ok := Lookup(id)
		if !ok || r.Level != level {
			t.Errorf("%s: level %q (found %v), want %q", id, r.Level, ok, level)
		}
	}
}
