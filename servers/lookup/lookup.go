// Package lookup is the reference server for the lookup protocol (seed 002): a client sends a
// name and gets that person's office back.
//
// A request ends at a newline, as `nc` sends it; the seed's client sends `John` with no newline
// and waits, so bytes without a newline also count as a request once no more arrive for a
// short settle time. The reply is the office (or the unknown text), followed by a newline
// only when the request ended with one.
package lookup

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sockspec/sockspec/servers/kit"
)

// Per-connection modes (the per_connection knob).
const (
	Many = "many" // the seed's first server: requests are answered until the client leaves
	One  = "one"  // the socketserver version: one request, one reply, close
)

// Config holds the knobs.
type Config struct {
	PerConnection string            // per_connection: Many or One
	Unknown       string            // unknown: the reply to a name not in the directory
	Directory     map[string]string // directory: NameKey(name) -> office
	DirectoryFile string            // where Directory was read from ("" = the seed's)
	Settle        time.Duration     // settle: how long bytes without a newline wait for more
	Idle          time.Duration     // idle: a client silent this long is closed (0: never)
	MaxLine       int               // max_line: a longer request closes the connection
}

// DefaultConfig returns the seed's behaviour.
func DefaultConfig() Config {
	return Config{
		PerConnection: Many,
		Unknown:       "UNKNOWN",
		Directory:     SeedDirectory(),
		Settle:        50 * time.Millisecond,
		Idle:          5 * time.Minute,
		MaxLine:       1024,
	}
}

var knobs = []kit.Knob{
	{Name: "per_connection", Default: Many, Help: "many: answer requests until the client leaves; one: one request, then close"},
	{Name: "unknown", Default: "UNKNOWN", Help: "the reply to a name that is not in the directory"},
	{Name: "directory", Default: "", Help: "address book file: CSV lines name,office or a JSON object {\"name\": \"office\"} (default: the seed's four names)"},
	{Name: "settle", Default: "50ms", Help: "bytes without a newline are a request once no more arrive for this long"},
	{Name: "idle", Default: "5m", Help: "close a client silent for this long (0: never)"},
	{Name: "max_line", Default: "1KiB", Help: "longest request; a longer one closes the connection"},
}

// Protocol is lookup (seed 002, port 8084).
var Protocol = kit.Protocol{
	Name:    "lookup",
	Network: "tcp",
	Port:    8084,
	Summary: "address book: a name in, that person's office out",
	Knobs:   knobs,
	New:     kit.Constructor(ParseConfig, New),
}

// ParseConfig reads knob values; missing knobs take the seed's defaults. An unknown knob name
// is an error listing the valid ones; a bad value (or an unreadable directory file) is a
// *kit.KnobError.
func ParseConfig(k map[string]string) (Config, error) {
	for name := range k {
		if !validKnob(name) {
			return Config{}, fmt.Errorf("lookup has no knob %q (knobs: %s)", name, knobNames())
		}
	}
	cfg := DefaultConfig()
	v := kit.NewValues(k)
	cfg.PerConnection = v.OneOf("per_connection", Many, Many, One)
	cfg.Unknown = v.String("unknown", cfg.Unknown)
	cfg.Settle = v.Duration("settle", cfg.Settle)
	cfg.Idle = v.Duration("idle", cfg.Idle)
	cfg.MaxLine = int(v.Int("max_line", int64(cfg.MaxLine), 1, 1<<20))
	if v.Err != nil {
		return Config{}, v.Err
	}
	if strings.ContainsAny(cfg.Unknown, "\r\n") {
		return Config{}, &kit.KnobError{Knob: "unknown", Value: cfg.Unknown, Want: "text without line breaks"}
	}
	if cfg.Settle <= 0 {
		return Config{}, &kit.KnobError{Knob: "settle", Value: k["settle"], Want: "a duration above zero, such as 50ms"}
	}
	if path := k["directory"]; path != "" {
		dir, err := LoadDirectory(path)
		if err != nil {
			return Config{}, &kit.KnobError{Knob: "directory", Value: path,
				Want: "a CSV (name,office lines) or JSON ({\"name\": \"office\"}) file: " + strings.TrimPrefix(err.Error(), path+": ")}
		}
		cfg.Directory, cfg.DirectoryFile = dir, path
	}
	return cfg, nil
}

func validKnob(name string) bool {
	for _, k := range knobs {
		if k.Name == name {
			return true
		}
	}
	return false
}

func knobNames() string {
	names := make([]string, len(knobs))
	for i, k := range knobs {
		names[i] = k.Name
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
