package target

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// containment is how a launched tree is kept killable as a whole.
type containment int

const (
	// pidNamespace starts the command as PID 1 of a new PID namespace:
	// orphans reparent to it, and when it dies the kernel kills the rest.
	pidNamespace containment = iota
	// userPidNamespace is the same for unprivileged users, through a user
	// namespace that maps only our own uid and gid.
	userPidNamespace
	// subreaper makes sockspec itself the subreaper: orphans (double forks)
	// reparent to us instead of to init, so they stay reachable and reapable.
	subreaper
	// processGroup only puts the command in its own process group.
	processGroup
)

// defaultContainments is tried in order; a mode the system refuses falls
// through to the next.
var defaultContainments = []containment{pidNamespace, userPidNamespace, subreaper, processGroup}

func (c containment) String() string {
	switch c {
	case pidNamespace, userPidNamespace:
		return "pid-namespace"
	case subreaper:
		return "subreaper"
	default:
		return "process-group"
	}
}

// sysProcAttr returns the attributes that set up c. Every mode also gets its
// own process group (one kill(-pgid) reaches the members that stayed in it)
// and Pdeathsig, so the tree dies with sockspec even if sockspec is killed.
// Pdeathsig fires when the thread that started the child exits, which is why
// start runs on a locked thread that lives as long as the child.
func (c containment) sysProcAttr() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	switch c {
	case pidNamespace:
		attr.Cloneflags = syscall.CLONE_NEWPID
	case userPidNamespace:
		attr.Cloneflags = syscall.CLONE_NEWUSER | syscall.CLONE_NEWPID
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getuid(), HostID: os.Getuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getgid(), HostID: os.Getgid(), Size: 1}}
		attr.GidMappingsEnableSetgroups = false
	}
	return attr
}

var subreaperOnce struct {
	sync.Once
	err error
}

// enableSubreaper marks this whole process as a child subreaper. It cannot
// be undone, and it is harmless to the rest of sockspec: os/exec waits for
// its children by pid, and orphans we adopt are reaped by stop.
func enableSubreaper() error {
	subreaperOnce.Do(func() {
		subreaperOnce.err = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	})
	return subreaperOnce.err
}

// startContained starts a command built by build under the first mode of
// order that the system allows.
func startContained(build func() *exec.Cmd, order []containment) (*exec.Cmd, containment, error) {
	var refused []string
	for _, mode := range order {
		if mode == subreaper {
			if err := enableSubreaper(); err != nil {
				refused = append(refused, fmt.Sprintf("%v: %v", mode, err))
				continue
			}
		}
		cmd := build()
		cmd.SysProcAttr = mode.sysProcAttr()
		err := cmd.Start()
		if err == nil {
			return cmd, mode, nil
		}
		if mode != pidNamespace && mode != userPidNamespace || !namespaceRefused(err) {
			return nil, mode, err
		}
		refused = append(refused, fmt.Sprintf("%v: %v", mode, err))
	}
	return nil, processGroup, fmt.Errorf("no way to contain the target's processes (%s)", strings.Join(refused, "; "))
}

