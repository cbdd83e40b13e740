package uitest

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/history"
	"github.com/meshmon/meshmon/monitor"
	"github.com/meshmon/meshmon/p2p"
	"github.com/meshmon/meshmon/web"
)

// monitorSnapshot is prod's monitors as node-01 sees them at now: shop
// fails from node-03 only (degraded), db is down from node-01 and node-02,
// cert warns, and queue (group backend) has a member without a result
// and one that does not run it.
func monitorSnapshot(now time.Time) []*monitor.Snapshot {
	v := func(node string, st monitor.State, ms float64, reason string) monitor.Vantage {
		return monitor.Vantage{Node: node, Live: true, Has: true, State: st, Latency: time.Duration(ms * float64(time.Millisecond)),
			Reason: reason, At: now.Add(-10 * time.Second), Since: now.Add(-20 * time.Minute)}
	}
	view := func(name, typ, target, group string, since time.Duration, vs ...monitor.Vantage) monitor.View {
		return monitor.View{Name: name, Type: typ, Target: target, Group: group, Interval: time.Minute,
			Verdict: monitor.Agree(vs), Since: now.Add(-since), Vantages: vs}
	}
	return []*monitor.Snapshot{{Network: "prod", UpdatedAt: now, Monitors: []monitor.View{
		view("shop", "https", "https://shop.example.com/health", "web", 20*time.Minute,
			v(name(0), monitor.StateUp, 182, ""), v(name(1), monitor.StateUp, 211, ""), v(name(2), monitor.StateDown, 64, "HTTP 503")),
		view("db", "tcp", "db.internal:5432", "backend", 5*time.Minute,
			v(name(0), monitor.StateDown, 0.4, "connection refused"), v(name(1), monitor.StateDown, 0.6, "connection refused"),
			v(name(2), monitor.StateUp, 1.2, "")),
		view("cert", "tls", "shop.example.com:443", "web", time.Hour,
			v(name(0), monitor.StateWarn, 31, "certificate expires in 5 days"), v(name(1), monitor.StateWarn, 35, "certificate expires in 5 days")),
		view("queue", "tcp", "mq.internal:5672", "backend", 2*time.Minute,
			monitor.Vantage{Node: name(0), Live: true}, v(name(2), monitor.StateUp, 3, "")),
	}}}
}

