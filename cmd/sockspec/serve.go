package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/servers/registry"
)

// shutdownGrace bounds a graceful shutdown: SIGINT/SIGTERM must end the process within 2 s.
const shutdownGrace = 1500 * time.Millisecond

var serveCmd = &command{
	name:    "serve",
	summary: "run a reference server",
	usage: `Usage: sockspec serve PROTOCOL [--addr HOST:PORT] [--set knob=value ...] [--log-json] [--log-level LEVEL]

Runs the reference server of PROTOCOL until SIGINT or SIGTERM. Once it accepts, it prints
exactly one line "listening on ADDR" on stdout; logs go to stderr.

PROTOCOL is one of: ` + strings.Join(registry.Names(), ", ") + `.
--addr defaults to the seed's port on 127.0.0.1; port 0 picks a free port; IPv6 works
("[::1]:0"). Knobs are those of PROTOCOLS.md; "sockspec serve PROTOCOL --knobs" lists them.`,
}

func init() {
	serveCmd.run = runServe
	register(serveCmd)
}

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet(serveCmd, stderr)
	addr := fs.String("addr", "", "address to listen on (default: the seed's port on 127.0.0.1)")
	var sets multiFlag
	fs.Var(&sets, "set", "set a knob: knob=value (repeatable)")
	logJSON := fs.Bool("log-json", false, "write logs as JSON lines")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	listKnobs := fs.Bool("knobs", false, "list the protocol's knobs and exit")
	pos, status := parseFlags(fs, args)
	if status >= 0 {
		return status
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "sockspec serve: want exactly one PROTOCOL (one of %s)\n", strings.Join(registry.Names(), ", "))
		return exitUsage
	}
	proto, ok := registry.Lookup(pos[0])
	if !ok {
		fmt.Fprintf(stderr, "sockspec serve: unknown protocol %q (one of %s)\n", pos[0], strings.Join(registry.Names(), ", "))
		return exitUsage
	}
	if *listKnobs {
		printKnobs(stdout, proto)
		return exitOK
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "sockspec serve: --log-level %q: want debug, info, warn or error\n", *logLevel)
		return exitUsage
	}
	knobs, err := parseSets(sets)
	if err == nil {
		err = proto.CheckKnobs(knobs)
	}
	log := kit.NewLogger(stderr, *logJSON, level)
	var srv kit.Server
	if err == nil {
		srv, err = proto.New(knobs, log)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sockspec serve: %v\n", err)
		return exitUsage
	}
	if *addr == "" {
		*addr = proto.DefaultAddr()
	}

	l, bound, err := listen(proto.Network, *addr)
	if err != nil {
		fmt.Fprintf(stderr, "sockspec serve: %v\n", err)
		return exitUnreachable
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()

	out := bufio.NewWriter(stdout)
	fmt.Fprintf(out, "listening on %s\n", bound)
	out.Flush()
	log.Info("serving", "protocol", proto.Name, "addr", bound)

	select {
	case err = <-done: // the server stopped on its own: an error
	case <-ctx.Done():
		log.Info("shutting down")
		select {
		case err = <-done:
		case <-time.After(shutdownGrace):
			err = errors.New("shutdown took too long; exiting anyway")
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "sockspec serve: %v\n", err)
		return exitFail
	}
	return exitOK
}

// listen opens the listener the protocol needs and returns the bound address.
func listen(network, addr string) (kit.Listener, string, error) {
	if network == "udp" {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return kit.Listener{}, "", err
		}
		return kit.Listener{Packet: pc}, pc.LocalAddr().String(), nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return kit.Listener{}, "", err
	}
	return kit.Listener{Stream: ln}, ln.Addr().String(), nil
}

func printKnobs(w io.Writer, p kit.Protocol) {
	fmt.Fprintf(w, "%s (%s, seed port %d): %s\n", p.Name, p.Network, p.Port, p.Summary)
	for _, k := range p.Knobs {
		fmt.Fprintf(w, "  %-16s default %-28q %s\n", k.Name, k.Default, k.Help)
	}
}
