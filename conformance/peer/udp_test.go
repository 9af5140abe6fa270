package peer

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// udpServer answers each datagram with reply(datagram) (nothing when nil),
// and reports each sender address.
func udpServer(t *testing.T, reply func([]byte) []byte) (addr string, senders <-chan netip.AddrPort) {
	t.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	from := make(chan netip.AddrPort, 100)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 64*1024)
		for {
			n, a, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return // closed at cleanup
			}
			select {
			case from <- a:
			default:
			}
			if r := reply(buf[:n]); r != nil {
				_ = pc.SetWriteDeadline(time.Now().Add(time.Second))
				_, _ = pc.WriteToUDPAddrPort(r, a)
			}
		}
	}()
	t.Cleanup(func() {
		pc.Close()
		wg.Wait()
	})
	return pc.LocalAddr().String(), from
}

func TestUDPSendRecv(t *testing.T) {
	addr, senders := udpServer(t, bytes.ToUpper)
	p, err := DialUDP(context.Background(), addr, Name("pinger"), FromIP("127.0.0.7"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Send([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	data, from, err := p.Recv(2 * time.Second)
	if err != nil || string(data) != "HELLO" || from.String() != addr {
		t.Fatalf("Recv = %q from %v, %v; want \"HELLO\" from %s", data, from, err, addr)
	}
	if got := (<-senders).Addr().String(); got != "127.0.0.7" {
		t.Errorf("the server saw %s, want 127.0.0.7", got)
	}
	text := p.Transcript().String()
	for _, want := range []string{`pinger -> "hello"`, `pinger <- "HELLO"`} {
		if !strings.Contains(text, want) {
			t.Errorf("transcript lacks %q:\n%s", want, text)
		}
	}
}

func TestUDPRecvTimeout(t *testing.T) {
	addr, _ := udpServer(t, func([]byte) []byte { return nil })
	p, err := DialUDP(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.LocalAddr().Addr() != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("LocalAddr() = %v: want bound to loopback, not every interface", p.LocalAddr())
	}
	if err := p.Send([]byte("anyone?")); err != nil {
		t.Fatal(err)
	}
	_, _, err = p.Recv(100 * time.Millisecond)
	if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "no datagram from "+addr+" within 100ms") {
		t.Errorf("err = %v", err)
	}
}

func TestUDPLargestDatagram(t *testing.T) {
	addr, _ := udpServer(t, func(b []byte) []byte { return b })
	p, err := DialUDP(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	big := bytes.Repeat([]byte("u"), 65507)
	if err := p.Send(big); err != nil {
		t.Fatal(err)
	}
	data, _, err := p.Recv(2 * time.Second)
	if err != nil || len(data) != len(big) {
		t.Fatalf("Recv: %d bytes, %v; want %d", len(data), err, len(big))
	}
}
