package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sockspec/sockspec/clients/block32"
	"github.com/sockspec/sockspec/clients/chat"
	"github.com/sockspec/sockspec/clients/datetime"
	"github.com/sockspec/sockspec/clients/header64"
	httpclient "github.com/sockspec/sockspec/clients/http"
	"github.com/sockspec/sockspec/clients/lookup"
	"github.com/sockspec/sockspec/clients/ping"
	"github.com/sockspec/sockspec/clients/session"
	"github.com/sockspec/sockspec/clients/stream"
	"github.com/sockspec/sockspec/clients/udp"
)

// clientStdin is what interactive clients read; tests replace it.
var clientStdin io.Reader = os.Stdin

var clientCmd = &command{
	name:    "client",
	summary: "talk to a server as the reference client of a protocol",
	usage: `Usage: sockspec client PROTOCOL [--addr HOST:PORT] [flags] [ARG...]

Runs the reference client of PROTOCOL against a server: the known-good peer to try a server
with. --addr defaults to the seed's port on 127.0.0.1; IPv6 works ("[::1]:5050"), and a
bare port means 127.0.0.1. Every connect and every wait for the server is under a timeout.

Protocols:
` + clientProtocolList() + `
Run "sockspec client PROTOCOL -h" for its flags.

Exit status: 0 success; 1 the server failed (refused, closed early, sent a malformed or
oversized reply, timed out: one line on stderr says which); 2 usage error.`,
}

func init() {
	clientCmd.run = runClient
	register(clientCmd)
}

// clientRunner runs a configured client. args are the positional arguments.
type clientRunner func(ctx context.Context, addr string, args []string, stdout, stderr io.Writer) error

// clientProto is one protocol's client: its flags, registered by setup, which returns the
// runner that reads them after parsing.
type clientProto struct {
	name, args, summary string
	port                int
	setup               func(fs *flag.FlagSet) clientRunner
}

var clientProtos = []clientProto{
	{"chat", "", "chat room: stdin lines are sent, relays shown as they arrive; or --send/--expect", 8000, setupChatClient},
	{"header64", "[MESSAGE...]", "sends each message (or stdin line) with a 64-byte length header, then !DISCONNECT", 5050, setupHeader64Client},
	{"block32", "[MESSAGE...]", "sends each message (or stdin line) as a 4-byte length-prefixed block, prints each reply", 1241, setupBlock32Client},
	{"upper", "", "like netcat: stdin to the server, replies to stdout, half-close at the end of stdin", 1235, setupStreamClient},
	{"echo", "", "like netcat: stdin to the server, replies to stdout, half-close at the end of stdin", 8000, setupStreamClient},
	{"udp", "[MESSAGE...]", "udp-upper: sends each message (or stdin line) as a datagram, prints each reply", 1235, setupUDPClient},
	{"ping", "", "udp-pong: round trips and loss, in ping(8)'s words", 1234, setupPingClient},
	{"lookup", "[NAME...]", "address book: prints NAME OFFICE for each name (or stdin line)", 8084, setupLookupClient},
	{"datetime", "", "the exercise's interactive client (Date, Time, DateAndTime, -1 to exit); --ask for scripts", 8085, setupDatetimeClient},
	{"http", "[PATH|URL]", "GETs a path and prints the body; -i adds the status line and headers", 8080, setupHTTPClient},
}

func clientProtocolList() string {
	var b strings.Builder
	for _, p := range clientProtos {
		fmt.Fprintf(&b, "  %-9s %s\n", p.name, p.summary)
	}
	return b.String()
}

func clientNames() string {
	names := make([]string, len(clientProtos))
	for i, p := range clientProtos {
		names[i] = p.name
	}
	return strings.Join(names, ", ")
}

