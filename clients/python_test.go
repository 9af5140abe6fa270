package clients_test

// The reference clients against real Python processes that behave like the seeds' servers:
// each fixture below is a small Python program written to a temporary directory, started
// on a free loopback port, and killed (with its process group) and reaped at the end.

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockspec/sockspec/clients/header64"
	"github.com/sockspec/sockspec/clients/internal/fakeserver"
	"github.com/sockspec/sockspec/clients/lookup"
	"github.com/sockspec/sockspec/clients/ping"
	"github.com/sockspec/sockspec/clients/session"
)

// pyHeader64 is seed 001's server, with whole reads (the seed's single recv can come short):
// a 64-byte header holding the length, then the message; !DISCONNECT ends the session. With
// "ack" it sends "Msg received" after every message, as the tutorial's variant does.
const pyHeader64 = `
import socket, sys, threading
HEADER, FORMAT, DISCONNECT = 64, 'utf-8', '!DISCONNECT'
ack = len(sys.argv) > 1 and sys.argv[1] == 'ack'

def recv_exactly(conn, n):
    data = b''
    while len(data) < n:
        part = conn.recv(n - len(data))
        if not part:
            return None
        data += part
    return data

def handle(conn, addr):
    with conn:
        while True:
            header = recv_exactly(conn, HEADER)
            if header is None:
                break
            msg = recv_exactly(conn, int(header.decode(FORMAT)))
            if msg is None:
                break
            msg = msg.decode(FORMAT)
            print('MSG', repr(msg), flush=True)
            if ack:
                conn.send('Msg received'.encode(FORMAT))
            if msg == DISCONNECT:
                break
    print('CLOSED', flush=True)

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(('127.0.0.1', 0))
server.listen()
print('READY', server.getsockname()[1], flush=True)
while True:
    conn, addr = server.accept()
    threading.Thread(target=handle, args=(conn, addr), daemon=True).start()
`

// pyLookup is seed 002's address book: "many" is the first server (one connection, a recv
// per request), "one" the socketserver version (one request per connection).
const pyLookup = `
import socket, socketserver, sys
addresses = {'JOHN': 'C45', 'DENISE': 'C44', 'PHOEBE': 'D52', 'ADAM': 'B23'}

class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        data = self.request.recv(1024).decode()
        self.request.sendall(addresses[str(data).upper()].encode())

if sys.argv[1] == 'one':
    server = socketserver.TCPServer(('127.0.0.1', 0), Handler)
    print('READY', server.server_address[1], flush=True)
    server.serve_forever()

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.bind(('127.0.0.1', 0))
sock.listen(1)
print('READY', sock.getsockname()[1], flush=True)
while True:
    connection, client_address = sock.accept()
    try:
        while True:
            data = connection.recv(1024).decode()
            if data:
                connection.sendall(addresses[str(data).upper()].encode())
            else:
                break
    finally:
        connection.close()
`

// pyPong is seed 004's "TTL estimator": PONG to every datagram.
const pyPong = `
from socket import *
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('127.0.0.1', 0))
print('READY', serverSocket.getsockname()[1], flush=True)
while True:
    _, clientAddress = serverSocket.recvfrom(2048)
    serverSocket.sendto(b'PONG', clientAddress)
`

// pyProcess is a running fixture.
type pyProcess struct {
	addr string
	out  fakeserver.Output // its stdout after the READY line
}

// lines returns its stdout lines so far.
func (p *pyProcess) lines() []string {
	return strings.Split(strings.TrimSuffix(p.out.String(), "\n"), "\n")
}

