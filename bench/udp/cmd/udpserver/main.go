// Command udpserver runs the reference udp-upper (or udp-pong) server of servers/udp as a
// process of its own, so the benchmark in bench/udp can measure its CPU apart from the load
// generator's. It prints "listening on ADDR" once the socket is bound and serves until SIGINT or
// SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/servers/udp"
)

func main() {
	fs := flag.NewFlagSet("udpserver", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "address to bind")
	protocol := fs.String("protocol", "udp-upper", "udp-upper or udp-pong")
	var knobs knobFlags
	fs.Var(&knobs, "set", "knob=value (repeatable)")
	fs.Parse(os.Args[1:])

	p := udp.UpperProtocol
	if *protocol == udp.PongProtocol.Name {
		p = udp.PongProtocol
	}
	log := kit.NewLogger(os.Stderr, false, slog.LevelWarn)
	srv, err := p.New(knobs, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "udpserver:", err)
		os.Exit(2)
	}
	pc, err := net.ListenPacket("udp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "udpserver:", err)
		os.Exit(3)
	}
	fmt.Printf("listening on %s\n", pc.LocalAddr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := srv.Serve(ctx, kit.Listener{Packet: pc}); err != nil {
		fmt.Fprintln(os.Stderr, "udpserver:", err)
		os.Exit(1)
	}
}

// knobFlags collects -set knob=value.
type knobFlags map[string]string

func (k *knobFlags) String() string { return fmt.Sprint(map[string]string(*k)) }

func (k *knobFlags) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("want knob=value, got %q", s)
	}
	if *k == nil {
		*k = knobFlags{}
	}
	(*k)[name] = value
	return nil
}
