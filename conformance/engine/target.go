package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/sockspec/sockspec/conformance/target"
)

// Target is one running instance of the server under test.
type Target interface {
	Addr() string
	// Health reads the server's process (CPU, descriptors, threads); nil when there is no
	// process to read (a remote address without --pid).
	Health() target.Health
	// Exited is closed when a launched process exits; nil when sockspec does not own it.
	Exited() <-chan struct{}
	ExitStatus() string
	Output() string // the last output of a launched process
	Stop() error
}

// Starter makes targets: a fresh one per spec, or one kept for the run.
type Starter interface {
	Start(ctx context.Context) (Target, error)
	Describe() string
	// Kind is "in-process", "exec" or "remote".
	Kind() string
	// HasProcess reports whether Health is available (in-process, exec, or --pid).
	HasProcess() bool
}

// ServeFunc serves a listener (TCP) or packet conn (UDP) until ctx ends: an in-process server.
type ServeFunc func(ctx context.Context, ln net.Listener, pc net.PacketConn) error

// InProcess starts a server inside this process on a free loopback port.
type InProcess struct {
	Name    string // e.g. "built-in reference chat server"
	Network string // "tcp" or "udp"
	Serve   ServeFunc
}

func (s InProcess) Describe() string { return s.Name + " (in-process)" }
func (s InProcess) Kind() string     { return "in-process" }
func (s InProcess) HasProcess() bool { return true }

func (s InProcess) Start(ctx context.Context) (Target, error) {
	ctx, cancel := context.WithCancel(context.Background())
	t := &inProcess{cancel: cancel, done: make(chan struct{})}
	var ln net.Listener
	var pc net.PacketConn
	var err error
	if s.Network == "udp" {
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err == nil {
			t.addr = pc.LocalAddr().String()
		}
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err == nil {
			t.addr = ln.Addr().String()
		}
	}
	if err != nil {
		cancel()
		return nil, err
	}
	go func() {
		defer close(t.done)
		t.err = s.Serve(ctx, ln, pc)
	}()
	return t, nil
}

type inProcess struct {
	addr   string
	cancel context.CancelFunc
	done   chan struct{}
	err    error
	once   sync.Once
}

func (t *inProcess) Addr() string { return t.addr }

// Health reads this very process: the tester is idle while it measures.
func (t *inProcess) Health() target.Health {
	w, err := target.Attach(os.Getpid())
	if err != nil {
		return nil
	}
	return w
}

// Exited is closed when the server's Serve returned (before Stop): its "crash".
func (t *inProcess) Exited() <-chan struct{} { return t.done }

func (t *inProcess) ExitStatus() string {
	select {
	case <-t.done:
		if t.err != nil {
			return "the server stopped serving: " + t.err.Error()
		}
		return "the server stopped serving"
	default:
		return ""
	}
}
func (t *inProcess) Output() string { return "" }

func (t *inProcess) Stop() error {
	t.once.Do(t.cancel)
	select {
	case <-t.done:
		return t.err
	case <-time.After(5 * time.Second):
		return errors.New("the in-process server did not stop within 5 s")
	}
}

// Exec launches a command per target (`--exec`).
type Exec struct {
	Spec target.Spec
}

func (s Exec) Describe() string { return "exec: " + s.Spec.Command }
func (s Exec) Kind() string     { return "exec" }
func (s Exec) HasProcess() bool { return true }

func (s Exec) Start(ctx context.Context) (Target, error) {
	p, err := target.Launch(ctx, s.Spec)
	if err != nil {
		return nil, err
	}
	return execTarget{p}, nil
}

type execTarget struct{ p *target.Process }

func (t execTarget) Addr() string            { return t.p.Addr() }
func (t execTarget) Health() target.Health   { return t.p }
func (t execTarget) Exited() <-chan struct{} { return t.p.Exited() }
func (t execTarget) ExitStatus() string      { return t.p.ExitStatus() }
func (t execTarget) Output() string          { return t.p.Output() }

// Stop gives the tree a short grace: a target that is PID 1 of its namespace ignores SIGTERM.
func (t execTarget) Stop() error { return t.p.Stop(100 * time.Millisecond) }

// Containment reports how the launched tree is contained (for verbose output).
func (t execTarget) Containment() string { return t.p.Containment() }

// Remote is a server somebody else runs (`--target`), optionally with its pid (`--pid`).
type Remote struct {
	Address string
	Network string
	PID     int
}

func (s Remote) Describe() string {
	if s.PID > 0 {
		return fmt.Sprintf("%s (pid %d)", s.Address, s.PID)
	}
	return s.Address
}
func (s Remote) Kind() string     { return "remote" }
func (s Remote) HasProcess() bool { return s.PID > 0 }

func (s Remote) Start(ctx context.Context) (Target, error) {
	if s.Network != "udp" {
		d := net.Dialer{Timeout: 3 * time.Second}
		c, err := d.DialContext(ctx, "tcp", s.Address)
		if err != nil {
			return nil, fmt.Errorf("cannot reach %s: %v", s.Address, err)
		}
		c.Close()
	}
	t := remote{addr: s.Address}
	if s.PID > 0 {
		w, err := target.Attach(s.PID)
		if err != nil {
			return nil, fmt.Errorf("--pid %d: %v", s.PID, err)
		}
		t.health = w
	}
	return t, nil
}

type remote struct {
	addr   string
	health *target.Watched
}

func (t remote) Addr() string { return t.addr }
func (t remote) Health() target.Health {
	if t.health == nil {
		return nil
	}
	return t.health
}
func (t remote) Exited() <-chan struct{} { return nil }
func (t remote) ExitStatus() string      { return "" }
func (t remote) Output() string          { return "" }
func (t remote) Stop() error             { return nil }