func runClient(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		fmt.Fprintln(stderr, strings.TrimSpace(clientCmd.usage))
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	var proto *clientProto
	for i := range clientProtos {
		if clientProtos[i].name == args[0] {
			proto = &clientProtos[i]
		}
	}
	if proto == nil {
		fmt.Fprintf(stderr, "sockspec client: unknown protocol %q (one of %s)\n", args[0], clientNames())
		return exitUsage
	}
	prefix := "sockspec client " + proto.name
	fs := flag.NewFlagSet(prefix, flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := fmt.Sprintf("127.0.0.1:%d", proto.port)
	addr := fs.String("addr", def, "server address HOST:PORT")
	runner := proto.setup(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s [flags] %s\n\n%s%s.\n\nFlags:\n", prefix, proto.args, strings.ToUpper(proto.summary[:1]), proto.summary[1:])
		fs.PrintDefaults()
	}
	pos, status := parseFlags(fs, args[1:])
	if status >= 0 {
		return status
	}
	if proto.args == "" && len(pos) > 0 {
		fmt.Fprintf(stderr, "%s: takes no arguments, got %q (see -h)\n", prefix, pos)
		return exitUsage
	}
	target, err := clientAddr(*addr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prefix, err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- runner(ctx, target, pos, stdout, stderr) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// Ctrl-C: clients end their session (ping prints its summary). One blocked reading
		// a terminal cannot be woken: leave without it after a moment.
		select {
		case err = <-done:
		case <-time.After(time.Second):
			err = context.Canceled
		}
	}
	var usage clientUsageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "%s: %v\n", prefix, err)
		return exitUsage
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "%s: interrupted\n", prefix)
		return exitFail
	}
	fmt.Fprintf(stderr, "%s: %s\n", prefix, oneLine(err.Error()))
	return exitFail
}

// clientUsageError is a flag value that the client itself rejects.
type clientUsageError struct{ error }

func clientUsage(format string, a ...any) error { return clientUsageError{fmt.Errorf(format, a...)} }

