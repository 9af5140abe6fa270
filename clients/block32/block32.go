// Package block32 is the reference client of the 4-byte length-prefixed protocol
// (PROTOCOLS.md "block32", seed 004's recvall and Struct('!I')): each message goes out as an
// unsigned 32-bit big-endian length and its bytes, and the reply block is printed.
package block32

import (
	"context"
	"fmt"
	"io"

	"github.com/sockspec/sockspec/clients/internal/stdinlines"
	"github.com/sockspec/sockspec/clients/session"
	"github.com/sockspec/sockspec/wire"
)

// Per-connection modes (the server's `per_connection` knob).
const (
	PerConnectionOne  = "one"  // one block per connection, as the seed's server
	PerConnectionMany = "many" // every block on one connection
)

// Config is a block32 run.
type Config struct {
	Addr          string
	Timeouts      session.Timeouts
	PerConnection string // PerConnectionOne (default) or PerConnectionMany
	MaxLength     int64  // the largest reply accepted; 0 means 16 MiB
	// Messages are sent in order; when nil, each stdin line is one message.
	Messages []string
}

// DefaultConfig is the seed's client on the seed's port.
func DefaultConfig() Config {
	return Config{Addr: "127.0.0.1:1241", PerConnection: PerConnectionOne, MaxLength: wire.DefaultMaxBlock}
}

// Run sends each message as a block and prints each reply block on its own line.
func Run(ctx context.Context, cfg Config, stdin io.Reader, stdout, stderr io.Writer) error {
	switch cfg.PerConnection {
	case "":
		cfg.PerConnection = PerConnectionOne
	case PerConnectionOne, PerConnectionMany:
	default:
		return fmt.Errorf("per-connection must be one or many, not %q", cfg.PerConnection)
	}
	var (
		conn *session.Conn
		dec  *wire.BlockDecoder
		n    int
	)
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	return stdinlines.Each(cfg.Messages, stdin, func(msg []byte) error {
		n++
		if conn == nil {
			var err error
			if conn, err = session.Dial(ctx, cfg.Addr, cfg.Timeouts); err != nil {
				return err
			}
			dec = &wire.BlockDecoder{Max: cfg.MaxLength}
		}
		what := session.Describe(n, msg)
		if err := conn.Send(wire.AppendBlock(nil, msg), what); err != nil {
			return err
		}
		reply, err := conn.ReadMessage(dec, "the reply block to "+what)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", reply)
		if cfg.PerConnection == PerConnectionOne {
			conn.Close()
			conn = nil
		}
		return nil
	})
}
