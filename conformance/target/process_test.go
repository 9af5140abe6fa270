package target

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// pyListener is a TCP target that prints a line, listens on {port} and
// keeps every accepted connection open.
const pyListener = `python3 -c 'import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(16)
print("listening", flush=True)
held=[]
while True: held.append(s.accept()[0])' {host} {port}`

func launchT(t *testing.T, spec Spec, order ...containment) *Process {
	t.Helper()
	if order == nil {
		order = defaultContainments
	}
	p, err := launch(context.Background(), spec, order)
	if err != nil {
		t.Fatalf("launch %q: %v", spec.Command, err)
	}
	t.Cleanup(func() {
		if err := p.Stop(time.Second); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return p
}

func TestLaunchTCPListenerIsReadyAndStops(t *testing.T) {
	p := launchT(t, Spec{Command: pyListener, StartTimeout: 5 * time.Second})
	if want := "127.0.0.1:" + strconv.Itoa(p.Port()); p.Addr() != want {
		t.Errorf("Addr() = %q, want %q", p.Addr(), want)
	}
	if got := p.Containment(); got != "pid-namespace" {
		t.Errorf("Containment() = %q, want pid-namespace when running as root", got)
	}
	if !strings.Contains(p.Command(), strconv.Itoa(p.Port())) {
		t.Errorf("Command() = %q: {port} not substituted", p.Command())
	}
	c, err := net.DialTimeout("tcp", p.Addr(), 2*time.Second)
	if err != nil {
		t.Fatalf("connect to ready target: %v", err)
	}
	c.Close()
	if !p.Alive() || p.ExitStatus() != "" {
		t.Fatalf("Alive()=%v ExitStatus()=%q before Stop", p.Alive(), p.ExitStatus())
	}
	if !strings.Contains(p.Output(), "listening") {
		t.Errorf("Output() = %q, want it to contain the target's print", p.Output())
	}
	if err := p.Stop(time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case <-p.Exited():
	default:
		t.Fatal("Exited() not closed after Stop")
	}
	// sh, as PID 1 of the namespace, ignores SIGTERM; python3 dies of it.
	if got := p.ExitStatus(); p.Alive() || got != "exit status 143" && got != "killed by signal 9 (SIGKILL)" {
		t.Errorf("after Stop: Alive()=%v ExitStatus()=%q, want exit status 143 or SIGKILL", p.Alive(), got)
	}
	if _, err := p.Sample(); err == nil {
		t.Error("Sample() after Stop: want an error")
	}
}

func TestStopSendsSIGTERMFirst(t *testing.T) {
	// A target with a SIGTERM handler gets the chance to exit on its own.
	cmd := `python3 -c 'import signal,socket,sys
signal.signal(signal.SIGTERM, lambda *a: sys.exit(7))
s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
while True: s.accept()[0].close()' {port}`
	p := launchT(t, Spec{Command: cmd})
	if err := p.Stop(5 * time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if got := p.ExitStatus(); got != "exit status 7" {
		t.Errorf("ExitStatus() = %q, want %q (the SIGTERM handler's exit)", got, "exit status 7")
	}
}

func TestNeverListenedReportsTimeoutAndOutput(t *testing.T) {
	start := time.Now()
	_, err := Launch(context.Background(), Spec{
		Command:      `echo "starting up"; echo "oops: bound the wrong port" >&2; exec sleep 1000`,
		StartTimeout: 300 * time.Millisecond,
	})
	var nl *NeverListenedError
	if !errors.As(err, &nl) {
		t.Fatalf("err = %v (%T), want *NeverListenedError", err, err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Launch took %v, want about the 300ms start timeout", took)
	}
	if nl.Timeout != 300*time.Millisecond || !strings.Contains(nl.Output, "oops: bound the wrong port") {
		t.Errorf("Timeout=%v Output=%q, want 300ms and the stderr line", nl.Timeout, nl.Output)
	}
	msg := err.Error()
	for _, want := range []string{"never listened", "300ms", "  | starting up", "  | oops: bound the wrong port"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Error() = %q, want it to contain %q", msg, want)
		}
	}
}

func TestExitedDuringStartupReportsStatusAndOutput(t *testing.T) {
	_, err := Launch(context.Background(), Spec{
		Command:      `echo "Traceback: address already in use" >&2; exit 3`,
		StartTimeout: 5 * time.Second,
	})
	var ex *ExitedDuringStartupError
	if !errors.As(err, &ex) {
		t.Fatalf("err = %v (%T), want *ExitedDuringStartupError", err, err)
	}
	if ex.Status != "exit status 3" || !strings.Contains(ex.Output, "address already in use") {
		t.Errorf("Status=%q Output=%q, want exit status 3 and the stderr line", ex.Status, ex.Output)
	}
	if msg := err.Error(); !strings.Contains(msg, "exited during start-up (exit status 3)") ||
		!strings.Contains(msg, "  | Traceback: address already in use") {
		t.Errorf("Error() = %q: want the status and the indented output", msg)
	}
}

func TestLoudTargetDoesNotBlockOnItsOutput(t *testing.T) {
	// 10 MB before listening: with an undrained pipe it would block forever.
	cmd := `python3 -c 'import socket,sys
sys.stdout.write("x" * 10000000 + "\nlast line before listen\n"); sys.stdout.flush()
s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
while True: s.accept()[0].close()' {port}`
	p := launchT(t, Spec{Command: cmd, OutputLimit: 4096, StartTimeout: 10 * time.Second})
	out := p.Output()
	if len(out) != 4096 || !strings.HasSuffix(out, "last line before listen\n") {
		t.Errorf("Output(): %d bytes ending %q, want 4096 ending with the last line", len(out), out[max(0, len(out)-40):])
	}
	if got, want := p.OutputDropped(), int64(10000000+len("\nlast line before listen\n")-4096); got != want {
		t.Errorf("OutputDropped() = %d, want %d", got, want)
	}
}

func TestLaunchUDP(t *testing.T) {
	echo := `python3 -c 'import socket,sys
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    m, a = s.recvfrom(2048); s.sendto(m.upper(), a)' {port}`
	for _, probe := range [][]byte{[]byte("ping"), nil} {
		t.Run("probe="+strconv.Quote(string(probe)), func(t *testing.T) {
			p := launchT(t, Spec{Command: echo, Network: "udp", Probe: probe})
			c, err := net.Dial("udp", p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			if _, err := c.Write([]byte("hi")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 16)
			n, err := c.Read(buf)
			if err != nil || string(buf[:n]) != "HI" {
				t.Fatalf("reply %q, %v; want \"HI\"", buf[:n], err)
			}
		})
	}
}

func TestLaunchContextCancelled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := Launch(ctx, Spec{Command: "exec sleep 1000"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

func TestSpecErrors(t *testing.T) {
	for _, spec := range []Spec{{}, {Command: "true", Network: "sctp"}} {
		if _, err := Launch(context.Background(), spec); err == nil {
			t.Errorf("Launch(%+v): want an error", spec)
		}
	}
	_, err := Launch(context.Background(), Spec{Command: "true", Dir: "/nonexistent/dir"})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/dir") {
		t.Errorf("missing Dir: err = %v, want it to name the directory", err)
	}
}

// TestDoubleForkDoesNotSurviveStop runs a target that leaves a setsid'd
// daemon behind, under every containment mode, and checks by pid that the
// daemon is gone after Stop.
func TestDoubleForkDoesNotSurviveStop(t *testing.T) {
	// processGroup runs before subreaper: once sockspec is a subreaper, orphans
	// come back to it instead of escaping to init.
	modes := []struct {
		name string
		mode containment
	}{{"pid-namespace", pidNamespace}, {"user-and-pid-namespace", userPidNamespace},
		{"process-group", processGroup}, {"subreaper", subreaper}}
	for _, m := range modes {
		mode := m.mode
		t.Run(m.name, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "daemon.pid")
			// The daemon reads its pid from /proc/self/stat: /proc is the
			// host's, so that is the pid as we see it, even in a namespace.
			cmd := `setsid sh -c 'read -r pid rest < /proc/self/stat; echo $pid > "$PIDFILE.tmp"; mv "$PIDFILE.tmp" "$PIDFILE"; exec sleep 1000' &
while [ ! -s "$PIDFILE" ]; do sleep 0.01; done
` + pyListener
			p := launchT(t, Spec{Command: cmd, Env: []string{"PIDFILE=" + pidFile}}, mode)
			if got, want := p.mode, mode; got != want {
				t.Fatalf("mode %v, want %v", got, want)
			}
			b, err := os.ReadFile(pidFile)
			if err != nil {
				t.Fatal(err)
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatalf("pid file %q: %v", b, err)
			}
			if !running(pid) {
				t.Fatalf("daemon pid %d is not running before Stop", pid)
			}
			s, err := p.Sample()
			if err != nil {
				t.Fatal(err)
			}
			if s.Processes < 3 { // sh, python3, the daemon's sleep
				t.Errorf("Sample().Processes = %d, want the daemon counted too (>= 3)", s.Processes)
			}
			if err := p.Stop(200 * time.Millisecond); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if running(pid) {
				t.Fatalf("daemon pid %d survived Stop under %v containment", pid, mode)
			}
			// Reaped too, except where init adopted it (process-group mode).
			if _, err := readStat(pid); err == nil && mode != processGroup {
				t.Errorf("daemon pid %d left as a zombie under %v containment", pid, mode)
			}
		})
	}
}

// running reports whether pid exists and is not a zombie.
func running(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	s, err := readStat(pid)
	return err == nil && s.state != 'Z' && s.state != 'X'
}

// Readiness must not connect: a connect-and-close is an input some servers die of.
func TestReadinessDoesNotConnect(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	// This server exits at its first connection, as a seed server whose recv() raises on it.
	script := "import socket,sys\ns=socket.socket()\ns.bind(('127.0.0.1',int(sys.argv[1])))\ns.listen()\nc,_=s.accept()\nsys.exit(5)\n"
	p, err := Launch(context.Background(), Spec{Command: "exec python3 -c \"$SCRIPT\" {port}", Env: []string{"SCRIPT=" + script}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	if !p.Alive() {
		t.Fatalf("the readiness check connected and the server exited: %s", p.ExitStatus())
	}
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	select {
	case <-p.Exited():
	case <-time.After(5 * time.Second):
		t.Fatal("the server should exit at its first connection")
	}
}

func TestProcNetAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F":                         "127.0.0.1",
		"00000000":                         "0.0.0.0",
		"00000000000000000000000001000000": "::1",
		"0000000000000000FFFF00000100007F": "::ffff:127.0.0.1",
	} {
		ip, ok := procNetAddr(in)
		if !ok || ip.String() != want {
			t.Errorf("procNetAddr(%s) = %v, want %s", in, ip, want)
		}
	}
}