// namespaceRefused reports whether a start failed because namespaces are
// not available to us (rather than because the command itself is wrong).
func namespaceRefused(err error) bool {
	for _, e := range []error{syscall.EPERM, syscall.EINVAL, syscall.ENOSPC, syscall.EUSERS, syscall.EACCES, syscall.ENOSYS} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Stop ends the target and its whole process tree: SIGTERM to every member,
// up to grace for them to leave, then SIGKILL until none is left, and every
// process reaped. grace <= 0 kills at once. Stop is idempotent and safe after
// the target exited by itself; it returns an error only when something
// survived.
func (p *Process) Stop(grace time.Duration) error {
	p.stopOnce.Do(func() { p.stopErr = p.stop(grace) })
	return p.stopErr
}

const (
	killWait  = 5 * time.Second       // bound on SIGKILL taking effect
	drainWait = 2 * time.Second       // bound on output still in the pipe
	pollMin   = time.Millisecond      // first pause between process-state polls
	pollMax   = 20 * time.Millisecond // longest pause between polls
)

func (p *Process) stop(grace time.Duration) error {
	known := make(map[int]procStat)
	// live re-reads the tree (it may have forked since) and returns every
	// member ever seen that is still the same running process.
	live := func() []procStat {
		if members, err := p.tree.members(); err == nil {
			for _, m := range members {
				if m.pid != p.root {
					known[m.pid] = m
				}
			}
		}
		var out []procStat
		for _, m := range known {
			if sameProcess(m) {
				out = append(out, m)
			}
		}
		return out
	}
	gone := func() bool {
		p.reapOrphans(known)
		select {
		case <-p.exited:
			return len(live()) == 0
		default:
			return false
		}
	}

	if grace > 0 && !gone() {
		p.signalAll(live(), syscall.SIGTERM)
		p.waitUntil(time.Now().Add(grace), gone)
	}
	deadline := time.Now().Add(killWait)
	for !gone() && time.Now().Before(deadline) {
		p.signalAll(live(), syscall.SIGKILL)
		p.waitUntil(time.Now().Add(pollMax), gone)
	}

	var problems []string
	if survivors := live(); len(survivors) > 0 {
		var names []string
		for _, s := range survivors {
			names = append(names, fmt.Sprintf("pid %d (%s)", s.pid, s.comm))
		}
		problems = append(problems, fmt.Sprintf("%d processes survived SIGKILL: %s", len(survivors), strings.Join(names, ", ")))
	}
	select {
	case <-p.exited:
	default:
		problems = append(problems, fmt.Sprintf("the launched process %d did not exit after SIGKILL", p.root))
	}
	// All writers of the output pipe should be gone now; if an unseen
	// process still holds it, stop reading so our goroutine ends.
	timer := time.NewTimer(drainWait)
	defer timer.Stop()
	select {
	case <-p.drained:
	case <-timer.C:
		p.outR.Close()
		<-p.drained
		problems = append(problems, "an unknown process still holds the target's stdout/stderr open")
	}
	if len(problems) > 0 {
		return fmt.Errorf("stopping target %q (%s containment): %s", p.command, p.mode, strings.Join(problems, "; "))
	}
	return nil
}

// signalAll sends sig once to every member: through the process group while
// its leader is unreaped (so the group id cannot have been reused), and
// directly to members outside the group. Once only, because a second SIGTERM
// can cut short a graceful shutdown (Python resets its handlers while it
// exits). A PID-namespace init ignores signals it has no handler for, except
// SIGKILL, which then takes the whole namespace with it.
func (p *Process) signalAll(members []procStat, sig syscall.Signal) {
	group := 0
	select {
	case <-p.exited:
	default:
		if syscall.Kill(-p.root, sig) == nil {
			group = p.root
		}
		if root, err := readStat(p.root); err == nil && root.pgrp != group {
			_ = p.cmd.Process.Signal(sig) // the leader left its group
		}
	}
	for _, m := range members {
		if m.pgrp != group && sameProcess(m) {
			_ = syscall.Kill(m.pid, sig)
		}
	}
}

// reapOrphans waits for members that sockspec adopted as subreaper and
// that are now zombies. It waits only by pid, and only for a zombie that is
// still the process we saw (same start time), so it never takes the exit
// status of a child os/exec waits for.
func (p *Process) reapOrphans(known map[int]procStat) {
	self := os.Getpid()
	for pid, seen := range known {
		now, err := readStat(pid)
		if err != nil || now.state != 'Z' || now.ppid != self || now.startTime != seen.startTime {
			continue
		}
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
	}
}

// waitUntil polls done with a short backoff until it is true or deadline
// passes. Waiting for an unrelated process to die has no event to wait on
// short of pidfds, and these polls are bounded.
func (p *Process) waitUntil(deadline time.Time, done func() bool) {
	pause := pollMin
	exited := p.exited
	for !done() {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		timer := time.NewTimer(min(pause, left))
		select {
		case <-exited:
			exited = nil // wake once on exit, then only on the timer
		case <-timer.C:
		}
		timer.Stop()
		pause = min(pause*2, pollMax)
	}
}