// serveMonitors serves the real web.NewServer with prod's monitors and a
// real history store holding three hours of shop: up, down for 10 minutes
// from 50 minutes ago (node-01 and node-03 failing), up, then partial for
// the last 20 minutes; and an hour of response times per vantage point.
func serveMonitors(t *testing.T) string {
	t.Helper()
	now := time.Now()
	store, _, err := history.Open(t.TempDir(), now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	at := func(d time.Duration) time.Time { return now.Add(d) }
	mc := func(d time.Duration, from, to string, failing ...string) history.MonitorChange {
		return history.MonitorChange{Network: "prod", Monitor: "shop", Session: 1, Time: at(d), From: from, To: to, Live: 3, Failing: failing}
	}
	b := &history.Batch{
		Sessions: []history.Session{{ID: 1, Start: at(-3 * time.Hour), End: at(time.Hour)}},
		Monitors: []history.MonitorChange{
			mc(-3*time.Hour, "unknown", "up"),
			mc(-50*time.Minute, "up", "down", name(0), name(2)),
			mc(-40*time.Minute, "down", "up"),
			mc(-20*time.Minute, "up", "degraded", name(2)),
		},
	}
	for i := range 60 {
		start := at(-time.Duration(60-i) * time.Minute).Truncate(time.Minute)
		for j := range 3 {
			ms := 180 + 15*float64(j) + float64(i%7)
			b.Minutes = append(b.Minutes, history.RTTSample{Subject: history.VantageSubject("prod", "shop", name(j)),
				Rollup: history.Rollup{Start: start, Min: ms - 10, Mean: ms, Max: ms + 12, Count: 1}})
		}
	}
	if err := store.Write(b); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	v := meshView("prod", 3, nil)
	srv := httptest.NewServer(web.NewServer(web.Deps{
		Version:        "v0.0.0-test",
		P2P:            func() p2p.P2PInfo { return p2p.P2PInfo{PeerID: "12D3KooWTest", Addrs: []string{}} },
		View:           func() *health.View { return v },
		Events:         health.NewEventLog(100, nil),
		StreamInterval: time.Second,
		Done:           done,
		History:        history.NewRecorder(history.RecorderConfig{Store: store}),
		Monitors:       func() []*monitor.Snapshot { return monitorSnapshot(now) },
	}))
	t.Cleanup(func() {
		close(done)
		srv.Close()
	})
	return srv.URL
}

func TestMonitorsScreen(t *testing.T) {
	chromiumPath(t)
	base := serveMonitors(t)
	b := newBrowser(t)
	shots := newShots(t)
	tb := b.newTab(t, "monitors")

	tb.open(base+"/monitors", `document.querySelectorAll('[data-testid=mon-matrix] tr[data-monitor]').length === 4`)
	// Grouped: web (shop, cert) then backend (db, queue), vantage columns
	// in config order.
	order := mustEval[string](tb, `[...document.querySelectorAll('[data-testid=mon-matrix] tbody')].map(g => g.dataset.group + ':' +
		[...g.querySelectorAll('tr[data-monitor]')].map(r => r.dataset.monitor).join(',')).join(' ')`)
	if order != "web:shop,cert backend:db,queue" {
		t.Errorf("matrix groups = %q; want web:shop,cert backend:db,queue", order)
	}
	cols := mustEval[string](tb, `[...document.querySelectorAll('[data-testid=mon-matrix] thead th[data-node]')].map(c => c.dataset.node).join(',')`)
	if cols != "node-01,node-02,node-03" {
		t.Errorf("vantage columns = %q; want node-01,node-02,node-03", cols)
	}

	// shop is partial, with the failing vantage point named; db is down.
	shop := mustEval[string](tb, `document.querySelector('tr[data-monitor=shop] [data-testid=mon-verdict]').textContent + ' | ' +
		document.querySelector('tr[data-monitor=shop] [data-testid=mon-failing]').textContent`)
	if shop != "Partial | fails from node-03" {
		t.Errorf("shop's verdict = %q; want Partial, failing from node-03", shop)
	}
	if st := mustEval[string](tb, `document.querySelector('tr[data-monitor=shop]').dataset.status`); st != "degraded" {
		t.Errorf("shop's row status = %q; want degraded", st)
	}
	db := mustEval[string](tb, `document.querySelector('tr[data-monitor=db] [data-testid=mon-verdict]').textContent + ' | ' +
		document.querySelector('tr[data-monitor=db] [data-testid=mon-failing]').textContent`)
	if db != "Down | down from node-01, node-02" {
		t.Errorf("db's verdict = %q; want Down from node-01, node-02", db)
	}
	if got := mustEval[string](tb, `document.querySelector('tr[data-monitor=cert] [data-testid=mon-verdict]').textContent`); got != "Warning" {
		t.Errorf("cert's verdict = %q; want Warning", got)
	}
	// Each cell is the vantage point's state, with latency.
	cells := mustEval[string](tb, `['shop','db','queue'].map(m => [...document.querySelectorAll('tr[data-monitor="' + m + '"] td.mon-cell')]
		.map(c => c.dataset.state).join(',')).join(' ')`)
	if cells != "up,up,down down,down,up none,na,up" {
		t.Errorf("cell states = %q; want up,up,down down,down,up none,na,up", cells)
	}
	if got := mustEval[string](tb, `document.querySelector('tr[data-monitor=shop] td[data-node=node-01]').textContent`); got != "182 ms" {
		t.Errorf("shop's node-01 cell = %q; want 182 ms", got)
	}
	title := mustEval[string](tb, `document.querySelector('tr[data-monitor=shop] td[data-node=node-03] button').title`)
	if !containsAll(title, "node-03", "down", "HTTP 503", "64 ms") {
		t.Errorf("shop's node-03 cell title = %q; want its state, reason and latency on hover", title)
	}
	// A click shows the same, for touch screens.
	tb.do("click shop's node-03 cell", chromedp.Click(chromedp.CSS(`tr[data-monitor=shop] td[data-node=node-03] button`)))
	tb.waitFor("the picked cell's reason", `(document.querySelector('[data-testid=mon-reason]') || {}).textContent === 'HTTP 503'`, 10*time.Second)
	shots.take(tb, "monitors-desktop")

	// The detail: uptime, outage with its duration, a chart per vantage point.
	tb.do("choose shop", chromedp.Click(chromedp.CSS(`tr[data-monitor=shop] button[data-action=monitor]`)))
	tb.waitFor("shop's detail", `location.search.includes('monitor=shop') &&
		document.querySelectorAll('[data-testid=mon-detail] [data-testid=hist-rtt]').length === 3`, 15*time.Second)
	charts := mustEval[string](tb, `[...document.querySelectorAll('[data-testid=mon-detail] .mon-chart')].map(c =>
		c.dataset.node + ':' + (+c.querySelector('[data-testid=hist-rtt]').dataset.points >= 59) + ':' + !!c.querySelector('polyline.mean')).join(' ')`)
	if charts != "node-01:true:true node-02:true:true node-03:true:true" {
		t.Errorf("response-time charts = %q; want one per vantage point, each with its hour of points and a mean line", charts)
	}
	outage := mustEval[string](tb, `[...document.querySelectorAll('[data-testid=mon-outages] tbody tr')].map(r => r.textContent).join(' / ')`)
	if !containsAll(outage, "10 min", "node-01, node-03") || strings.Count(outage, " / ") != 0 {
		t.Errorf("outages = %q; want one of 10 min, down from node-01 and node-03", outage)
	}
	// 24 h: 3 h known, 10 min of it down.
	up := mustEval[string](tb, `document.querySelector('[data-testid=mon-uptime] [data-window="24h"] .stat-value').textContent`)
	// The page asks a little after the store was written: a few more
	// seconds up.
	if p, err := strconv.ParseFloat(strings.TrimSuffix(up, "%"), 64); err != nil || p < 94.44 || p > 94.6 {
		t.Errorf("shop's 24h uptime = %q; want 94.44%% or a little more (10 min down of 3 h known; partial counts as up)", up)
	}
	strip := mustEval[string](tb, `(() => { const r = [...document.querySelectorAll('[data-testid=mon-strip] rect')];
		return r.length + ':' + r[r.length - 1].dataset.state + ':' + r.some(x => x.dataset.state === 'down'); })()`)
	if strip != "48:degraded:true" {
		t.Errorf("status strip = %q; want 48 bars ending partial, with the outage", strip)
	}
	shots.take(tb, "monitors-detail-desktop")

	// The range buttons reload: over 1 h there are 60 minutes of points.
	tb.do("choose 1h", chromedp.Click(chromedp.CSS(`[data-testid=mon-ranges] [data-range="1h"]`)))
	tb.waitFor("1h detail", `location.search.includes('range=1h') &&
		[...document.querySelectorAll('[data-testid=mon-strip] rect')].filter(x => x.dataset.state === 'down').length >= 7`, 10*time.Second)

	tb.phone()
	tb.open(base+"/monitors?network=prod&monitor=shop", `document.querySelectorAll('[data-testid=mon-detail] [data-testid=hist-rtt]').length === 3`)
	tb.noHorizontalScroll("monitors at 375px")
	shots.take(tb, "monitors-phone")
	tb.clean("monitors screen")
}

// TestMonitorsScreenEmpty: a node without monitors says how to add them.
func TestMonitorsScreenEmpty(t *testing.T) {
	chromiumPath(t)
	base := serveView(t, meshView("prod", 3, nil), nil)
	b := newBrowser(t)
	tb := b.newTab(t, "monitors-empty")
	tb.open(base+"/monitors", `/No monitors/.test(document.querySelector('main').textContent)`)
	if got := mustEval[string](tb, `document.querySelector('[data-nav=monitors]').getAttribute('aria-current')`); got != "page" {
		t.Errorf("Monitors nav link aria-current = %q; want page", got)
	}
	tb.clean("monitors screen without monitors")
}
