// Package chat is the reference server of the PROTOCOLS.md "chat" protocol: the broadcast chat
// room of seed 000 (class C199). Every message a client sends is relayed, formatted per the
// profile, to every other client in the room, in one total order.
package chat

import (
	"fmt"
	"time"

	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/wire"
)

// Framings.
const (
	FramingRaw   = "raw"   // a message is whatever one read returned (the seed's recv(2048))
	FramingLines = "lines" // a message is a line ending in "\n"
)

// Defaults (the seed's behaviour).
const (
	DefaultWelcome     = "Welcome to this chatroom!"
	DefaultRelay       = "<{ip}> {msg}"
	DefaultMaxRaw      = wire.DefaultMaxChunk // bytes per read in raw framing
	DefaultMaxLine     = wire.DefaultMaxLine  // longest line in lines framing
	DefaultQueue       = 1 << 20
	DefaultJoinTimeout = 10 * time.Second
	DefaultSlowTimeout = time.Second
)

// Config holds the knobs, typed.
type Config struct {
	Framing string // FramingRaw or FramingLines
	// Welcome is sent as is (no newline added) before any relay; empty sends nothing.
	Welcome string
	// Relay formats each relayed message; fields {ip}, {port}, {nick}, {msg}.
	Relay string
	// MaxMessage is the read size in raw framing and the longest line (without its "\n") in
	// lines framing; 0 takes the framing's default (2048 / 64 KiB).
	MaxMessage int
	// Join is the script each client performs right after connecting, written from the
	// client's side ("expect NICKNAME; send {nick}\n"); empty for none.
	Join string
	// JoinTimeout bounds the whole join script; 0 for none.
	JoinTimeout time.Duration
	// Ignore is a checker-only knob (notices the oracle skips); the server ignores it.
	Ignore string
	// Queue bounds the bytes queued for one client (not yet taken by the kernel). Senders
	// wait while a receiver is over it; a receiver over it for SlowTimeout is dropped, so a
	// client that stops reading stalls the others for at most SlowTimeout.
	Queue       int
	SlowTimeout time.Duration
	// Idle closes a client that sent nothing for that long; 0 for never.
	Idle time.Duration
}

// DefaultConfig is the seed's behaviour.
func DefaultConfig() Config {
	return Config{
		Framing:     FramingRaw,
		Welcome:     DefaultWelcome,
		Relay:       DefaultRelay,
		JoinTimeout: DefaultJoinTimeout,
		Queue:       DefaultQueue,
		SlowTimeout: DefaultSlowTimeout,
	}
}

// MaxMessageBytes is MaxMessage with the framing's default applied.
func (c Config) MaxMessageBytes() int {
	switch {
	case c.MaxMessage > 0:
		return c.MaxMessage
	case c.Framing == FramingLines:
		return DefaultMaxLine
	}
	return DefaultMaxRaw
}

const maxMaxMessage = 16 << 20

var knobs = []kit.Knob{
	{Name: "framing", Default: FramingRaw, Help: "raw: a message is what one read returned (the seed's recv); lines: a message is a line ending in \\n"},
	{Name: "welcome", Default: DefaultWelcome, Help: "bytes sent to each client before any relay, as is (no newline added); empty for none"},
	{Name: "relay", Default: DefaultRelay, Help: "relay format; fields {ip} {port} {nick} {msg}; lines framing appends \\n"},
	{Name: "max_message", Default: "", Help: "raw: bytes per read (2048 when empty); lines: longest line without \\n (64KiB when empty)"},
	{Name: "join", Default: "", Help: `client-side script run after connecting, steps split by ';': "expect TEXT" (the server sends TEXT) or "send TEXT\n" (the server reads one line; {nick} in it is the nickname); escapes \n \r \t \\ \;`},
	{Name: "join_timeout", Default: DefaultJoinTimeout.String(), Help: "time allowed for the whole join script; 0 for none"},
	{Name: "ignore", Default: "", Help: "checker-only (server notices the oracle skips); the server ignores it"},
	{Name: "queue", Default: "1MiB", Help: "bytes queued for one client; while a client is over it, senders wait (flow control)"},
	{Name: "slow_timeout", Default: DefaultSlowTimeout.String(), Help: "a client over its queue this long has stopped reading and is dropped"},
	{Name: "idle", Default: "0", Help: "close a client that sent nothing for this long; 0 for never (silent listeners are normal in a chat room; TCP keepalive finds dead peers)"},
}

