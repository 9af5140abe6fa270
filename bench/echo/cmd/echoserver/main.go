// Command echoserver runs the reference echo server (servers/echo) alone in its own process,
// so that bench/echo can read its CPU time from /proc and compare it with the C yardstick.
//
// Usage: echoserver [-addr 127.0.0.1:0] [-buffer 64KiB] [-idle 5m] [-engine E] [-loops auto]
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
	"syscall"

	"github.com/sockspec/sockspec/servers/echo"
	"github.com/sockspec/sockspec/servers/kit"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	buffer := flag.String("buffer", "64KiB", "the echo server's buffer knob")
	idle := flag.String("idle", "5m", "the echo server's idle knob")
	engine := flag.String("engine", echo.DefaultEngine, "the echo server's engine knob: goroutines or epoll")
	loops := flag.String("loops", "auto", "the echo server's loops knob (engine=epoll)")
	flag.Parse()

	cfg, err := echo.ParseConfig(map[string]string{"buffer": *buffer, "idle": *idle, "engine": *engine, "loops": *loops})
	if err != nil {
		fmt.Fprintln(os.Stderr, "echoserver:", err)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "echoserver:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := kit.NewLogger(os.Stderr, false, slog.LevelWarn)
	if err := echo.New(cfg, log).Serve(ctx, kit.Listener{Stream: ln}); err != nil {
		fmt.Fprintln(os.Stderr, "echoserver:", err)
		os.Exit(1)
	}
}
