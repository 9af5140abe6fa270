package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for sockspec when re-executed with SOCKSPEC_AS_MAIN,
// so that serve is tested as a real process (signals, stdout, exit status).
func TestMain(m *testing.M) {
	if os.Getenv("SOCKSPEC_AS_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// startServe runs `sockspec serve args...` and returns it with the address it printed.
func startServe(t *testing.T, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), "SOCKSPEC_AS_MAIN=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		addr, ok := strings.CutPrefix(strings.TrimSpace(s), "listening on ")
		if !ok {
			t.Fatalf("first line %q, want \"listening on ADDR\"", s)
		}
		return cmd, addr
	case <-time.After(10 * time.Second):
		t.Fatal("no \"listening on\" line within 10 s")
	}
	return nil, ""
}

func TestServeEveryProtocolAndStopOnSIGTERM(t *testing.T) {
	for _, proto := range []string{"chat", "header64", "block32", "upper", "echo", "udp-upper", "udp-pong", "lookup", "datetime", "httptime"} {
		t.Run(proto, func(t *testing.T) {
			cmd, addr := startServe(t, proto, "--addr", "127.0.0.1:0")
			network := "tcp"
			if strings.HasPrefix(proto, "udp") {
				network = "udp"
			}
			c, err := net.DialTimeout(network, addr, 2*time.Second)
			if err != nil {
				t.Fatalf("%s: %v", addr, err)
			}
			c.Close()
			start := time.Now()
			cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("exit after SIGTERM: %v", err)
				}
				if d := time.Since(start); d > 2*time.Second {
					t.Errorf("took %v to stop, want under 2 s", d)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("still running 3 s after SIGTERM")
			}
		})
	}
}

func TestServeIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback here")
	}
	ln.Close()
	_, addr := startServe(t, "echo", "--addr", "[::1]:0")
	if !strings.HasPrefix(addr, "[::1]:") {
		t.Fatalf("listening on %s, want [::1]:PORT", addr)
	}
}

func TestServeUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"serve"},
		{"serve", "nosuch"},
		{"serve", "chat", "--set", "nosuch=1"},
		{"serve", "chat", "--set", "framing=words"},
		{"serve", "chat", "--bogus"},
		{"serve", "chat", "--log-level", "loud"},
	} {
		code, _, errOut := runCLI(t, args...)
		if code != 2 || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, errOut)
		}
	}
	if code, _, _ := runCLI(t, "nosuchcommand"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
	code, out, _ := runCLI(t, "help", "serve")
	if code != 0 || !strings.Contains(out, "listening on") {
		t.Errorf("help serve: %d %q", code, out)
	}
	code, out, _ = runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(out, "sockspec ") {
		t.Errorf("version: %d %q", code, out)
	}
}
