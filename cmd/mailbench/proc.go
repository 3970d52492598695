package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// procUsage is what a server's process tree has used: CPU time since it started (its own and that of the children
// it has reaped: Dovecot and Postfix fork a process per connection or delivery) and memory now.
type procUsage struct {
	Procs   int
	CPU     time.Duration // utime+stime+cutime+cstime summed over the tree
	RSS     int64         // bytes, VmRSS summed (shared pages counted in every process)
	RssAnon int64         // bytes, anonymous resident memory (heap, stacks), not the mapped files
	PSS     int64         // bytes, proportional set size: shared pages divided among their users
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times (100 on every Linux architecture Go supports).
const clockTicks = 100

// treeUsage sums the usage of the process trees rooted at the PIDs in pidFiles. No pid files: the zero usage.
func treeUsage(pidFiles []string) (procUsage, error) {
	var u procUsage
	if len(pidFiles) == 0 {
		return u, nil
	}
	var roots []int
	for _, f := range pidFiles {
		pid, err := readPIDFile(f)
		if err != nil {
			return u, err
		}
		roots = append(roots, pid)
	}
	for _, pid := range descendants(roots) {
		p, err := processUsage(pid)
		if err != nil {
			continue // exited meanwhile
		}
		u.Procs++
		u.CPU += p.CPU
		u.RSS += p.RSS
		u.RssAnon += p.RssAnon
		u.PSS += p.PSS
	}
	if u.Procs == 0 {
		return u, fmt.Errorf("no process of %s is running", strings.Join(pidFiles, ", "))
	}
	return u, nil
}

// readPIDFile reads a pid file (Postfix pads the number with spaces).
func readPIDFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("pid file %s: %w", path, err)
	}
	return pid, nil
}

// descendants returns roots and every process below them.
func descendants(roots []int) []int {
	children := map[int][]int{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		if f, err := statFields(pid); err == nil && len(f) > 1 {
			ppid, _ := strconv.Atoi(f[1])
			children[ppid] = append(children[ppid], pid)
		}
	}
	out := append([]int(nil), roots...)
	for i := 0; i < len(out) && i < 1<<20; i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// statFields returns the fields of /proc/PID/stat after the command name, from the state (field 3) on.
func statFields(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	end := bytes.LastIndexByte(b, ')') // the command name may hold spaces and parentheses
	if end < 0 {
		return nil, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	return strings.Fields(string(b[end+1:])), nil
}

func processUsage(pid int) (procUsage, error) {
	f, err := statFields(pid)
	if err != nil || len(f) < 15 {
		return procUsage{}, fmt.Errorf("/proc/%d/stat: %v", pid, err)
	}
	var ticks int64
	for _, field := range f[11:15] { // utime, stime, cutime, cstime (fields 14-17)
		n, _ := strconv.ParseInt(field, 10, 64)
		ticks += n
	}
	u := procUsage{CPU: time.Duration(ticks) * time.Second / clockTicks}
	status := kibFields(fmt.Sprintf("/proc/%d/status", pid))
	u.RSS, u.RssAnon = status["VmRSS"], status["RssAnon"]
	u.PSS = kibFields(fmt.Sprintf("/proc/%d/smaps_rollup", pid))["Pss"]
	return u, nil
}

// kibFields reads "Name:   123 kB" lines into bytes by name.
func kibFields(path string) map[string]int64 {
	out := map[string]int64{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(rest)
		if !ok || len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		if n, err := strconv.ParseInt(fields[0], 10, 64); err == nil {
			out[name] = n << 10
		}
	}
	return out
}

// memory describes the memory of a usage.
func (u procUsage) memory() string {
	return fmt.Sprintf("RSS %s, RssAnon %s, PSS %s (%d processes)", mib(u.RSS), mib(u.RssAnon), mib(u.PSS), u.Procs)
}