// startPython runs program with python3 and waits for its "READY port" line.
func startPython(t *testing.T, program string, args ...string) *pyProcess {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	script := filepath.Join(t.TempDir(), "server.py")
	if err := os.WriteFile(script, []byte(program), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, append([]string{"-u", script}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr fakeserver.Output
	cmd.Stderr = &limitedWriter{w: &stderr, left: 64 << 10}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &pyProcess{}
	ready := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for n := 0; sc.Scan() && n < 1000; n++ {
			line := sc.Text()
			if port, ok := strings.CutPrefix(line, "READY "); ok {
				ready <- "127.0.0.1:" + port
				continue
			}
			p.out.Write([]byte(line + "\n"))
		}
		io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the whole group
		<-done
		cmd.Wait()
	})
	select {
	case p.addr = <-ready:
		return p
	case <-done:
		t.Fatalf("the Python fixture exited before listening: %s", stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("the Python fixture did not listen within 10s: %s", stderr.String())
	}
	return nil
}

type limitedWriter struct {
	w    io.Writer
	left int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.left > 0 {
		n := min(len(p), l.left)
		l.w.Write(p[:n])
		l.left -= n
	}
	return len(p), nil
}

var timeouts = session.Timeouts{Connect: 2 * time.Second, IO: 2 * time.Second}

func TestHeader64AgainstPython(t *testing.T) {
	for _, mode := range []string{header64.ReplyNone, header64.ReplyAck} {
		t.Run(mode, func(t *testing.T) {
			py := startPython(t, pyHeader64, mode)
			cfg := header64.DefaultConfig()
			cfg.Addr, cfg.Timeouts, cfg.Reply = py.addr, timeouts, mode
			cfg.Messages = []string{"Hi", "héllo wörld", ""}
			var out bytes.Buffer
			if err := header64.Run(context.Background(), cfg, nil, &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			py.out.WaitFor(t, "CLOSED\n", 5*time.Second)
			want := []string{"MSG 'Hi'", "MSG 'héllo wörld'", "MSG ''", "MSG '!DISCONNECT'", "CLOSED"}
			if got := py.lines(); strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("the Python server printed %q, want %q", got, want)
			}
			wantOut := ""
			if mode == header64.ReplyAck {
				wantOut = strings.Repeat("Msg received\n", 4)
			}
			if out.String() != wantOut {
				t.Errorf("the client printed %q, want %q", out.String(), wantOut)
			}
		})
	}
}

func TestLookupAgainstPython(t *testing.T) {
	for _, mode := range []string{lookup.PerConnectionMany, lookup.PerConnectionOne} {
		t.Run(mode, func(t *testing.T) {
			py := startPython(t, pyLookup, mode)
			cfg := lookup.DefaultConfig()
			cfg.Addr, cfg.Timeouts, cfg.PerConnection = py.addr, timeouts, mode
			cfg.Names = []string{"John", "phoebe", "ADAM"}
			var out bytes.Buffer
			if err := lookup.Run(context.Background(), cfg, nil, &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			if want := "John C45\nphoebe D52\nADAM B23\n"; out.String() != want {
				t.Errorf("printed %q, want %q", out.String(), want)
			}
		})
	}
}

func TestLookupUnknownNameAgainstPython(t *testing.T) {
	// The seed's first server dies of the KeyError: the client says the server closed.
	py := startPython(t, pyLookup, lookup.PerConnectionMany)
	cfg := lookup.DefaultConfig()
	cfg.Addr, cfg.Timeouts = py.addr, timeouts
	cfg.Names = []string{"nobody"}
	err := lookup.Run(context.Background(), cfg, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `waiting for the office of "nobody"`) ||
		!strings.Contains(err.Error(), "the server closed the connection without sending it") {
		t.Errorf("got %v", err)
	}
}

func TestPingAgainstPython(t *testing.T) {
	py := startPython(t, pyPong)
	cfg := ping.Config{Addr: py.addr, Count: 3, Interval: 10 * time.Millisecond, Timeout: 2 * time.Second}
	var out bytes.Buffer
	st, err := ping.Run(context.Background(), cfg, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if st.Received != 3 || !regexp.MustCompile(`3 packets transmitted, 3 received, 0% packet loss, time \d+ms\nrtt min/avg/max/mdev = `).MatchString(out.String()) {
		t.Errorf("stats %+v, output:\n%s", st, out.String())
	}
}
