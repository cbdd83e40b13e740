package metrics

import (
	"slices"

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
