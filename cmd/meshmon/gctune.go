package main

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// defaultGCPercent is the garbage collector's target (GOGC) that `meshmon
// run` sets when the environment sets none: the heap may grow to 1.5 times
// what was live after the last collection (Go's default is 100, twice). A
// node's live heap is small (about 4 MiB at N=10) and it allocates slowly,
// so collecting twice as often costs a few hundredths of a percent of a
// core and keeps about 1.5 MiB less heap resident (docs/performance.md).
const defaultGCPercent = 50

// runtimeMemory is what tuneRuntimeMemory applied.
type runtimeMemory struct {
	// GCPercent is the GC target in force; GCFromEnv: it is the
	// environment's GOGC, which meshmon leaves alone.
	GCPercent int
	GCFromEnv bool
	// MemProfileRate is runtime.MemProfileRate afterwards: 0 (off) unless
	// heap profiles are served (--pprof-listen) or GODEBUG sets it.
	MemProfileRate int
}

// tuneRuntimeMemory sets the Go runtime's memory settings of a running node,
// before the node starts: the GC target (unless GOGC is set) and, when no
// profiles are served, no heap-profile sampling. Sampling records the stack
// of an allocation every 512 KiB; its buckets stay resident (about 0.2 MiB)
// and each sample walks the stack. getenv reads the environment.
func tuneRuntimeMemory(getenv func(string) string, profiling bool) runtimeMemory {
	var rm runtimeMemory
	if gogc := strings.TrimSpace(getenv("GOGC")); gogc != "" {
		rm.GCPercent = gcPercent()
		rm.GCFromEnv = true
	} else {
		debug.SetGCPercent(defaultGCPercent)
		rm.GCPercent = defaultGCPercent
	}
	if !profiling && !strings.Contains(getenv("GODEBUG"), "memprofilerate=") {
		runtime.MemProfileRate = 0
	}
	rm.MemProfileRate = runtime.MemProfileRate
	return rm
}

// gcPercent is the GC target in force (what GOGC set, or SetGCPercent).
// Reading it needs a set: it sets -1 for a moment and puts it back.
func gcPercent() int {
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	return p
}
