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
	"github.com/meshmon/meshmon/p2p"
	"github.com/meshmon/meshmon/web"
)

// serveHistory serves the real web.NewServer over v and a real history
// store in a temp dir holding three hours of this node's watch: every
// member online, node-03 offline for the last 30 minutes, and an hour of
// RTT rollups for node-01 and the link node-01 → node-02. rec, when not
// nil, replaces the store (e.g. one without a store).
func serveHistory(t *testing.T, v *health.View, rec *history.Recorder) string {
	t.Helper()
	return serveHistoryEvents(t, v, rec, health.NewEventLog(100, nil))
}

// serveHistoryEvents is serveHistory with the event log the server
// streams (the one rec raises its events in).
func serveHistoryEvents(t *testing.T, v *health.View, rec *history.Recorder, events *health.EventLog) string {
	t.Helper()
	now := time.Now()
	if rec == nil {
		store, _, err := history.Open(t.TempDir(), now)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		at := func(d time.Duration) time.Time { return now.Add(d) }
		node := func(n string) history.Subject { return history.NodeSubject("prod", n) }
		link := history.LinkSubject("prod", name(0), name(1))
		b := &history.Batch{
			// The session runs on past the page's requests, as a running
			// recorder's does (it ends at the time of each query).
			Sessions: []history.Session{{ID: 1, Start: at(-3 * time.Hour), End: at(time.Hour)}},
			Changes: []history.Change{
				{Subject: node(name(0)), Session: 1, Time: at(-3 * time.Hour), From: "unknown", To: "online"},
				{Subject: node(name(1)), Session: 1, Time: at(-3 * time.Hour), From: "unknown", To: "online"},
				{Subject: node(name(2)), Session: 1, Time: at(-3 * time.Hour), From: "unknown", To: "online"},
				{Subject: node(name(2)), Session: 1, Time: at(-30 * time.Minute), From: "online", To: "offline"},
				{Subject: link, Session: 1, Time: at(-3 * time.Hour), To: "up"},
			},
		}
		for i := range 60 {
			start := at(-time.Duration(60-i) * time.Minute).Truncate(time.Minute)
			ms := 2 + float64(i%10)/5
			b.Minutes = append(b.Minutes,
				history.RTTSample{Subject: node(name(0)), Rollup: history.Rollup{Start: start, Min: ms - 0.5, Mean: ms, Max: ms + 1, Count: 60}},
				history.RTTSample{Subject: link, Rollup: history.Rollup{Start: start, Min: ms - 0.3, Mean: ms + 0.2, Max: ms + 0.8, Count: 60}})
		}
		if err := store.Write(b); err != nil {
			t.Fatal(err)
		}
		rec = history.NewRecorder(history.RecorderConfig{Store: store})
	}
	done := make(chan struct{})
	srv := httptest.NewServer(web.NewServer(web.Deps{
		Version:        "v0.0.0-test",
		P2P:            func() p2p.P2PInfo { return p2p.P2PInfo{PeerID: "12D3KooWTest", Addrs: []string{}} },
		View:           func() *health.View { return v },
		Events:         events,
		StreamInterval: time.Second,
		Done:           done,
		History:        rec,
	}))
	t.Cleanup(func() {
		close(done)
		srv.Close()
	})
	return srv.URL
}

func TestHistoryScreen(t *testing.T) {
	chromiumPath(t)
	base := serveHistory(t, meshView("prod", 3, map[int]bool{2: true}), nil)
	b := newBrowser(t)
	shots := newShots(t)
	tb := b.newTab(t, "history")

	tb.open(base+"/history?node=node-01&peer=node-02",
		`document.querySelectorAll('[data-testid=hist-uptime] tbody tr').length === 3`)
	// node-03: a status strip ending in down, 2.5 h up of 3 h known in 24 h.
	tb.waitFor("node-03's strip ends down",
		`(() => { const r = [...document.querySelectorAll('tr[data-node="node-03"] [data-testid=hist-strip] rect')];
			return r.length === 48 && r[r.length - 1].dataset.state === 'down' && r.some(x => x.dataset.state === 'up') &&
				r[0].dataset.state === 'no_data'; })()`, 10*time.Second)
	pct := mustEval[string](tb, `document.querySelector('tr[data-node="node-03"] td[data-window="24h"]').textContent`)
	// 2.5 h up; 30 min down and the seconds since the page's data was made.
	if p, err := strconv.ParseFloat(strings.TrimSuffix(pct, "%"), 64); err != nil || p < 83 || p > 83.34 {
		t.Errorf("node-03 24h uptime = %q; want 83.33%% or a little less (no data before this node started is not counted)", pct)
	}
	since := mustEval[string](tb, `document.querySelector('tr[data-node="node-03"] td:nth-child(2)').textContent`)
	if !containsAll(since, "Offline", "for 30 min") {
		t.Errorf("node-03 status cell = %q; want offline for 30 min", since)
	}
	// Its outage is listed as ongoing, 30 min so far.
	tb.waitFor("node-03's ongoing outage",
		`[...document.querySelectorAll('[data-testid=hist-outages] tbody tr')].some(r => r.dataset.node === 'node-03' && /ongoing/.test(r.textContent) && /30 min/.test(r.textContent))`, 10*time.Second)
	// RTT charts for the node and the chosen link, one point per minute.
	tb.waitFor("node and link RTT charts",
		`(() => { const c = [...document.querySelectorAll('[data-testid=hist-rtt]')];
			return c.length === 2 && c.every(x => +x.dataset.points >= 59 && x.querySelector('polyline.mean')); })()`, 10*time.Second)
	shots.take(tb, "history-desktop")

	// The range buttons reload: over 1 h node-03 is half down.
	tb.do("choose 1h", chromedp.Click(chromedp.CSS(`[data-testid=hist-ranges] [data-range="1h"]`)))
	tb.waitFor("1h strip", `location.search.includes('range=1h') &&
		(() => { const r = [...document.querySelectorAll('tr[data-node="node-03"] [data-testid=hist-strip] rect')];
			const down = r.filter(x => x.dataset.state === 'down').length; return down >= 23 && down <= 25; })()`, 10*time.Second)

	tb.phone()
	tb.open(base+"/history?node=node-01", `document.querySelectorAll('[data-testid=hist-uptime] tbody tr').length === 3`)
	tb.noHorizontalScroll("history at 375px")
	shots.take(tb, "history-phone")
	tb.clean("history screen")
}

func TestHistoryScreenWithoutStore(t *testing.T) {
	chromiumPath(t)
	rec := history.NewRecorder(history.RecorderConfig{Unavailable: "history: create data dir: mkdir /app/config/data: read-only file system"})
	base := serveHistory(t, meshView("prod", 3, nil), rec)
	b := newBrowser(t)
	tb := b.newTab(t, "history-no-store")
	tb.open(base+"/history", `document.querySelector('[data-testid=hist-store][data-state=unavailable]')`)
	text := mustEval[string](tb, `document.querySelector('[data-testid=hist-store]').textContent`)
	if !containsAll(text, "not being kept", "read-only file system", "Monitoring and alerts go on") {
		t.Errorf("store banner = %q; want why, and that monitoring goes on", text)
	}
	tb.clean("history screen without a store")
}
