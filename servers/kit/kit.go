// Package kit holds what every reference server shares: the protocol descriptor the CLI and
// the conformance engine use to start a server, the TCP accept loop with its concurrency
// models, idle deadlines, and logging.
package kit

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strings"
)

// Knob is one profile knob of PROTOCOLS.md that a server takes (same name, seed default).
type Knob struct {
	Name    string
	Default string
	Help    string
}

// Server is a configured reference server. It serves until ctx ends, then stops accepting,
// closes its clients, waits for its goroutines and returns nil.
type Server interface {
	// Serve serves a stream listener (TCP protocols) or a packet conn (UDP protocols); the
	// Protocol's Network says which one is given.
	Serve(ctx context.Context, l Listener) error
}

// Listener is what a server is given: exactly one of the two fields is set.
type Listener struct {
	Stream net.Listener
	Packet net.PacketConn
}

// Protocol describes one protocol's reference server.
type Protocol struct {
	Name    string // exactly as in PROTOCOLS.md: chat, header64, ...
	Network string // "tcp" or "udp"
	Port    int    // the seed's port
	Summary string
	Knobs   []Knob
	// New builds a server from knob values (name -> value); missing knobs take defaults.
	New func(knobs map[string]string, log *slog.Logger) (Server, error)
}

// DefaultAddr is the seed's address on the IPv4 loopback.
func (p Protocol) DefaultAddr() string { return fmt.Sprintf("127.0.0.1:%d", p.Port) }

// CheckKnobs reports an unknown knob name, listing the valid ones.
func (p Protocol) CheckKnobs(knobs map[string]string) error {
	for name := range knobs {
		if !p.hasKnob(name) {
			return fmt.Errorf("%s has no knob %q (knobs: %s)", p.Name, name, p.knobNames())
		}
	}
	return nil
}

func (p Protocol) hasKnob(name string) bool {
	for _, k := range p.Knobs {
		if k.Name == name {
			return true
		}
	}
	return false
}

func (p Protocol) knobNames() string {
	names := make([]string, 0, len(p.Knobs))
	for _, k := range p.Knobs {
		names = append(names, k.Name)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// KnobError is returned for a knob value that does not parse.
type KnobError struct {
	Knob, Value, Want string
}

func (e *KnobError) Error() string {
	return fmt.Sprintf("knob %s=%q: want %s", e.Knob, e.Value, e.Want)
}

// Constructor makes a Protocol's New from a package's ParseConfig and New.
func Constructor[C any, S Server](parse func(map[string]string) (C, error), build func(C, *slog.Logger) S) func(map[string]string, *slog.Logger) (Server, error) {
	return func(knobs map[string]string, log *slog.Logger) (Server, error) {
		cfg, err := parse(knobs)
		if err != nil {
			return nil, err
		}
		return build(cfg, log), nil
	}
}
