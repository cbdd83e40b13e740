package main

import (
	"syscall"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/node/nodetest"
)

// TestProcessesKill9 runs three real `meshmon run` processes on loopback,
// kills one with SIGKILL and expects the other two to agree it is offline
// through their /api/view.
func TestProcessesKill9(t *testing.T) {
	p := nodetest.StartProcs(t, nodetest.Binary(t), 3, nodetest.ProcOptions{
		Heartbeat: "500ms", SuspectAfter: "2s",
	})
	p.WaitAgree([]int{0, 1, 2}, []int{0, 1, 2}, health.StatusOnline, 60*time.Second)
	p.Signal(2, syscall.SIGKILL)
	p.Wait(2, 10*time.Second)
	p.WaitAgree([]int{0, 1}, []int{2}, health.StatusOffline, 60*time.Second)
	p.WaitAgree([]int{0, 1}, []int{0, 1}, health.StatusOnline, 10*time.Second)
}

// TestProcessSIGTERMIsLeft: a process stopped with SIGTERM announces that it
// leaves, so the others show it left, not offline.
func TestProcessSIGTERMIsLeft(t *testing.T) {
	p := nodetest.StartProcs(t, nodetest.Binary(t), 3, nodetest.ProcOptions{
		Heartbeat: "500ms", SuspectAfter: "2s",
	})
	p.WaitAgree([]int{0, 1, 2}, []int{0, 1, 2}, health.StatusOnline, 60*time.Second)
	p.Signal(1, syscall.SIGTERM)
	p.Wait(1, 15*time.Second)
	p.WaitAgree([]int{0, 2}, []int{1}, health.StatusLeft, 30*time.Second)
}
