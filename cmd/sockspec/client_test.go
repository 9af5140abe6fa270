package main

import (
	"bytes"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// clientTestTCP serves handle on 127.0.0.1:0 until the test ends.
func clientTestTCP(t *testing.T, handle func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				handle(c)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// clientTestRun runs `sockspec ARGS...` with stdin and returns the status and outputs.
func clientTestRun(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	old := clientStdin
	clientStdin = strings.NewReader(stdin)
	defer func() { clientStdin = old }()
	var out, errOut bytes.Buffer
	status := run(args, &out, &errOut)
	return status, out.String(), errOut.String()
}

func TestClientUsage(t *testing.T) {
	for _, c := range []struct {
		args   []string
		status int
		says   string
	}{
		{[]string{"client"}, exitUsage, "header64  sends each message"},
		{[]string{"client", "-h"}, exitOK, "Usage: sockspec client PROTOCOL"},
		{[]string{"client", "gopher"}, exitUsage, `unknown protocol "gopher" (one of chat, header64, block32, upper, echo, udp, ping, lookup, datetime, http)`},
		{[]string{"client", "header64", "-h"}, exitOK, "-header-size int"},
		{[]string{"client", "header64", "--bogus"}, exitUsage, "flag provided but not defined: -bogus"},
		{[]string{"client", "echo", "extra"}, exitUsage, `takes no arguments, got ["extra"]`},
		{[]string{"client", "header64", "--addr", "nowhere", "x"}, exitUsage, `--addr "nowhere": want HOST:PORT`},
		{[]string{"client", "header64", "--reply", "maybe", "x"}, exitUsage, `--reply "maybe": want none, ack or echo`},
		{[]string{"client", "ping", "-c", "0"}, exitUsage, "want -c from 1 to 1000000"},
		{[]string{"client", "http", "ftp://x/"}, exitUsage, "want a path such as /time"},
	} {
		status, _, errOut := clientTestRun(t, "", c.args...)
		if status != c.status || !strings.Contains(errOut, c.says) {
			t.Errorf("sockspec %s: status %d, stderr %q; want %d and %q", strings.Join(c.args, " "), status, errOut, c.status, c.says)
		}
	}
}

func TestClientRefusedIsOneLine(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, proto := range []string{"chat", "header64", "block32", "upper", "echo", "lookup", "http"} {
		args := []string{"client", proto, "--addr", addr, "--connect-timeout", "1s"}
		if proto == "chat" {
			args = append(args, "--send", "x")
		}
		status, _, errOut := clientTestRun(t, "x\n", args...)
		want := "sockspec client " + proto + ": connect to " + addr + ": connection refused (is a server listening there?)\n"
		if status != exitFail || errOut != want {
			t.Errorf("%s: status %d, stderr %q; want 1 and %q", proto, status, errOut, want)
		}
	}
	status, _, errOut := clientTestRun(t, "", "client", "datetime", "--addr", addr, "--ask", "Date")
	if status != exitFail || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "connection refused") {
		t.Errorf("datetime: status %d, stderr %q", status, errOut)
	}
}

func TestClientHeader64FromStdin(t *testing.T) {
	got := make(chan []byte, 1)
	addr := clientTestTCP(t, func(c net.Conn) {
		b, _ := io.ReadAll(io.LimitReader(c, 1<<20)) // until the client closes after the token
		got <- b
	})
	_, port, _ := net.SplitHostPort(addr)
	status, out, errOut := clientTestRun(t, "Hi\n", "client", "header64", "--addr", port, "--timeout", "200ms")
	// The server reads until the client closes, so it never closes first: the client says so.
	if status != exitFail || !strings.Contains(errOut, "did not close the connection within 200ms after the disconnect token") {
		t.Errorf("status %d, stdout %q, stderr %q", status, out, errOut)
	}
	want := "2" + strings.Repeat(" ", 63) + "Hi" + "11" + strings.Repeat(" ", 62) + "!DISCONNECT"
	if b := <-got; string(b) != want {
		t.Errorf("server got %q, want %q", b, want)
	}
}

func TestClientBlock32(t *testing.T) {
	addr := clientTestTCP(t, func(c net.Conn) {
		buf := make([]byte, 6)
		if _, err := io.ReadFull(c, buf); err == nil {
			c.Write(append([]byte{0, 0, 0, 2}, bytes.ToUpper(buf[4:])...))
		}
	})
	status, out, errOut := clientTestRun(t, "", "client", "block32", "--addr", addr, "hi")
	if status != exitOK || out != "HI\n" || errOut != "" {
		t.Errorf("status %d, stdout %q, stderr %q", status, out, errOut)
	}
}

func TestClientUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(bytes.ToUpper(buf[:n]), from)
		}
	})
	defer func() { pc.Close(); wg.Wait() }()
	status, out, errOut := clientTestRun(t, "", "client", "udp", "--addr", pc.LocalAddr().String(), "--timeout", "1s", "hello")
	if status != exitOK || out != "HELLO\n" {
		t.Errorf("udp: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	status, out, errOut = clientTestRun(t, "", "client", "ping", "--addr", pc.LocalAddr().String(), "-c", "2", "-i", "1ms", "-W", "1s")
	if status != exitOK || !strings.Contains(out, "2 packets transmitted, 2 received, 0% packet loss") {
		t.Errorf("ping: status %d, stdout %q, stderr %q", status, out, errOut)
	}
}
