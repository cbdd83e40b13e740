package metrics

import (
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshmon/meshmon/monitor"
)

// MonitorStatuses are the values of meshmon_monitor_status's status label:
// every monitor has one series per status, 1 for its agreed verdict.
func MonitorStatuses() []monitor.Status {
	return []monitor.Status{monitor.StatusUnknown, monitor.StatusUp, monitor.StatusWarning,
		monitor.StatusDegraded, monitor.StatusDown}
}

// MonitorStates are the values of meshmon_monitor_probes_total's state
// label: the outcomes of one probe.
func MonitorStates() []monitor.State {
	return []monitor.State{monitor.StateUp, monitor.StateWarn, monitor.StateDown}
}

// Reasons a member's monitor result is not counted, the reason label of
// meshmon_monitor_results_ignored_total.
const (
	// IgnoredDefinitionMismatch: the author's definition of the monitor
	// differs from this node's (their config.yml differs).
	IgnoredDefinitionMismatch = "definition_mismatch"
	// IgnoredUnknownMonitor: a result for a monitor this node does not define.
	IgnoredUnknownMonitor = "unknown_monitor"
)

// MonitorCounters are one network's monitor service counters
// (monitor.Service's Mismatched and Unknown).
type MonitorCounters struct {
	// Network is the network_id.
	Network string
	// Mismatched and Unknown count results of other members not counted:
	// of another definition, and of a monitor this node does not define.
	Mismatched, Unknown uint64
}

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

// monitorDescs are the monitor families.
type monitorDescs struct {
	up, status, vantageLatency, probeDuration, probes, ignored *prometheus.Desc
}

func newMonitorDescs(d func(name, help string, labels ...string) *prometheus.Desc) monitorDescs {
	return monitorDescs{
		up: d("monitor_up",
			"Agreed verdict of a monitor: 1 when up, warning or degraded (a minority of vantage points fails), 0 when down (a majority of at least two fails); absent while unknown.",
			"network", "monitor"),
		status: d("monitor_status",
			"Agreed verdict of a monitor: 1 for its current status (unknown, up, warning, degraded, down), 0 for the others.",
			"network", "monitor", "status"),
		vantageLatency: d("monitor_vantage_latency_seconds",
			"Duration of the latest probe of a monitor by each live vantage point with a result, as this node knows it.",
			"network", "monitor", "vantage"),
		probeDuration: d("monitor_probe_duration_seconds",
			"Duration of the probes this node ran of a monitor.",
			"network", "monitor"),
		probes: d("monitor_probes_total",
			"Probes this node ran of a monitor, by outcome (up, warn, down; a failed probe that is retried counts as down).",
			"network", "monitor", "state"),
		ignored: d("monitor_results_ignored_total",
			"Monitor results of other members not counted, by reason: definition_mismatch (their config.yml defines the monitor otherwise), unknown_monitor (a monitor this node does not define).",
			"network", "reason"),
	}
}

func (m monitorDescs) list() []*prometheus.Desc {
	return []*prometheus.Desc{m.up, m.status, m.vantageLatency, m.probeDuration, m.probes, m.ignored}
}

// collectMonitors emits the families of the monitor snapshots, and
// returns the monitors they hold.
func (c *Collector) collectMonitors(ch chan<- prometheus.Metric, snaps []*monitor.Snapshot) map[monitorKey]bool {
	known := map[monitorKey]bool{}
	seen := map[string]bool{}
	for _, s := range snaps {
		if s == nil || seen[s.Network] {
			continue
		}
		seen[s.Network] = true
		names := map[string]bool{}
		for _, m := range s.Monitors {
			if names[m.Name] {
				continue
			}
			names[m.Name] = true
			known[monitorKey{s.Network, m.Name}] = true
			st := m.Verdict.Status
			if st != monitor.StatusUnknown && st != "" {
				ch <- constMetric(c.mon.up, prometheus.GaugeValue, boolValue(st != monitor.StatusDown), s.Network, m.Name)
			}
			for _, x := range MonitorStatuses() {
				ch <- constMetric(c.mon.status, prometheus.GaugeValue, boolValue(st == x), s.Network, m.Name, string(x))
			}
			vantages := map[string]bool{}
			for _, v := range m.Vantages {
				if !v.Live || !v.Has || vantages[v.Node] {
					continue
				}
				vantages[v.Node] = true
				ch <- constMetric(c.mon.vantageLatency, prometheus.GaugeValue, v.Latency.Seconds(), s.Network, m.Name, v.Node)
			}
		}
	}
	return known
}

// collectMonitorProbes emits this node's probe histogram and counters;
// when known is not nil, only of the monitors it holds (a monitor removed
// by a reload loses its series).
func (c *Collector) collectMonitorProbes(ch chan<- prometheus.Metric, p *MonitorProbes, known map[monitorKey]bool) {
	for _, s := range p.snapshot() {
		if known != nil && !known[s.monitorKey] {
			continue
		}
		m, err := prometheus.NewConstHistogram(c.mon.probeDuration, s.duration.Count, s.duration.Sum, s.duration.Buckets,
			s.network, s.monitor)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(c.mon.probeDuration, err)
		} else {
			ch <- m
		}
		states := make([]string, 0, len(s.states)+3)
		for _, st := range MonitorStates() {
			states = append(states, string(st))
		}
		for st := range s.states {
			if !slices.Contains(states, st) {
				states = append(states, st)
			}
		}
		for _, st := range states {
			ch <- constMetric(c.mon.probes, prometheus.CounterValue, float64(s.states[st]), s.network, s.monitor, st)
		}
	}
}

// collectMonitorCounters emits the ignored results of every network.
func (c *Collector) collectMonitorCounters(ch chan<- prometheus.Metric, cs []MonitorCounters) {
	for _, mc := range dedupe(cs, func(m MonitorCounters) string { return m.Network }) {
		ch <- constMetric(c.mon.ignored, prometheus.CounterValue, float64(mc.Mismatched), mc.Network, IgnoredDefinitionMismatch)
		ch <- constMetric(c.mon.ignored, prometheus.CounterValue, float64(mc.Unknown), mc.Network, IgnoredUnknownMonitor)
	}
}
