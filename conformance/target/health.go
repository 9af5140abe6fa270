package target

import (
	"context"
	"fmt"
	"os"
	"time"
)

// Sample is the resource use of a whole process tree at one moment, read
// from /proc.
type Sample struct {
	At        time.Time
	Processes int           // live processes in the tree (zombies included)
	CPU       time.Duration // user+system time of the tree, including children it has reaped
	FDs       int           // open descriptors, summed over the tree
	Threads   int           // threads, summed over the tree
	RSS       int64         // resident memory in bytes, summed over the tree
	// Runnable is the time the tree's live threads spent running or waiting to run
	// (/proc/PID/task/TID/schedstat). Unlike CPU it does not shrink on a busy machine: a
	// spinning thread is runnable all the time, whether it gets the CPU or not.
	Runnable time.Duration
}

// Health is what the checks of GEN-IDLE-1 and GEN-LEAK-1 need from a
// target: a launched *Process or an attached *Watched.
type Health interface {
	Sample() (Sample, error)
	IdleCPU(ctx context.Context, window time.Duration) (fractionOfCore float64, err error)
}

// tree measures a process and its descendants. Process and Watched share it.
type tree struct {
	root   int
	marker string // environment entry that marks our processes; "" for Attach
}

func (t tree) members() ([]procStat, error) {
	procs, err := allProcesses()
	if err != nil {
		return nil, err
	}
	return treeOf(procs, t.root, t.marker), nil
}

func (t tree) sample() (Sample, error) {
	root, err := readStat(t.root)
	if err != nil || root.state == 'Z' || root.state == 'X' {
		return Sample{}, fmt.Errorf("sampling process %d: %w", t.root, errNoProcess)
	}
	members, err := t.members()
	if err != nil {
		return Sample{}, fmt.Errorf("sampling process %d: %w", t.root, err)
	}
	s := Sample{At: time.Now()}
	page := int64(os.Getpagesize())
	var ticks uint64
	for _, m := range members {
		s.Processes++
		ticks += m.ticks
		s.Threads += m.threads
		s.RSS += m.rssPages * page
		if n, err := countFDs(m.pid); err == nil {
			s.FDs += n
		}
		s.Runnable += runnable(m.pid)
	}
	s.CPU = time.Duration(ticks) * (time.Second / userHZ)
	return s, nil
}

// idleCPU samples, waits window (a measurement window, not a
// synchronisation), samples again and returns the CPU used per wall time,
// as a fraction of one core (2.0 is two cores fully busy).
func (t tree) idleCPU(ctx context.Context, window time.Duration) (float64, error) {
	first, err := t.sample()
	if err != nil {
		return 0, err
	}
	timer := time.NewTimer(window)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-timer.C:
	}
	second, err := t.sample()
	if err != nil {
		return 0, err
	}
	wall := second.At.Sub(first.At)
	used := second.CPU - first.CPU
	if used < 0 || wall <= 0 { // a member exited between the samples
		return 0, nil
	}
	return float64(used) / float64(wall), nil
}

// Watched is a process sockspec did not launch (--pid mode): it can be
// measured but not stopped.
type Watched struct {
	tree
	start procStat
}

// Attach watches the running process pid and its descendants.
func Attach(pid int) (*Watched, error) {
	s, err := readStat(pid)
	if err != nil || s.state == 'Z' {
		return nil, fmt.Errorf("attach to pid %d: no running process with that pid (%v)", pid, err)
	}
	return &Watched{tree: tree{root: pid}, start: s}, nil
}

// PID returns the watched process id.
func (w *Watched) PID() int { return w.root }

// Alive reports whether the watched process still runs.
func (w *Watched) Alive() bool { return sameProcess(w.start) }

// Sample measures the watched process and its descendants.
func (w *Watched) Sample() (Sample, error) { return w.sample() }

// IdleCPU returns the CPU use of the watched tree over window, as a fraction of one core.
func (w *Watched) IdleCPU(ctx context.Context, window time.Duration) (float64, error) {
	return w.idleCPU(ctx, window)
}

// runnable sums run and run-queue wait time over a process's threads, from schedstat.
func runnable(pid int) time.Duration {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, task.Name()))
		if err != nil {
			continue
		}
		var run, wait int64
		if n, _ := fmt.Sscan(string(b), &run, &wait); n == 2 {
			total += time.Duration(run + wait)
		}
	}
	return total
}
