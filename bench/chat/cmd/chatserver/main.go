// Command chatserver runs the reference chat server (servers/chat) alone in its own process, so
// that bench/chat can measure relay latency with the load generator in another process and read
// the server's CPU time from /proc.
//
// Usage: chatserver [-addr 127.0.0.1:0] [-set knob=value ...] [-cpuprofile FILE]
//
// It prints "listening on ADDR" on stdout once it accepts, and serves until SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/sockspec/sockspec/servers/chat"
	"github.com/sockspec/sockspec/servers/kit"
)

func main() {
	fs := flag.NewFlagSet("chatserver", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	knobs := knobFlags{}
	fs.Var(knobs, "set", "chat knob=value (repeatable), e.g. -set framing=lines")
	fs.Parse(os.Args[1:])

	cfg, err := chat.ParseConfig(knobs)
	if err != nil {
		fail(2, err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fail(1, err)
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fail(1, err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(1, err)
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Printf("listening on %s\n", ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := kit.NewLogger(os.Stderr, false, slog.LevelWarn)
	if err := chat.New(cfg, log).Serve(ctx, kit.Listener{Stream: ln}); err != nil {
		fmt.Fprintln(os.Stderr, "chatserver:", err)
	}
}

func fail(code int, err error) {
	fmt.Fprintln(os.Stderr, "chatserver:", err)
	os.Exit(code)
}

// knobFlags collects -set knob=value.
type knobFlags map[string]string

func (k knobFlags) String() string { return fmt.Sprint(map[string]string(k)) }

func (k knobFlags) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("want knob=value, got %q", s)
	}
	k[name] = value
	return nil
}
