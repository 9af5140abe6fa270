package faulty

import (
	"context"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockspec/sockspec/servers/kit"
)

// Every broken UDP server answers a plain datagram (somehow), and stops cleanly: its
// goroutines end and its extra sockets close when the context ends.
func TestUDPServersServeAndStop(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for bug := range UDPBugs {
		for _, protocol := range []string{"udp-upper", "udp-pong"} {
			t.Run(protocol+"/"+bug, func(t *testing.T) {
				s, err := NewUDP(protocol, bug)
				if err != nil {
					t.Fatal(err)
				}
				pc, err := net.ListenPacket("udp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- s.Serve(ctx, kit.Listener{Packet: pc}) }()

				c, err := net.ListenPacket("udp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(2 * time.Second))
				if _, err := c.WriteTo([]byte("hello"), pc.LocalAddr()); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 64)
				n, _, err := c.ReadFrom(buf)
				want := "HELLO"
				if protocol == "udp-pong" {
					want = "PONG"
				}
				if err != nil || string(buf[:n]) != want {
					t.Errorf("reply %q (%v), want %q", buf[:n], err, want)
				}
				cancel()
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("Serve: %v", err)
					}
				case <-time.After(2 * time.Second):
					t.Fatal("Serve did not return within 2 s of the end of its context")
				}
			})
		}
	}
}

func TestNewUDPRejectsUnknownNames(t *testing.T) {
	if _, err := NewUDP("udp-upper", "no-such-bug"); err == nil {
		t.Error("an unknown bug was accepted")
	}
	if _, err := NewUDP("chat", "replies-twice"); err == nil {
		t.Error("a protocol other than udp-upper and udp-pong was accepted")
	}
}
