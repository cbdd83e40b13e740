package main

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/meshmon/meshmon/node"
	"github.com/meshmon/meshmon/node/nodetest"
)

// keepRuntimeMemory restores the GC target and the heap-profile rate that
// a test changes (they are process-wide).
func keepRuntimeMemory(t *testing.T) {
	t.Helper()
	gc := gcPercent()
	rate := runtime.MemProfileRate
	t.Cleanup(func() {
		debug.SetGCPercent(gc)
		runtime.MemProfileRate = rate
	})
}

func TestTuneRuntimeMemory(t *testing.T) {
	const sampling = 512 * 1024 // Go's default MemProfileRate
	cases := []struct {
		name      string
		env       map[string]string
		runtimeGC int // the GC target the runtime started with (from GOGC)
		profiling bool
		want      runtimeMemory
	}{
		{name: "defaults", runtimeGC: 100,
			want: runtimeMemory{GCPercent: defaultGCPercent, MemProfileRate: 0}},
		{name: "GOGC set", env: map[string]string{"GOGC": "80"}, runtimeGC: 80,
			want: runtimeMemory{GCPercent: 80, GCFromEnv: true, MemProfileRate: 0}},
		{name: "GOGC off", env: map[string]string{"GOGC": "off"}, runtimeGC: -1,
			want: runtimeMemory{GCPercent: -1, GCFromEnv: true, MemProfileRate: 0}},
		{name: "profiles served", runtimeGC: 100, profiling: true,
			want: runtimeMemory{GCPercent: defaultGCPercent, MemProfileRate: sampling}},
		{name: "GODEBUG memprofilerate", env: map[string]string{"GODEBUG": "madvdontneed=1,memprofilerate=4096"}, runtimeGC: 100,
			want: runtimeMemory{GCPercent: defaultGCPercent, MemProfileRate: sampling}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			keepRuntimeMemory(t)
			debug.SetGCPercent(tc.runtimeGC)
			runtime.MemProfileRate = sampling
			got := tuneRuntimeMemory(func(k string) string { return tc.env[k] }, tc.profiling)
			if got != tc.want {
				t.Errorf("tuneRuntimeMemory = %+v; want %+v", got, tc.want)
			}
			if gc := gcPercent(); gc != tc.want.GCPercent {
				t.Errorf("GC target in force = %d; want %d", gc, tc.want.GCPercent)
			}
			if runtime.MemProfileRate != tc.want.MemProfileRate {
				t.Errorf("runtime.MemProfileRate = %d; want %d", runtime.MemProfileRate, tc.want.MemProfileRate)
			}
		})
	}
}

// TestRunTunesRuntimeMemory: `meshmon run` without GOGC in its environment
// runs its node with the GC target at defaultGCPercent and heap-profile
// sampling off.
func TestRunTunesRuntimeMemory(t *testing.T) {
	keepRuntimeMemory(t)
	t.Setenv("GOGC", "") // restored after the test
	os.Unsetenv("GOGC")
	debug.SetGCPercent(100)
	runtime.MemProfileRate = 512 * 1024

	port := nodetest.FreePorts(t, 1)[0]
	dirs, err := node.WriteCluster(node.ClusterSpec{
		Dir: t.TempDir(), NetworkID: "gc", Names: []string{"a"},
		URLs:      []string{fmt.Sprintf("http://127.0.0.1:%d", port)},
		P2PListen: []string{"/ip4/127.0.0.1/tcp/0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"meshmon", "run", "--config-dir", dirs[0], "--log-level", "INFO",
		"--http-listen", fmt.Sprintf("127.0.0.1:%d", port)}
	r := startRunInProcess(t, args)
	ok := nodetest.Eventually(15*time.Second, func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/health", port))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	if !ok {
		t.Fatalf("node did not answer within 15s%s", r.exited())
	}
	if gc := gcPercent(); gc != defaultGCPercent {
		t.Errorf("GC target of a running node = %d; want %d", gc, defaultGCPercent)
	}
	if runtime.MemProfileRate != 0 {
		t.Errorf("runtime.MemProfileRate of a running node = %d; want 0", runtime.MemProfileRate)
	}
	if want := fmt.Sprintf("gc_percent=%d", defaultGCPercent); !strings.Contains(r.logs.String(), want) {
		t.Errorf("logs do not say %q:\n%s", want, r.logs.String())
	}
}
