// Package target launches the server under test, waits until it listens,
// watches its health from /proc, and tears its whole process tree down.
//
// Targets are untrusted: they may never listen, exit at once, print
// gigabytes, spin, or double-fork. Launch bounds every wait, drains their
// output into a bounded tail, and Stop kills every process they started.
package target

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Spec says how to start a target.
type Spec struct {
	// Command is run with sh -c after {port} and {host} are replaced by the
	// address the target must listen on.
	Command string
	// Network is "tcp" (the default) or "udp".
	Network string
	// Host is the loopback address the target listens on; default 127.0.0.1.
	Host string
	// StartTimeout bounds the wait for readiness; default 10 s.
	StartTimeout time.Duration
	// Probe is the datagram sent to a UDP target until it answers. Without
	// one, a UDP target is ready once a socket is bound to its port.
	Probe []byte
	// Dir is the working directory; empty means sockspec's own.
	Dir string
	// Env is added to sockspec's own environment ("NAME=value").
	Env []string
	// OutputLimit is how many bytes of the target's latest stdout and
	// stderr are kept; default 64 KiB.
	OutputLimit int
}

const (
	defaultStartTimeout = 10 * time.Second
	defaultOutputLimit  = 64 * 1024
	// markerName is the environment variable that tags every process of one
	// launch, so that double-forked daemons can still be found and killed.
	markerName = "SOCKSPEC_TARGET"
)

func (s Spec) withDefaults() (Spec, error) {
	if strings.TrimSpace(s.Command) == "" {
		return s, errors.New("target: empty command")
	}
	switch s.Network {
	case "":
		s.Network = "tcp"
	case "tcp", "udp":
	default:
		return s, fmt.Errorf("target: network %q: want \"tcp\" or \"udp\"", s.Network)
	}
	if s.Host == "" {
		s.Host = "127.0.0.1"
	}
	if s.StartTimeout <= 0 {
		s.StartTimeout = defaultStartTimeout
	}
	if s.OutputLimit <= 0 {
		s.OutputLimit = defaultOutputLimit
	}
	if s.Dir != "" {
		// os/exec would only say "fork/exec /bin/sh: no such file or directory".
		if fi, err := os.Stat(s.Dir); err != nil || !fi.IsDir() {
			return s, fmt.Errorf("target: working directory %q is not a directory (%v)", s.Dir, err)
		}
	}
	return s, nil
}

// Process is a launched target that is (or was) listening.
type Process struct {
	tree
	command string // after substitution
	network string
	addr    string
	port    int
	mode    containment
	cmd     *exec.Cmd

	out     *tailBuffer
	outR    *os.File
	drained chan struct{} // closed when the output drain ends

	exited chan struct{} // closed when the launched process has been reaped
	status string        // set before exited is closed

	stopOnce sync.Once
	stopErr  error
}

var launches atomic.Uint64

// Launch starts spec.Command on a free loopback port and waits until it
// accepts a TCP connection or answers (or binds) UDP. ctx bounds only the
// start-up; the process runs until Stop. On failure nothing is left running
// and the error is a *NeverListenedError, an *ExitedDuringStartupError, or a
// configuration or context error.
func Launch(ctx context.Context, spec Spec) (*Process, error) {
	return launch(ctx, spec, defaultContainments)
}

func launch(ctx context.Context, spec Spec, order []containment) (*Process, error) {
	spec, err := spec.withDefaults()
	if err != nil {
		return nil, err
	}
	port, err := freePort(spec.Network, spec.Host)
	if err != nil {
		return nil, fmt.Errorf("target: finding a free %s port on %s: %w", spec.Network, spec.Host, err)
	}
	portText := strconv.Itoa(port)
	command := strings.NewReplacer("{port}", portText, "{host}", spec.Host).Replace(spec.Command)

	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("target: output pipe: %w", err)
	}
	var nonce [6]byte
	_, _ = rand.Read(nonce[:])
	marker := fmt.Sprintf("%s=%d-%d-%s", markerName, os.Getpid(), launches.Add(1), hex.EncodeToString(nonce[:]))
	build := func() *exec.Cmd {
		cmd := exec.Command("/bin/sh", "-c", command)
		cmd.Dir = spec.Dir
		cmd.Env = append(append(os.Environ(), spec.Env...), marker)
		// One pipe for both streams keeps them interleaved in arrival order,
		// and os/exec passes an *os.File straight to the child (no copier
		// goroutine that Wait would block on).
		cmd.Stdout, cmd.Stderr = w, w
		return cmd
	}

	p := &Process{
		command: command,
		network: spec.Network,
		addr:    net.JoinHostPort(spec.Host, portText),
		port:    port,
		out:     newTailBuffer(spec.OutputLimit),
		outR:    r,
		drained: make(chan struct{}),
		exited:  make(chan struct{}),
	}
	started := make(chan error, 1)
	go p.run(build, order, marker, started)
	err = <-started
	w.Close() // the children hold their own copies
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("target: starting %q: %w", command, err)
	}
	go drain(r, p.out, p.drained)

	if err := p.awaitReady(ctx, spec); err != nil {
		stopErr := p.Stop(0)
		out, dropped := p.out.snapshot()
		switch e := err.(type) {
		case *NeverListenedError:
			e.Output, e.OutputDropped = out, dropped
		case *ExitedDuringStartupError:
			e.Output, e.OutputDropped = out, dropped
		}
		if stopErr != nil {
			return nil, errors.Join(err, stopErr)
		}
		return nil, err
	}
	return p, nil
}

