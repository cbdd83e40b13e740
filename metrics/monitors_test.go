package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/meshmon/meshmon/metrics"
	"github.com/meshmon/meshmon/monitor"
)

// fakeMonitors has a monitor of every verdict in prod.
func fakeMonitors() []*monitor.Snapshot {
	v := func(node string, st monitor.State, lat time.Duration) monitor.Vantage {
		return monitor.Vantage{Node: node, Live: true, Has: true, State: st, Latency: lat}
	}
	view := func(name string, vs ...monitor.Vantage) monitor.View {
		return monitor.View{Name: name, Type: "http", Group: "web", Interval: time.Minute, Vantages: vs, Verdict: monitor.Agree(vs)}
	}
	return []*monitor.Snapshot{{Network: "prod", Monitors: []monitor.View{
		view("shop", v("a", monitor.StateUp, 120*time.Millisecond), v("c", monitor.StateUp, 80*time.Millisecond)),
		view("api", v("a", monitor.StateUp, 50*time.Millisecond), v("b", monitor.StateUp, 60*time.Millisecond),
			v("c", monitor.StateDown, 5*time.Second)),
		view("db", v("a", monitor.StateDown, time.Millisecond), v("c", monitor.StateDown, 2*time.Millisecond)),
		view("cert", v("a", monitor.StateWarn, 30*time.Millisecond)),
		view("new", monitor.Vantage{Node: "a", Live: true},
			monitor.Vantage{Node: "d", Has: true, State: monitor.StateUp, Latency: time.Second}),
	}}, {Network: "lab", Monitors: []monitor.View{}}}
}

func fakeProbes() *metrics.MonitorProbes {
	p := metrics.NewMonitorProbes()
	p.Observe("prod", "shop", 120*time.Millisecond, "up")
	p.Observe("prod", "shop", 300*time.Millisecond, "up")
	p.Observe("prod", "shop", 5*time.Second, "down")
	p.Observe("prod", "db", time.Millisecond, "down")
	return p
}

func TestMonitorMetrics(t *testing.T) {
	_, src := newSources(t)
	body := scrape(t, metrics.Handler(newRegistry(t, src)))
	checkMetrics(t, body)
	for _, want := range []string{
		`meshmon_monitor_up{monitor="shop",network="prod"} 1`,
		`meshmon_monitor_up{monitor="api",network="prod"} 1`, // degraded: one of three fails
		`meshmon_monitor_up{monitor="db",network="prod"} 0`,
		`meshmon_monitor_up{monitor="cert",network="prod"} 1`,
		`meshmon_monitor_status{monitor="api",network="prod",status="degraded"} 1`,
		`meshmon_monitor_status{monitor="api",network="prod",status="up"} 0`,
		`meshmon_monitor_status{monitor="db",network="prod",status="down"} 1`,
		`meshmon_monitor_status{monitor="cert",network="prod",status="warning"} 1`,
		`meshmon_monitor_status{monitor="new",network="prod",status="unknown"} 1`,
		`meshmon_monitor_status{monitor="shop",network="prod",status="unknown"} 0`,
		`meshmon_monitor_vantage_latency_seconds{monitor="shop",network="prod",vantage="a"} 0.12`,
		`meshmon_monitor_vantage_latency_seconds{monitor="api",network="prod",vantage="c"} 5`,
		`meshmon_monitor_probe_duration_seconds_bucket{monitor="shop",network="prod",le="0.25"} 1`,
		`meshmon_monitor_probe_duration_seconds_bucket{monitor="shop",network="prod",le="5"} 3`,
		`meshmon_monitor_probe_duration_seconds_count{monitor="shop",network="prod"} 3`,
		`meshmon_monitor_probes_total{monitor="shop",network="prod",state="up"} 2`,
		`meshmon_monitor_probes_total{monitor="shop",network="prod",state="down"} 1`,
		`meshmon_monitor_probes_total{monitor="shop",network="prod",state="warn"} 0`,
		`meshmon_monitor_probes_total{monitor="db",network="prod",state="down"} 1`,
		`meshmon_monitor_results_ignored_total{network="prod",reason="definition_mismatch"} 2`,
		`meshmon_monitor_results_ignored_total{network="prod",reason="unknown_monitor"} 1`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("scrape lacks %q", want)
		}
	}
	for _, absent := range []string{
		`meshmon_monitor_up{monitor="new"`,                      // unknown: absent
		`meshmon_monitor_vantage_latency_seconds{monitor="new"`, // no result, or not live
		`monitor="api",network="prod",status="warning"} 1`,
	} {
		if strings.Contains(body, absent) {
			t.Errorf("scrape has %q; want it absent", absent)
		}
	}
}

// TestMonitorSeriesFollowTheSnapshots: a monitor removed from the config
// (the next snapshot) loses its series, its probes included.
func TestMonitorSeriesFollowTheSnapshots(t *testing.T) {
	snap, src := newSources(t)
	h := metrics.Handler(newRegistry(t, src))
	if before := scrape(t, h); !strings.Contains(before, `monitor="db"`) {
		t.Fatalf("first scrape lacks monitor db")
	}
	ms := fakeMonitors()
	ms[0].Monitors = ms[0].Monitors[:2]
	snap.mu.Lock()
	snap.monitors = ms
	snap.mu.Unlock()
	after := scrape(t, h)
	if strings.Contains(after, `monitor="db"`) {
		t.Errorf("scrape after removing db still has its series")
	}
	if !strings.Contains(after, `meshmon_monitor_probes_total{monitor="shop",network="prod",state="up"} 2`) {
		t.Errorf("scrape after removing db lost shop's probes")
	}
	checkMetrics(t, after)

	// Forget frees what the snapshots no longer hold: db's probes stay
	// gone when it comes back.
	src.MonitorProbes.Forget("prod", []string{"shop", "api"})
	snap.mu.Lock()
	snap.monitors = fakeMonitors()
	snap.mu.Unlock()
	if again := scrape(t, h); strings.Contains(again, `meshmon_monitor_probes_total{monitor="db"`) ||
		!strings.Contains(again, `meshmon_monitor_up{monitor="db",network="prod"} 0`) {
		t.Errorf("scrape after Forget and db's return: want db's verdict without its forgotten probes")
	}
}
