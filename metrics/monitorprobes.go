package metrics

import (
	"slices"
	"sync"
	"time"
)

// MonitorProbeBuckets are the upper bounds, in seconds, of
// meshmon_monitor_probe_duration_seconds: from a local TCP connect to a
// probe that ran into its timeout (at most a minute).
func MonitorProbeBuckets() []float64 {
	return []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
}

// MonitorProbes records the probes this node runs, for
// meshmon_monitor_probe_duration_seconds and meshmon_monitor_probes_total.
// It is the one piece of monitor state the metrics keep: a histogram needs
// every probe, and the snapshots hold only the latest result. The node
// calls Observe from monitor.Config.OnProbe. It is safe for concurrent use
// and never blocks for long.
type MonitorProbes struct {
	// mu protects the following fields.
	mu    sync.Mutex
	byKey map[monitorKey]*monitorProbeStats
}

type monitorKey struct{ network, monitor string }

type monitorProbeStats struct {
	duration *DurationHistogram
	states   map[string]uint64
}

// NewMonitorProbes returns an empty recorder.
func NewMonitorProbes() *MonitorProbes {
	return &MonitorProbes{byKey: map[monitorKey]*monitorProbeStats{}}
}

// Observe records one probe of monitor in network that took d and ended in
// state (up, warn or down; a probe without a measured duration, d <= 0,
// is counted but not observed in the histogram).
func (p *MonitorProbes) Observe(network, monitorName string, d time.Duration, state string) {
	k := monitorKey{network, monitorName}
	p.mu.Lock()
	s := p.byKey[k]
	if s == nil {
		s = &monitorProbeStats{duration: NewDurationHistogram(MonitorProbeBuckets()), states: map[string]uint64{}}
		p.byKey[k] = s
	}
	s.states[state]++
	p.mu.Unlock()
	if d > 0 {
		s.duration.Observe(d)
	}
}

// Forget drops the probes of the monitors of network not in keep. A
// collector with a Monitors source already leaves out the monitors its
// snapshots no longer hold; Forget also frees their memory.
func (p *MonitorProbes) Forget(network string, keep []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k := range p.byKey {
		if k.network == network && !slices.Contains(keep, k.monitor) {
			delete(p.byKey, k)
		}
	}
}

// monitorProbeSnapshot is one monitor's probes at one moment.
type monitorProbeSnapshot struct {
	monitorKey
	duration HistogramSnapshot
	states   map[string]uint64
}

// snapshot returns every monitor's probes, sorted by network and monitor.
func (p *MonitorProbes) snapshot() []monitorProbeSnapshot {
	p.mu.Lock()
	out := make([]monitorProbeSnapshot, 0, len(p.byKey))
	stats := make([]*monitorProbeStats, 0, len(p.byKey))
	for k, s := range p.byKey {
		out = append(out, monitorProbeSnapshot{monitorKey: k, states: make(map[string]uint64, len(s.states))})
		for st, n := range s.states {
			out[len(out)-1].states[st] = n
		}
		stats = append(stats, s)
	}
	p.mu.Unlock()
	for i, s := range stats {
		out[i].duration = s.duration.Snapshot()
	}
	slices.SortFunc(out, func(a, b monitorProbeSnapshot) int {
		if a.network != b.network {
			if a.network < b.network {
				return -1
			}
			return 1
		}
		switch {
		case a.monitor < b.monitor:
			return -1
		case a.monitor > b.monitor:
			return 1
		}
		return 0
	})
	return out
}
