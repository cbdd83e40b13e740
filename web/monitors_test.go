package web

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"
)

func TestMonitorsList(t *testing.T) {
	srv := serve(t, newFixture(t).full())
	var body MonitorList
	getJSON(t, srv.URL+"/api/monitors", &body)
	if len(body.Networks) != 2 || body.Networks[0].Network != "prod" || body.Networks[1].Network != "solo" {
		t.Fatalf("networks = %+v; want prod and solo in network order", body.Networks)
	}
	ms := body.Networks[0].Monitors
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	if want := []string{"shop", "db", "cert", "status page", "new"}; !slices.Equal(names, want) {
		t.Fatalf("monitors = %v; want config order %v", names, want)
	}
	shop, db, cert, fresh := ms[0], ms[1], ms[2], ms[4]
	if shop.Verdict.Status != "degraded" || !slices.Equal(shop.Verdict.Failing, []string{"server-03"}) ||
		shop.Verdict.Live != 3 || shop.Verdict.Agreed {
		t.Errorf("shop verdict = %+v; want degraded, server-03 failing of 3, not agreed", shop.Verdict)
	}
	if shop.IntervalMs != 60000 || shop.Group != "web" || shop.Target != "https://shop.example.com/health" {
		t.Errorf("shop = %+v; want interval 60000 ms, group web and its target", shop)
	}
	v := shop.Vantages[2]
	if v.Node != "server-03" || v.State != "down" || v.Reason != "HTTP 503" || v.LatencyMs == nil || *v.LatencyMs != 5000 ||
		v.At == nil || !v.At.Equal(t0.Add(59*time.Minute)) {
		t.Errorf("shop's vantage server-03 = %+v; want down, HTTP 503, 5000 ms at t0+59m", v)
	}
	if v := shop.Vantages[0]; v.LatencyMs == nil || *v.LatencyMs != 182.4 {
		t.Errorf("shop's vantage server-01 = %+v; want 182.4 ms", v)
	}
	if db.Verdict.Status != "down" || !db.Verdict.Agreed || !slices.Equal(db.Verdict.Failing, []string{"server-01", "server-02"}) {
		t.Errorf("db verdict = %+v; want an agreed down, server-01 and server-02 failing", db.Verdict)
	}
	if v := db.Vantages[2]; v.Live || v.HasResult || v.State != "" || v.LatencyMs != nil || v.At != nil {
		t.Errorf("db's vantage server-04 = %+v; want not live, no result and no result fields", v)
	}
	if cert.Verdict.Status != "warning" || !slices.Equal(cert.Verdict.Warning, []string{"server-02"}) {
		t.Errorf("cert verdict = %+v; want warning from server-02", cert.Verdict)
	}
	if fresh.Verdict.Status != "unknown" || fresh.Verdict.Failing == nil || fresh.Verdict.Warning == nil {
		t.Errorf("new verdict = %+v; want unknown with empty (not null) lists", fresh.Verdict)
	}

	// Without a source: an empty list, not null.
	srv = serve(t, newFixture(t).minimal())
	resp := get(t, srv.URL+"/api/monitors", nil)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || m["networks"] == nil {
		t.Errorf("/api/monitors without monitors = %s; want {\"networks\": []}", raw)
	}
}

func TestMonitorDetail(t *testing.T) {
	f := newFixture(t)
	srv := serve(t, f.full())
	var body MonitorDetail
	getJSON(t, srv.URL+"/api/monitors/prod/shop", &body)
	if body.Monitor.Name != "shop" || body.Monitor.Network != "prod" || body.History == nil {
		t.Fatalf("detail = %+v; want shop of prod with history", body)
	}
	h := body.History
	// Now is t0+1h: the 24h window holds 2h35m up, 5 min down and 20 min
	// degraded since the second session began at t0-2h.
	u := h.Uptime["24h"]
	if u.DownMs != (5*time.Minute).Milliseconds() || u.DegradedMs != (20*time.Minute).Milliseconds() ||
		u.UpMs != (155*time.Minute).Milliseconds() || u.Outages != 1 || u.Percent == nil {
		t.Errorf("24h uptime = %+v; want 155 min up, 20 degraded, 5 down, one outage", u)
	} else if want := 175.0 * 100 / 180; abs(*u.Percent-want) > 1e-9 {
		t.Errorf("24h uptime = %v%%; want %v%% (degraded counts as up)", *u.Percent, want)
	}
	for _, w := range []string{"24h", "7d", "30d"} {
		if _, ok := h.Uptime[w]; !ok {
			t.Errorf("uptime windows = %v; want %s", h.Uptime, w)
		}
	}
	if len(h.Outages) != 1 || h.Outages[0].DurationMs != (5*time.Minute).Milliseconds() ||
		!h.Outages[0].Start.Equal(t0.Add(35*time.Minute)) ||
		!slices.Equal(h.Outages[0].Failing, []string{"server-01", "server-03"}) {
		t.Errorf("outages = %+v; want one of 5 min at t0+35m, server-01 and server-03 failing", h.Outages)
	}
	if h.Latency.Resolution != "minute" || len(h.Latency.Vantages) != 3 {
		t.Fatalf("latency = %+v; want minutes of the 3 vantage points", h.Latency)
	}
	if lv := h.Latency.Vantages[0]; lv.Node != "server-01" || len(lv.Points) != 3 || lv.Points[0].Mean != 180 {
		t.Errorf("latency of server-01 = %+v; want 3 minutes from 180 ms", lv)
	}
	if lv := h.Latency.Vantages[2]; lv.Node != "server-03" || lv.Points == nil || len(lv.Points) != 0 {
		t.Errorf("latency of server-03 = %+v; want an empty series", lv)
	}

	// A custom range ending before the outage has none; the range's own
	// uptime is there.
	getJSON(t, srv.URL+"/api/monitors/prod/shop?from=2025-06-01T12:00:00Z&to=2025-06-01T12:30:00Z", &body)
	if body.History.Range != "custom" || len(body.History.Outages) != 0 {
		t.Errorf("custom range = %+v; want custom without outages", body.History)
	}
	if c, ok := body.History.Uptime["custom"]; !ok || c.Percent == nil || *c.Percent != 100 {
		t.Errorf("custom uptime = %+v; want 100%%", body.History.Uptime)
	}
	getJSON(t, srv.URL+"/api/monitors/prod/shop?range=7d", &body)
	if body.History.Latency.Resolution != "hour" || len(body.History.Latency.Vantages[0].Points) != 1 {
		t.Errorf("7d latency = %+v; want hourly by default, one hour", body.History.Latency)
	}

	// Without a history store the monitor is still answered.
	d := f.full()
	d.History = nil
	srv2 := serve(t, d)
	body = MonitorDetail{}
	getJSON(t, srv2.URL+"/api/monitors/prod/db", &body)
	if body.Monitor.Name != "db" || body.History != nil || body.HistoryError == "" {
		t.Errorf("detail without history = %+v; want the monitor and history_error", body)
	}
}

func TestMonitorDetailNotFound(t *testing.T) {
	srv := serve(t, newFixture(t).full())
	for _, tc := range []struct{ path, want string }{
		{"/api/monitors/prod/nope", "unknown monitor: nope in network prod"},
		{"/api/monitors/nope/shop", "unknown network: nope"},
		{"/api/monitors/solo/shop", "unknown monitor: shop in network solo"},
	} {
		resp := get(t, srv.URL+tc.path, nil)
		var e apiError
		err := json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || err != nil || e.Error != tc.want {
			t.Errorf("GET %s = %d %+v; want 404 %q", tc.path, resp.StatusCode, e, tc.want)
		}
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
