// Package lookup is the reference client of the address book (PROTOCOLS.md "lookup", seed
// 002): each name is one request, the reply is that person's office, and the client prints
// "NAME OFFICE". By default all requests share one connection (the seed's first server);
// per connection "one" opens one per name (the socketserver version).
package lookup

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/sockspec/sockspec/clients/internal/stdinlines"
	"github.com/sockspec/sockspec/clients/session"
)

// Per-connection modes (the server's `per_connection` knob).
const (
	PerConnectionMany = "many"
	PerConnectionOne  = "one"
)

// DefaultSettle is how long a reply may pause before it counts as complete (see Config).
const DefaultSettle = 50 * time.Millisecond

// maxReply bounds a reply (the seed reads with recv(1024)).
const maxReply = 64 << 10

// Config is a lookup run.
type Config struct {
	Addr          string
	Timeouts      session.Timeouts
	PerConnection string // PerConnectionMany (default) or PerConnectionOne
	// The protocol has no framing: a reply ends with a newline, the server's close, or a
	// pause of Settle after its first byte (0 means DefaultSettle).
	Settle time.Duration
	// Names are looked up in order; when nil, each stdin line is one name.
	Names []string
}

// DefaultConfig is the seed's client on the seed's port.
func DefaultConfig() Config {
	return Config{Addr: "127.0.0.1:8084", PerConnection: PerConnectionMany, Settle: DefaultSettle}
}

// Run looks up each name and prints "NAME OFFICE" per name. The name is sent as it is, with
// no newline (as the seed's client does); a trailing newline in the reply is dropped.
func Run(ctx context.Context, cfg Config, stdin io.Reader, stdout, stderr io.Writer) error {
	switch cfg.PerConnection {
	case "":
		cfg.PerConnection = PerConnectionMany
	case PerConnectionOne, PerConnectionMany:
	default:
		return fmt.Errorf("per-connection must be one or many, not %q", cfg.PerConnection)
	}
	if cfg.Settle <= 0 {
		cfg.Settle = DefaultSettle
	}
	var conn *session.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	return stdinlines.Each(cfg.Names, stdin, func(name []byte) error {
		if len(name) == 0 {
			return nil // nothing to send: an empty send is no request at all
		}
		if conn == nil {
			var err error
			if conn, err = session.Dial(ctx, cfg.Addr, cfg.Timeouts); err != nil {
				return err
			}
		}
		q := strconv.Quote(string(name))
		if err := conn.Send(name, "the name "+q); err != nil {
			return err
		}
		reply, closed, err := conn.ReadReply(maxReply, cfg.Settle, "the office of "+q)
		if err != nil {
			return err
		}
		reply = bytes.TrimRight(reply, "\r\n")
		fmt.Fprintf(stdout, "%s %s\n", name, reply)
		if closed || cfg.PerConnection == PerConnectionOne {
			conn.Close()
			conn = nil
		}
		return nil
	})
}