// clientAddr checks HOST:PORT; a bare port means 127.0.0.1.
func clientAddr(addr string) (string, error) {
	if _, err := strconv.ParseUint(addr, 10, 16); err == nil {
		return "127.0.0.1:" + addr, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || port == "" {
		return "", fmt.Errorf("--addr %q: want HOST:PORT, such as 127.0.0.1:5050 or [::1]:5050", addr)
	}
	return addr, nil
}

// oneLine keeps an error message on one line, whatever it quotes.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

// tcpTimeouts registers --timeout and --connect-timeout.
func tcpTimeouts(fs *flag.FlagSet) *session.Timeouts {
	t := &session.Timeouts{}
	fs.DurationVar(&t.IO, "timeout", 10*time.Second, "the longest wait for each reply, and for each send")
	fs.DurationVar(&t.Connect, "connect-timeout", 5*time.Second, "the longest wait for the connection")
	return t
}

// clientMessages returns the positional arguments, or nil (read stdin) when there are none.
func clientMessages(args []string) []string {
	if len(args) == 0 {
		return nil
	}
	return args
}

func setupChatClient(fs *flag.FlagSet) clientRunner {
	t := tcpTimeouts(fs)
	cfg := chat.DefaultConfig()
	var send multiFlag
	fs.StringVar(&cfg.Framing, "framing", cfg.Framing, "raw (a message is what one recv returns, the seed) or lines")
	fs.StringVar(&cfg.Welcome, "welcome", cfg.Welcome, "the welcome the server sends first; empty for none")
	fs.StringVar(&cfg.Relay, "relay", cfg.Relay, "the relay format ({ip} {port} {nick} {msg}), to count relays in raw framing")
	fs.StringVar(&cfg.Ignore, "ignore", "", "regular expression for server notices not counted as relays")
	fs.StringVar(&cfg.Join, "join", "", `join script run after connecting, e.g. "expect NICKNAME; send {nick}\n"`)
	fs.StringVar(&cfg.Nick, "nick", "", "the nickname for {nick} in --join")
	fs.Var(&send, "send", "send this message (repeatable), wait briefly for relays, and exit")
	fs.IntVar(&cfg.Expect, "expect", 0, "exit after this many relayed messages (1 when they do not come in time)")
	fs.DurationVar(&cfg.Linger, "linger", chat.DefaultLinger, "with --send and no --expect: how long to show relays before leaving")
	return func(ctx context.Context, addr string, args []string, stdout, stderr io.Writer) error {
		cfg.Addr, cfg.Timeouts, cfg.Send = addr, *t, send
		if cfg.Expect < 0 {
			return clientUsage("--expect %d: want 0 or more", cfg.Expect)
		}
		return chat.Run(ctx, cfg, clientStdin, stdout, stderr)
	}
}

func setupHeader64Client(fs *flag.FlagSet) clientRunner {
	t := tcpTimeouts(fs)
	cfg := header64.DefaultConfig()
	fs.IntVar(&cfg.HeaderSize, "header-size", cfg.HeaderSize, "header size in bytes")
	fs.StringVar(&cfg.Token, "token", cfg.Token, "the disconnect token sent last; empty to send none")
	fs.StringVar(&cfg.Reply, "reply", cfg.Reply, "what the server answers per message (unframed): none, ack or echo")
	fs.StringVar(&cfg.Ack, "ack", cfg.Ack, "the ack text in --reply ack (its length tells where a reply ends)")
	return func(ctx context.Context, addr string, args []string, stdout, stderr io.Writer) error {
		cfg.Addr, cfg.Timeouts, cfg.Messages = addr, *t, clientMessages(args)
		if cfg.HeaderSize < 1 || cfg.HeaderSize > 1024 {
			return clientUsage("--header-size %d: want 1 to 1024", cfg.HeaderSize)
		}
		if cfg.Reply != header64.ReplyNone && cfg.Reply != header64.ReplyAck && cfg.Reply != header64.ReplyEcho {
			return clientUsage("--reply %q: want none, ack or echo", cfg.Reply)
		}
		return header64.Run(ctx, cfg, clientStdin, stdout, stderr)
	}
}

func setupBlock32Client(fs *flag.FlagSet) clientRunner {
	t := tcpTimeouts(fs)
	cfg := block32.DefaultConfig()
	fs.StringVar(&cfg.PerConnection, "per-connection", cfg.PerConnection, "one block per connection (the seed) or many on one")
	fs.Int64Var(&cfg.MaxLength, "max-length", cfg.MaxLength, "the largest reply block accepted, in bytes")
	return func(ctx context.Context, addr string, args []string, stdout, stderr io.Writer) error {
		cfg.Addr, cfg.Timeouts, cfg.Messages = addr, *t, clientMessages(args)
		if cfg.PerConnection != block32.PerConnectionOne && cfg.PerConnection != block32.PerConnectionMany {
			return clientUsage("--per-connection %q: want one or many", cfg.PerConnection)
		}
		if cfg.MaxLength < 1 {
			return clientUsage("--max-length %d: want 1 or more", cfg.MaxLength)
		}
		return block32.Run(ctx, cfg, clientStdin, stdout, stderr)
	}
}

func setupStreamClient(fs *flag.FlagSet) clientRunner {
	t := tcpTimeouts(fs)
	return func(ctx context.Context, addr string, args []string, stdout, stderr io.Writer) error {
		return stream.Run(ctx, stream.Config{Addr: addr, Timeouts: *t}, clientStdin, stdout, stderr)
	}
}

func setupUDPClient(fs *flag.FlagSet) clientRunner {
	cfg := udp.DefaultConfig()
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "the longest wait for each reply")
	fs.IntVar(&cfg.Retries, "retries", cfg.Retries, "how many times a datagram without a reply is sent again")
	return func(ctx context.Context, addr string, args []string, stdout, stderr io.Writer) error {
		cfg.Addr, cfg.Messages = addr, clientMessages(args)
		if cfg.Retries < 0 || cfg.Timeout <= 0 {
			return clientUsage("want --retries 0 or more and a positive --timeout")
		}
		return udp.Run(ctx, cfg, clientStdin, stdout, stderr)
	}
}

