//go:build !unix

// Package cputime reads the CPU time this process has used, to tell work
// from waiting: a stretch of wall time in which the process used little CPU
// was a stop (SIGSTOP, a throttled cgroup, a starved VM), not work.
package cputime

import "time"

// Process returns false: this system's CPU time is not read.
func Process() (time.Duration, bool) { return 0, false }
