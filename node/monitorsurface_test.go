package node_test

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshmon/meshmon/monitor"
	"github.com/meshmon/meshmon/node/nodetest"
	"github.com/meshmon/meshmon/web"
)

func getAPI(t *testing.T, url string, v any) {
	t.Helper()
	if err := nodetest.GetJSON(url, v); err != nil {
		t.Fatal(err)
	}
}

// metricValue is the value of the series line that starts with series.
func metricValue(body, series string) (float64, bool) {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, err == nil
}

// The surfaces of monitors on running nodes: a service that answers 503 to
// one member only (degraded, that member named) and one that refuses every
// member (down) show in /api/monitors, in /metrics (the verdicts, this
// node's probe histogram and counters) and in each monitor's history
// (uptime, outages and per-vantage response times recorded by the node).
func TestMonitorSurfaces(t *testing.T) {
	svc := newService(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.UserAgent(), "(node n2)") {
			http.Error(w, "blocked", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	gone := newService(t, http.NotFoundHandler())
	gone.stop()
	c := nodetest.StartCluster(t, 3, nodetest.Options{Monitors: monitorYAML("web", svc.URL()) + monitorYAML("api", gone.URL())})
	waitMonitor(t, c, c.All(), "web", "degraded from n2", converge, func(v monitor.Verdict) bool {
		return v.Status == monitor.StatusDegraded && slices.Equal(v.Failing, []string{"n2"}) && v.Live == 3
	})
	waitMonitor(t, c, c.All(), "api", "down", converge, func(v monitor.Verdict) bool {
		return v.Status == monitor.StatusDown && v.Live == 3
	})

	// The API.
	var list web.MonitorList
	getAPI(t, c.URLs[0]+"/api/monitors", &list)
	if len(list.Networks) != 1 || list.Networks[0].Network != "test" || len(list.Networks[0].Monitors) != 2 {
		t.Fatalf("/api/monitors = %+v; want network test with web and api", list)
	}
	web0 := list.Networks[0].Monitors[0]
	if web0.Name != "web" || web0.Verdict.Status != "degraded" || !slices.Equal(web0.Verdict.Failing, []string{"n2"}) ||
		web0.IntervalMs != 2000 || len(web0.Vantages) != 3 {
		t.Errorf("/api/monitors web = %+v; want degraded from n2, 2 s apart, 3 vantage points", web0)
	}
	if v := web0.Vantages[1]; v.Node != "n2" || v.State != "down" || !strings.Contains(v.Reason, "503") || v.LatencyMs == nil {
		t.Errorf("/api/monitors web's n2 = %+v; want down with HTTP 503 and its latency", v)
	}

	// The metrics.
	body := scrapeMetrics(t, c.URLs[0])
	for series, want := range map[string]float64{
		`meshmon_monitor_up{monitor="web",network="test"}`:                               1,
		`meshmon_monitor_up{monitor="api",network="test"}`:                               0,
		`meshmon_monitor_status{monitor="web",network="test",status="degraded"}`:         1,
		`meshmon_monitor_status{monitor="api",network="test",status="down"}`:             1,
		`meshmon_monitor_results_ignored_total{network="test",reason="unknown_monitor"}`: 0,
	} {
		if got, ok := metricValue(body, series); !ok || got != want {
			t.Errorf("/metrics %s = %v (found %v); want %v", series, got, ok, want)
		}
	}
	for _, series := range []string{
		`meshmon_monitor_probes_total{monitor="web",network="test",state="up"}`,
		`meshmon_monitor_probes_total{monitor="api",network="test",state="down"}`,
		`meshmon_monitor_probe_duration_seconds_count{monitor="web",network="test"}`,
		`meshmon_monitor_vantage_latency_seconds{monitor="web",network="test",vantage="n3"}`,
	} {
		if got, ok := metricValue(body, series); !ok || got <= 0 {
			t.Errorf("/metrics %s = %v (found %v); want above 0", series, got, ok)
		}
	}
	if _, ok := metricValue(body, `meshmon_monitor_probes_total{monitor="web",network="test",state="down"}`); !ok {
		t.Errorf("/metrics lacks web's down probes series (0 for n1, which is never refused)")
	}

	// The history the node recorded. Response times are kept per minute,
	// written when the minute closes: allow for the next minute boundary.
	var d web.MonitorDetail
	ok := nodetest.Eventually(converge+90*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Node(0).History().Flush(ctx); err != nil {
			return false
		}
		d = web.MonitorDetail{}
		getAPI(t, c.URLs[0]+"/api/monitors/test/api?range=1h", &d)
		if d.History == nil || len(d.History.Outages) != 1 || len(d.History.Latency.Vantages) != 3 {
			return false
		}
		for _, lv := range d.History.Latency.Vantages {
			if len(lv.Points) == 0 {
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("/api/monitors/test/api never showed the recorded outage and each vantage point's response times: %+v", d.History)
	}
	if o := d.History.Outages[0]; !o.Ongoing || len(o.Failing) < 2 {
		t.Errorf("api's outage = %+v; want ongoing, down from at least two members", o)
	}
	if u := d.History.Uptime["1h"]; u.Percent == nil || *u.Percent > 50 || u.DownMs <= 0 {
		t.Errorf("api's uptime over 1h = %+v; want mostly down", u)
	}
	getAPI(t, c.URLs[0]+"/api/monitors/test/web", &d)
	if u := d.History.Uptime["24h"]; u.Percent == nil || u.DownMs != 0 || u.DegradedMs <= 0 {
		t.Errorf("web's uptime over 24h = %+v; want partial time counted as up, never down", u)
	}
}