// run starts the command and waits for it on one locked OS thread: the
// child's Pdeathsig is tied to the thread that forked it, so that thread
// must outlive the child.
func (p *Process) run(build func() *exec.Cmd, order []containment, marker string, started chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd, mode, err := startContained(build, order)
	if err != nil {
		started <- err
		return
	}
	p.cmd, p.mode = cmd, mode
	p.tree = tree{root: cmd.Process.Pid, marker: marker}
	started <- nil
	_ = cmd.Wait() // the status is in ProcessState
	p.status = describeExit(cmd.ProcessState)
	close(p.exited)
}

// describeExit renders a wait status as "exit status 3" or
// "killed by signal 9 (SIGKILL)".
func describeExit(ps *os.ProcessState) string {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	switch {
	case !ok:
		return ps.String()
	case ws.Exited():
		return fmt.Sprintf("exit status %d", ws.ExitStatus())
	case ws.Signaled():
		s := fmt.Sprintf("killed by signal %d (%s)", int(ws.Signal()), unix.SignalName(ws.Signal()))
		if ws.CoreDump() {
			s += ", core dumped"
		}
		return s
	default:
		return ps.String()
	}
}

// freePort asks the kernel for a free port on host and releases it.
func freePort(network, host string) (int, error) {
	addr := net.JoinHostPort(host, "0")
	if network == "udp" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Addr returns host:port the target listens on.
func (p *Process) Addr() string { return p.addr }

// Port returns the port the target was given.
func (p *Process) Port() int { return p.port }

// Network returns "tcp" or "udp".
func (p *Process) Network() string { return p.network }

// Command returns the command line after {port} and {host} substitution.
func (p *Process) Command() string { return p.command }

// PID returns the pid of the launched sh (or what it exec'd).
func (p *Process) PID() int { return p.root }

// Containment says how the process tree is held together: "pid-namespace",
// "subreaper" or "process-group".
func (p *Process) Containment() string { return p.mode.String() }

// Exited is closed once the launched process has exited and been reaped.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Alive reports whether the launched process is still running.
func (p *Process) Alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// ExitStatus returns how the process ended ("exit status 1", "killed by
// signal 9 (SIGKILL)"), or "" while it runs.
func (p *Process) ExitStatus() string {
	select {
	case <-p.exited:
		return p.status
	default:
		return ""
	}
}

// Output returns the last OutputLimit bytes of stdout and stderr,
// interleaved as they arrived.
func (p *Process) Output() string {
	out, _ := p.out.snapshot()
	return out
}

// OutputDropped returns how many earlier output bytes were not kept.
func (p *Process) OutputDropped() int64 {
	_, dropped := p.out.snapshot()
	return dropped
}

// Sample measures the whole process tree.
func (p *Process) Sample() (Sample, error) {
	if !p.Alive() {
		return Sample{}, fmt.Errorf("sampling target: it has exited (%s)", p.ExitStatus())
	}
	return p.sample()
}

// IdleCPU returns the CPU use of the whole tree over window, as a fraction
// of one core.
func (p *Process) IdleCPU(ctx context.Context, window time.Duration) (float64, error) {
	if !p.Alive() {
		return 0, fmt.Errorf("measuring target CPU: it has exited (%s)", p.ExitStatus())
	}
	return p.idleCPU(ctx, window)
}

var (
	_ Health = (*Process)(nil)
	_ Health = (*Watched)(nil)
)
