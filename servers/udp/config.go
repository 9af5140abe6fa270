// Package udp is the reference server for the two datagram protocols of seed 004: udp-upper
// (each datagram comes back upper-cased) and udp-pong (each datagram is answered with PONG).
//
// Every datagram gets exactly one reply, sent to its source from the address it was sent to.
// There is no per-client state, so memory is bounded by the readers' buffers alone.
package udp

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/wire"
)

// Mode says which of the two protocols a server speaks.
type Mode int

const (
	// Upper answers each datagram with its upper-cased form (udp-upper).
	Upper Mode = iota
	// Pong answers each datagram with a fixed reply (udp-pong).
	Pong
)

func (m Mode) String() string {
	if m == Pong {
		return "udp-pong"
	}
	return "udp-upper"
}

// MaxUDPPayload is the largest UDP payload (65535 minus the 8-byte UDP header; over IPv4 the
// IP header makes it 65507). No datagram is larger, so a buffer this size never truncates.
const MaxUDPPayload = 65535 - 8

// Config holds the knobs of either protocol.
type Config struct {
	Mode Mode
	// MaxDatagram (max_datagram): a longer datagram is cut to this many bytes before it is
	// answered, as the seed's recvfrom(2048) does.
	MaxDatagram int
	// Case (case, udp-upper only): the upper-casing rule.
	Case wire.Case
	// Reply (reply, udp-pong only): the bytes sent back for every datagram.
	Reply string
	// Readers (readers): goroutines reading the one socket; all reply from it.
	Readers int
	// Batch (batch): datagrams read and answered per system call (recvmmsg/sendmmsg, Linux);
	// 1 reads one at a time. Capped so that a reader's buffers stay within 1 MiB.
	Batch int
}

// DefaultConfig returns the seed's behaviour for mode m.
func DefaultConfig(m Mode) Config {
	return Config{Mode: m, MaxDatagram: 2048, Case: wire.Unicode, Reply: "PONG", Readers: 1, Batch: 32}
}

var upperKnobs = []kit.Knob{
	{Name: "max_datagram", Default: "2048", Help: "longer datagrams are truncated to this many bytes before the reply (1 to 64KiB; 64KiB means none is ever cut)"},
	{Name: "case", Default: "unicode", Help: "upper-casing rule: unicode (as Python's str.upper) or ascii (a-z only)"},
	{Name: "readers", Default: "1", Help: "goroutines reading the socket (1 to 64)"},
	{Name: "batch", Default: "32", Help: "datagrams read and answered per system call (recvmmsg/sendmmsg); 1 = one at a time"},
}

var pongKnobs = []kit.Knob{
	{Name: "max_datagram", Default: "2048", Help: "longer datagrams are truncated to this many bytes (1 to 64KiB; 64KiB means none is ever cut)"},
	{Name: "reply", Default: "PONG", Help: "the reply sent for every datagram"},
	{Name: "readers", Default: "1", Help: "goroutines reading the socket (1 to 64)"},
	{Name: "batch", Default: "32", Help: "datagrams read and answered per system call (recvmmsg/sendmmsg); 1 = one at a time"},
}

// UpperProtocol is udp-upper: each datagram comes back upper-cased (seed 004, port 1235).
var UpperProtocol = kit.Protocol{
	Name:    "udp-upper",
	Network: "udp",
	Port:    1235,
	Summary: "UDP upper-casing server: one upper-cased reply per datagram",
	Knobs:   upperKnobs,
	New: func(knobs map[string]string, log *slog.Logger) (kit.Server, error) {
		cfg, err := ParseConfig(Upper, knobs)
		if err != nil {
			return nil, err
		}
		return New(cfg, log), nil
	},
}

// PongProtocol is udp-pong, the "TTL estimator": each datagram is answered with PONG (seed
// 004, port 1234).
var PongProtocol = kit.Protocol{
	Name:    "udp-pong",
	Network: "udp",
	Port:    1234,
	Summary: "UDP ping target: replies PONG to every datagram",
	Knobs:   pongKnobs,
	New: func(knobs map[string]string, log *slog.Logger) (kit.Server, error) {
		cfg, err := ParseConfig(Pong, knobs)
		if err != nil {
			return nil, err
		}
		return New(cfg, log), nil
	},
}

// ParseConfig reads knob values for mode m; missing knobs take the seed's defaults. An unknown
// knob name is an error listing the valid ones; a bad value is a *kit.KnobError.
func ParseConfig(m Mode, knobs map[string]string) (Config, error) {
	valid := upperKnobs
	if m == Pong {
		valid = pongKnobs
	}
	if err := checkNames(m, valid, knobs); err != nil {
		return Config{}, err
	}
	cfg := DefaultConfig(m)
	v := kit.NewValues(knobs)
	cfg.MaxDatagram = int(min(v.Int("max_datagram", int64(cfg.MaxDatagram), 1, 64<<10), MaxUDPPayload))
	cfg.Readers = int(v.Int("readers", int64(cfg.Readers), 1, 64))
	cfg.Batch = int(v.Int("batch", int64(cfg.Batch), 1, 1024))
	if m == Upper {
		c := v.OneOf("case", "unicode", "unicode", "ascii")
		cfg.Case, _ = wire.ParseCase(c)
	} else {
		cfg.Reply = v.String("reply", cfg.Reply)
		if len(cfg.Reply) > MaxUDPPayload && v.Err == nil {
			v.Err = &kit.KnobError{Knob: "reply", Value: cfg.Reply[:32] + "...", Want: fmt.Sprintf("at most %d bytes", MaxUDPPayload)}
		}
	}
	if v.Err != nil {
		return Config{}, v.Err
	}
	return cfg, nil
}

func checkNames(m Mode, valid []kit.Knob, knobs map[string]string) error {
	for name := range knobs {
		found := false
		for _, k := range valid {
			found = found || k.Name == name
		}
		if !found {
			names := make([]string, len(valid))
			for i, k := range valid {
				names[i] = k.Name
			}
			sort.Strings(names)
			return fmt.Errorf("%s has no knob %q (knobs: %s)", m, name, strings.Join(names, ", "))
		}
	}
	return nil
}
