package target

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// procStat is the part of /proc/PID/stat that health and teardown need.
type procStat struct {
	pid       int
	comm      string
	state     byte
	ppid      int
	pgrp      int
	ticks     uint64 // utime+stime+cutime+cstime, in USER_HZ ticks
	threads   int
	startTime uint64 // in ticks since boot: with pid, identifies a process
	rssPages  int64
}

// userHZ is the unit of the times in /proc/PID/stat. Linux fixes it at 100
// for user space on every architecture Go supports.
const userHZ = 100

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseStat(pid, b)
}

// parseStat parses /proc/PID/stat. The command name sits in parentheses and
// may itself contain spaces and parentheses, so fields start after the last ')'.
func parseStat(pid int, b []byte) (procStat, error) {
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("/proc/%d/stat: unexpected format %.80q", pid, b)
	}
	f := strings.Fields(string(b[end+1:]))
	// f[0] is field 3 (state) of proc(5); field n is f[n-3].
	if len(f) < 22 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields after the name, want at least 22", pid, len(f))
	}
	num := func(n int) uint64 {
		v, _ := strconv.ParseUint(f[n-3], 10, 64)
		return v
	}
	s := procStat{
		pid:       pid,
		comm:      string(b[open+1 : end]),
		state:     f[0][0],
		ppid:      int(num(4)),
		pgrp:      int(num(5)),
		ticks:     num(14) + num(15) + num(16) + num(17),
		threads:   int(num(20)),
		startTime: num(22),
	}
	s.rssPages, _ = strconv.ParseInt(f[24-3], 10, 64)
	return s, nil
}

// allProcesses reads the stat of every process visible in /proc.
func allProcesses() (map[int]procStat, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, err
	}
	procs := make(map[int]procStat, len(names))
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		if s, err := readStat(pid); err == nil { // it may have just exited
			procs[pid] = s
		}
	}
	return procs, nil
}

// treeOf returns root and all its descendants, plus every process whose
// environment carries marker (when marker is not empty) and their
// descendants: a double-forked daemon leaves the tree by ppid but keeps the
// environment it inherited.
func treeOf(procs map[int]procStat, root int, marker string) []procStat {
	children := make(map[int][]int, len(procs))
	for pid, s := range procs {
		children[s.ppid] = append(children[s.ppid], pid)
	}
	seen := make(map[int]bool)
	var out []procStat
	var queue []int
	add := func(pid int) {
		if s, ok := procs[pid]; ok && !seen[pid] {
			seen[pid] = true
			out = append(out, s)
			queue = append(queue, pid)
		}
	}
	add(root)
	if marker != "" {
		for pid := range procs {
			if hasEnv(pid, marker) {
				add(pid)
			}
		}
	}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range children[pid] {
			add(c)
		}
	}
	return out
}

// hasEnv reports whether process pid has the exact entry kv ("NAME=value")
// in its initial environment. Unreadable environments (other users, exited
// processes) count as not having it.
func hasEnv(pid int, kv string) bool {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return false
	}
	for _, e := range bytes.Split(b, []byte{0}) {
		if string(e) == kv {
			return true
		}
	}
	return false
}

// countFDs counts the open descriptors of pid.
func countFDs(pid int) (int, error) {
	d, err := os.Open("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return 0, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	return len(names), err
}

// sameProcess reports whether s still names the process it named when read:
// the pid exists, is not a zombie, and has the same start time (pids are reused).
func sameProcess(s procStat) bool {
	now, err := readStat(s.pid)
	return err == nil && now.startTime == s.startTime && now.state != 'Z' && now.state != 'X'
}

var errNoProcess = errors.New("no such process")
