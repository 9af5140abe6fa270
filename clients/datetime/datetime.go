// Package datetime is the reference client of the date and time service (PROTOCOLS.md
// "datetime", the exercise of seed 002). Interactive, it behaves exactly like the exercise's
// example client: it prompts, opens one connection per request, prints the reply, and ends
// at -1. Scripted (Ask), it prints only the replies.
package datetime

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sockspec/sockspec/clients/internal/stdinlines"
	"github.com/sockspec/sockspec/clients/session"
)

// Prompt is the exercise's prompt, typo included ("DataAndTime").
const Prompt = "Please provide an input (Date, Time, DataAndTime or -1 to exit): "

// Quit is the input that ends the interactive client.
const Quit = "-1"

// maxReply bounds a reply.
const maxReply = 64 << 10

// Config is a datetime run.
type Config struct {
	Addr     string
	Timeouts session.Timeouts
	// A reply ends when the server closes (the exercise's server does), or after a pause of
	// Settle once bytes have come; 0 means 200 ms.
	Settle time.Duration
	// Ask, when not nil, is the scripted mode: each option is one request, and only the
	// replies are printed, one per line; stdin is not read.
	Ask []string
}

// DefaultConfig is the exercise's client on the seed's port.
func DefaultConfig() Config {
	return Config{Addr: "127.0.0.1:8085", Settle: 200 * time.Millisecond}
}

// Run runs the client. Interactive, it ends with nil at -1 or at the end of stdin.
func Run(ctx context.Context, cfg Config, stdin io.Reader, stdout, stderr io.Writer) error {
	if cfg.Settle <= 0 {
		cfg.Settle = 200 * time.Millisecond
	}
	if cfg.Ask != nil {
		for _, opt := range cfg.Ask {
			reply, err := request(ctx, cfg, opt, nil)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s\n", reply)
		}
		return nil
	}
	fmt.Fprintln(stdout, "Starting Client")
	lines := stdinlines.New(stdin)
	for {
		fmt.Fprint(stdout, Prompt)
		line, err := lines.Next()
		if err == io.EOF {
			fmt.Fprintln(stdout)
			return nil
		}
		if err != nil {
			return err
		}
		opt := strings.TrimSpace(string(line))
		if opt == Quit {
			return nil
		}
		if opt == "" {
			continue // an empty send is no request at all
		}
		reply, err := request(ctx, cfg, opt, stdout)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Received from server: %s\n", reply)
		fmt.Fprintln(stdout, "Closing socket")
	}
}

// request sends one option on its own connection and returns the reply without its
// trailing newline. With talk set it narrates as the exercise's client does.
func request(ctx context.Context, cfg Config, opt string, talk io.Writer) ([]byte, error) {
	conn, err := session.Dial(ctx, cfg.Addr, cfg.Timeouts)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if talk != nil {
		fmt.Fprintln(talk, "Connected to server")
		fmt.Fprintln(talk, "Sending data")
	}
	q := strconv.Quote(opt)
	if err := conn.Send([]byte(opt), "the request "+q); err != nil {
		return nil, err
	}
	reply, _, err := conn.ReadReply(maxReply, cfg.Settle, "the reply to "+q)
	if err != nil {
		return nil, err
	}
	return bytes.TrimRight(reply, "\r\n"), nil
}
