package cputime

import (
	"crypto/sha256"
	"runtime"
	"testing"
	"time"
)

// TestProcessGrowsWithWork: work done by this process shows in its CPU time.
func TestProcessGrowsWithWork(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("CPU time is not read on " + runtime.GOOS)
	}
	before, ok := Process()
	if !ok {
		t.Fatal("Process() = false on a unix system")
	}
	sum := sha256.Sum256(nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		for range 10000 {
			sum = sha256.Sum256(sum[:])
		}
		after, _ := Process()
		if after > before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU time %v → %v after 5 s of hashing; want it to grow", before, after)
		}
	}
}
