package target

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestIdleCPU(t *testing.T) {
	ctx := context.Background()
	idle := launchT(t, Spec{Command: pyListener})
	if got, err := idle.IdleCPU(ctx, 400*time.Millisecond); err != nil || got >= 0.1 {
		t.Errorf("idle target: IdleCPU = %.2f, %v; want < 0.1 of a core", got, err)
	}
	// Three busy processes, forked once listening (so they do not slow the
	// start-up), each in its own session, so in its own scheduler autogroup,
	// raised a little where allowed: the tree gets more than half a core
	// even when other work loads this shared machine.
	busy := launchT(t, Spec{Command: `python3 -c 'import os,socket,sys
s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
for _ in range(3):
    if os.fork() == 0:
        os.setsid()
        try:
            open("/proc/self/autogroup", "w").write("-5")
        except OSError:
            pass
        while True: pass
while True: s.accept()[0].close()' {port}`})
	got, err := busy.IdleCPU(ctx, 400*time.Millisecond)
	t.Logf("busy target: %.2f of a core", got)
	if err != nil || got <= 0.5 {
		t.Errorf("busy target: IdleCPU = %.2f, %v; want > 0.5 of a core", got, err)
	}
}

func TestIdleCPUHonoursContext(t *testing.T) {
	p := launchT(t, Spec{Command: pyListener})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.IdleCPU(ctx, time.Minute); err != context.Canceled {
		t.Fatalf("IdleCPU with a cancelled context: err = %v, want context.Canceled", err)
	}
}

func TestSampleCountsDescriptors(t *testing.T) {
	// The target says each time it has accepted (and kept) a connection,
	// so the test knows when its descriptor count has settled.
	p := launchT(t, Spec{Command: `python3 -c 'import socket,sys
s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
held=[]
while True:
    held.append(s.accept()[0]); print("accepted", flush=True)' {port}`})
	accepted := func(n int) func() bool {
		return func() bool { return strings.Count(p.Output(), "accepted") >= n }
	}
	base, err := p.Sample() // ready means listening; readiness does not connect
	if err != nil {
		t.Fatal(err)
	}
	if base.Processes < 1 || base.Threads < 1 || base.RSS <= 0 || base.FDs < 4 {
		t.Fatalf("baseline sample %+v: want processes, threads, RSS and at least stdio and the listener", base)
	}
	const clients = 5
	for range clients {
		c, err := net.DialTimeout("tcp", p.Addr(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	waitUntil(t, 5*time.Second, accepted(clients))
	s, err := p.Sample()
	if err != nil {
		t.Fatal(err)
	}
	if s.FDs != base.FDs+clients {
		t.Errorf("FDs = %d after %d clients connected, want %d + %d", s.FDs, clients, base.FDs, clients)
	}
}

// waitUntil polls cond with a short backoff until it holds; the target's
// output has no event to wait on.
func waitUntil(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", timeout)
		}
		timer := time.NewTimer(pause)
		<-timer.C
		pause = min(2*pause, 20*time.Millisecond)
	}
}

func TestAttach(t *testing.T) {
	p := launchT(t, Spec{Command: pyListener})
	w, err := Attach(p.PID())
	if err != nil {
		t.Fatal(err)
	}
	if !w.Alive() || w.PID() != p.PID() {
		t.Fatalf("Alive()=%v PID()=%d, want true and %d", w.Alive(), w.PID(), p.PID())
	}
	s, err := w.Sample()
	if err != nil || s.Processes < 1 || s.FDs < 1 {
		t.Fatalf("Sample() = %+v, %v", s, err)
	}
	if got, err := w.IdleCPU(context.Background(), 200*time.Millisecond); err != nil || got >= 0.1 {
		t.Errorf("IdleCPU = %.2f, %v; want idle", got, err)
	}
	if err := p.Stop(0); err != nil {
		t.Fatal(err)
	}
	if w.Alive() {
		t.Error("Alive() after the process was stopped")
	}
	if _, err := w.Sample(); err == nil {
		t.Error("Sample() of a stopped process: want an error")
	}
	if _, err := Attach(1 << 30); err == nil || !strings.Contains(err.Error(), "no running process") {
		t.Errorf("Attach(no such pid): err = %v", err)
	}
}

func TestAttachToSelf(t *testing.T) {
	w, err := Attach(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	s, err := w.Sample()
	if err != nil || s.Threads < 2 || s.FDs < 3 {
		t.Fatalf("Sample() of the test process = %+v, %v", s, err)
	}
}
