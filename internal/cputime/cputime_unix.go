//go:build unix

// Package cputime reads the CPU time this process has used, to tell work
// from waiting: a stretch of wall time in which the process used little CPU
// was a stop (SIGSTOP, a throttled cgroup, a starved VM), not work.
package cputime

import (
	"syscall"
	"time"
)

// Process returns the user and system CPU time this process has used so
// far, and false where the system cannot say.
func Process() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