// knobSet is the knob list on its own (Protocol refers to ParseConfig, which must not refer
// back to Protocol).
var knobSet = kit.Protocol{Name: "chat", Knobs: knobs}

// Protocol describes the chat reference server.
var Protocol = kit.Protocol{
	Name:    "chat",
	Network: "tcp",
	Port:    8000,
	Summary: "broadcast chat room (seed 000, C199): relays each message to every other client",
	Knobs:   knobs,
	New:     kit.Constructor(ParseConfig, New),
}

// ParseConfig reads knob values; missing knobs take the seed's defaults.
func ParseConfig(k map[string]string) (Config, error) {
	if err := knobSet.CheckKnobs(k); err != nil {
		return Config{}, err
	}
	v := kit.NewValues(k)
	cfg := Config{
		Framing:     v.OneOf("framing", FramingRaw, FramingRaw, FramingLines),
		Welcome:     v.String("welcome", DefaultWelcome),
		Relay:       v.String("relay", DefaultRelay),
		Join:        v.String("join", ""),
		JoinTimeout: v.Duration("join_timeout", DefaultJoinTimeout),
		Ignore:      v.String("ignore", ""),
		Queue:       int(v.Int("queue", DefaultQueue, 1<<10, 1<<30)),
		SlowTimeout: v.Duration("slow_timeout", DefaultSlowTimeout),
		Idle:        v.Duration("idle", 0),
	}
	if s, ok := k["max_message"]; ok && s != "" {
		cfg.MaxMessage = int(v.Int("max_message", 0, 1, maxMaxMessage))
	}
	if v.Err != nil {
		return Config{}, v.Err
	}
	if _, err := cfg.compile(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// compiled is a Config turned into what the connection handlers use.
type compiled struct {
	relay template
	join  []joinStep
}

// compile checks the knobs that ParseConfig cannot check one by one.
func (c Config) compile() (compiled, error) {
	var out compiled
	if c.Framing != FramingRaw && c.Framing != FramingLines {
		return out, &kit.KnobError{Knob: "framing", Value: c.Framing, Want: "raw | lines"}
	}
	if c.MaxMessage < 0 || c.MaxMessage > maxMaxMessage {
		return out, &kit.KnobError{Knob: "max_message", Value: fmt.Sprint(c.MaxMessage), Want: fmt.Sprintf("1 to %d bytes", maxMaxMessage)}
	}
	if c.SlowTimeout <= 0 {
		return out, &kit.KnobError{Knob: "slow_timeout", Value: c.SlowTimeout.String(), Want: "a positive duration"}
	}
	if c.Queue <= 0 {
		return out, &kit.KnobError{Knob: "queue", Value: fmt.Sprint(c.Queue), Want: "a positive number of bytes"}
	}
	relay, err := parseTemplate(c.Relay)
	if err != nil {
		return out, &kit.KnobError{Knob: "relay", Value: c.Relay, Want: err.Error()}
	}
	join, readsNick, err := parseJoin(c.Join)
	if err != nil {
		return out, &kit.KnobError{Knob: "join", Value: c.Join, Want: err.Error()}
	}
	if relay.has(fieldNick) && !readsNick {
		return out, &kit.KnobError{Knob: "relay", Value: c.Relay, Want: `a join script that reads the nickname ("send {nick}\n") when the relay uses {nick}`}
	}
	out.relay, out.join = relay, join
	return out, nil
}