func setupPingClient(fs *flag.FlagSet) clientRunner {
	cfg := ping.DefaultConfig()
	fs.IntVar(&cfg.Count, "c", cfg.Count, "how many probes to send")
	fs.DurationVar(&cfg.Interval, "i", cfg.Interval, "interval between probes")
	fs.DurationVar(&cfg.Timeout, "W", cfg.Timeout, "the longest wait for each reply; a later one counts as lost")
	fs.StringVar(&cfg.Payload, "payload", cfg.Payload, "the bytes of each probe")
	return func(ctx context.Context, addr string, args []string, stdout, stderr io.Writer) error {
		cfg.Addr = addr
		if cfg.Count < 1 || cfg.Count > 1_000_000 || cfg.Interval <= 0 || cfg.Timeout <= 0 || cfg.Payload == "" {
			return clientUsage("want -c from 1 to 1000000, a positive -i and -W, and a --payload")
		}
		_, err := ping.Run(ctx, cfg, stdout, stderr)
		return err
	}
}

func setupLookupClient(fs *flag.FlagSet) clientRunner {
	t := tcpTimeouts(fs)
	cfg := lookup.DefaultConfig()
	fs.StringVar(&cfg.PerConnection, "per-connection", cfg.PerConnection, "many requests on one connection (the seed) or one per connection (socketserver)")
	fs.DurationVar(&cfg.Settle, "settle", cfg.Settle, "a reply has no end marker: it ends at a newline, the server's close, or a pause this long")
	return func(ctx context.Context, addr string, args []string, stdout, stderr io.Writer) error {
		cfg.Addr, cfg.Timeouts, cfg.Names = addr, *t, clientMessages(args)
		if cfg.PerConnection != lookup.PerConnectionOne && cfg.PerConnection != lookup.PerConnectionMany {
			return clientUsage("--per-connection %q: want many or one", cfg.PerConnection)
		}
		return lookup.Run(ctx, cfg, clientStdin, stdout, stderr)
	}
}

func setupDatetimeClient(fs *flag.FlagSet) clientRunner {
	t := tcpTimeouts(fs)
	cfg := datetime.DefaultConfig()
	var ask multiFlag
	fs.Var(&ask, "ask", "send this option (repeatable) and print only the replies, for scripts")
	fs.DurationVar(&cfg.Settle, "settle", cfg.Settle, "a reply ends at the server's close, or after a pause this long")
	return func(ctx context.Context, addr string, args []string, stdout, stderr io.Writer) error {
		cfg.Addr, cfg.Timeouts = addr, *t
		if len(ask) > 0 {
			cfg.Ask = ask
		}
		return datetime.Run(ctx, cfg, clientStdin, stdout, stderr)
	}
}

func setupHTTPClient(fs *flag.FlagSet) clientRunner {
	t := tcpTimeouts(fs)
	cfg := httpclient.DefaultConfig()
	fs.BoolVar(&cfg.Head, "head", false, "send HEAD instead of GET (prints the status line and headers)")
	fs.BoolVar(&cfg.Include, "i", false, "print the status line and headers, as the server sent them, before the body")
	fs.BoolVar(&cfg.Include, "include", false, "same as -i")
	fs.Int64Var(&cfg.MaxBody, "max-body", cfg.MaxBody, "the longest body accepted, in bytes")
	return func(ctx context.Context, addr string, args []string, stdout, stderr io.Writer) error {
		if len(args) > 1 {
			return clientUsage("want at most one PATH or URL, got %q", args)
		}
		target := ""
		if len(args) == 1 {
			target = args[0]
		}
		a, path, err := httpclient.ParseTarget(target, addr)
		if err != nil {
			return clientUsage("%v", err)
		}
		cfg.Addr, cfg.Path, cfg.Timeouts = a, path, *t
		return httpclient.Run(ctx, cfg, stdout, stderr)
	}
}
