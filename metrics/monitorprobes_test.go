package metrics_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshmon/meshmon/metrics"
)

// TestMonitorProbesConcurrent: Observe from many probers while scraping.
func TestMonitorProbesConcurrent(t *testing.T) {
	p := metrics.NewMonitorProbes()
	_, src := newSources(t)
	src.MonitorProbes = p
	h := metrics.Handler(newRegistry(t, src))
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				p.Observe("prod", []string{"shop", "api"}[i%2], time.Duration(j)*time.Millisecond, "up")
			}
		}()
	}
	for range 5 {
		scrape(t, h)
	}
	wg.Wait()
	body := scrape(t, h)
	for _, want := range []string{
		`meshmon_monitor_probes_total{monitor="shop",network="prod",state="up"} 400`,
		`meshmon_monitor_probe_duration_seconds_count{monitor="api",network="prod"} 398`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("scrape lacks %q", want)
		}
	}
}
