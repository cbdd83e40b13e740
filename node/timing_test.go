package node_test

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/node/nodetest"
)

// TestTimingChangeInPlace: in round 1 a timing change made the engine
// restart its seq under the same boot_id; peers dropped every message as
// stale and showed the node as left for as long as it had run. Now the
// change is applied in place: n1 keeps its incarnation, is never anything
// but online at the others, and its new timing reaches them.
func TestTimingChangeInPlace(t *testing.T) {
	c := nodetest.StartCluster(t, 3, nodetest.Options{})
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge)
	before, err := c.View(1)
	if err != nil {
		t.Fatal(err)
	}
	boot := before.Nodes["n1"].BootID

	// Watch n1 at n2 and n3 until the change has been seen.
	var mu sync.Mutex
	var bad []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for _, i := range []int{1, 2} {
				st, err := c.Statuses(i)
				if err == nil && st["n1"] != health.StatusOnline {
					mu.Lock()
					bad = append(bad, c.Names[i]+" saw n1 "+string(st["n1"]))
					mu.Unlock()
				}
			}
		}
	})

	cfgPath := filepath.Join(netDir(c, 0, "test"), "config.yml")
	good := readFile(t, cfgPath)
	writeRename(t, cfgPath, strings.Replace(good, "suspect_after: 1s", "suspect_after: 1500ms", 1))
	waitView(t, c, 1, "n2 to warn that n1 announces another timing", func(*health.NetworkView) bool {
		for _, e := range c.Node(1).Events().List(nil) {
			if e.Kind == "config" && strings.Contains(e.Message, "n1 uses timing") {
				return true
			}
		}
		return false
	})
	close(stop)
	wg.Wait()
	if len(bad) > 0 {
		t.Errorf("n1 left online during its timing change: %q", bad)
	}
	after, err := c.View(1)
	if err != nil {
		t.Fatal(err)
	}
	if got := after.Nodes["n1"].BootID; got != boot {
		t.Errorf("n1's incarnation at n2 went from %d to %d; want unchanged (no rejoin)", boot, got)
	}
	if rs := c.Node(0).ReloadStatus(); !rs.OK {
		t.Errorf("reload status %+v; want OK", rs)
	}
}
