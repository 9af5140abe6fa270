// Package profile holds the knobs of PROTOCOLS.md in which student variants legitimately
// differ (welcome text, relay format, reply mode, ...), their seed defaults, the built-in named
// profiles, YAML profile files and `--set` overrides.
package profile

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Knob is one knob of a protocol, with the seed's value as default.
type Knob struct {
	Name    string
	Default string
	Help    string
}

// Profile is the effective set of knob values for one protocol.
type Profile struct {
	Protocol string
	Name     string // "default", a built-in name, or the file it came from
	Values   map[string]string
}

// Knobs returns the knobs of a protocol, or false when it has none registered.
func Knobs(protocol string) ([]Knob, bool) {
	k, ok := knobs[protocol]
	return k, ok
}

// Default returns the seed's profile of a protocol.
func Default(protocol string) (Profile, error) {
	defs, ok := knobs[protocol]
	if !ok {
		return Profile{}, fmt.Errorf("unknown protocol %q", protocol)
	}
	p := Profile{Protocol: protocol, Name: "default", Values: map[string]string{}}
	for _, k := range defs {
		p.Values[k.Name] = k.Default
	}
	return p, nil
}

// file is the YAML form of a profile file:
//
//	protocol: chat
//	name: nicknames
//	knobs:
//	  framing: lines
//	  relay: "[{nick}] {msg}"
type file struct {
	Protocol string            `yaml:"protocol"`
	Name     string            `yaml:"name"`
	Knobs    map[string]string `yaml:"knobs"`
}

// Load builds the effective profile: the seed defaults, then the named built-in profile or
// profile file (when source is not empty), then the --set overrides.
func Load(protocol, source string, sets map[string]string) (Profile, error) {
	p, err := Default(protocol)
	if err != nil {
		return p, err
	}
	if source != "" {
		values, name, err := read(protocol, source)
		if err != nil {
			return p, err
		}
		p.Name = name
		if err := p.apply(values, "profile "+source); err != nil {
			return p, err
		}
	}
	if err := p.apply(sets, "--set"); err != nil {
		return p, err
	}
	return p, nil
}

func read(protocol, source string) (map[string]string, string, error) {
	if b, ok := builtins[protocol][source]; ok {
		return b, source, nil
	}
	data, err := os.ReadFile(source)
	if err != nil {
		names := make([]string, 0)
		for n := range builtins[protocol] {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, "", fmt.Errorf("profile %q is neither a built-in profile of %s (%s) nor a readable file: %v",
			source, protocol, strings.Join(names, ", "), err)
	}
	var f file
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, "", fmt.Errorf("profile file %s: %v (want protocol:, name: and a knobs: map)", source, err)
	}
	if f.Protocol != "" && f.Protocol != protocol {
		return nil, "", fmt.Errorf("profile file %s is for protocol %q, not %q", source, f.Protocol, protocol)
	}
	name := f.Name
	if name == "" {
		name = source
	}
	return f.Knobs, name, nil
}

func (p *Profile) apply(values map[string]string, from string) error {
	for k, v := range values {
		if _, ok := p.Values[k]; !ok {
			return fmt.Errorf("%s: %s has no knob %q (knobs: %s)", from, p.Protocol, k, strings.Join(p.Names(), ", "))
		}
		p.Values[k] = v
	}
	return p.validate()
}

// Names returns the knob names, sorted.
func (p Profile) Names() []string {
	names := make([]string, 0, len(p.Values))
	for k := range p.Values {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Get returns a knob's value.
func (p Profile) Get(name string) string { return p.Values[name] }

// Size returns a knob as a byte count ("2048", "64KiB", "1MiB"); def when empty.
func (p Profile) Size(name string, def int64) int64 {
	n, err := ParseSize(p.Values[name])
	if err != nil || p.Values[name] == "" {
		return def
	}
	return n
}

// Duration returns a knob as a duration; def when empty.
func (p Profile) Duration(name string, def time.Duration) time.Duration {
	d, err := time.ParseDuration(p.Values[name])
	if err != nil {
		return def
	}
	return d
}

// ParseSize reads "2048", "64KiB", "1MiB".
func ParseSize(s string) (int64, error) {
	mult := int64(1)
	for _, suf := range []struct {
		s string
		m int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if strings.HasSuffix(s, suf.s) {
			s, mult = strings.TrimSuffix(s, suf.s), suf.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a byte count (e.g. 2048, 64KiB, 1MiB)", s)
	}
	return n * mult, nil
}

// String renders the profile as YAML, the form a profile file takes.
func (p Profile) String() string {
	out, _ := yaml.Marshal(file{Protocol: p.Protocol, Name: p.Name, Knobs: p.Values})
	return string(out)
}
