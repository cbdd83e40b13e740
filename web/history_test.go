package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/history"
)

func TestParseSpan(t *testing.T) {
	now := t0
	tests := []struct {
		name     string
		query    string
		def      string
		wantName string
		from, to time.Time
		wantErr  bool
	}{
		{"default", "", "24h", "24h", now.Add(-24 * time.Hour), now, false},
		{"named", "range=7d", "24h", "7d", now.Add(-7 * 24 * time.Hour), now, false},
		{"custom", "from=2025-05-31T12:00:00Z&to=2025-06-01T00:00:00Z", "24h", "custom",
			time.Date(2025, 5, 31, 12, 0, 0, 0, time.UTC), time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), false},
		{"custom to defaults to now", "from=2025-05-31T12:00:00Z", "24h", "custom",
			time.Date(2025, 5, 31, 12, 0, 0, 0, time.UTC), now, false},
		{"unknown range", "range=2w", "24h", "", time.Time{}, time.Time{}, true},
		{"to without from", "to=2025-06-01T00:00:00Z", "24h", "", time.Time{}, time.Time{}, true},
		{"from after to", "from=2025-06-02T00:00:00Z&to=2025-06-01T00:00:00Z", "24h", "", time.Time{}, time.Time{}, true},
		{"longer than 400 days", "from=2023-01-01T00:00:00Z", "24h", "", time.Time{}, time.Time{}, true},
		{"range and from", "range=7d&from=2025-05-31T12:00:00Z", "24h", "", time.Time{}, time.Time{}, true},
		{"bad from", "from=yesterday", "24h", "", time.Time{}, time.Time{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tc.query)
			sp, err := parseSpan(q, now, tc.def)
			if tc.wantErr {
				if err == nil {
					t.Errorf("parseSpan(%q) = %+v; want an error", tc.query, sp)
				}
				return
			}
			if err != nil || sp.name != tc.wantName || !sp.from.Equal(tc.from) || !sp.to.Equal(tc.to) {
				t.Errorf("parseSpan(%q) = %+v, %v; want %s [%v, %v]", tc.query, sp, err, tc.wantName, tc.from, tc.to)
			}
		})
	}
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp := get(t, u, nil)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: decode: %v", u, err)
	}
}

// TestNodeHistoryFromTheStore reads the fixture's stored history: server-03
// was online from two hours before t0 until t0+30m and is offline since;
// "now" is t0+1h, and before those two hours this node was not running.
func TestNodeHistoryFromTheStore(t *testing.T) {
	srv := serve(t, newFixture(t).full())
	var h SubjectHistory
	getJSON(t, srv.URL+"/api/history/prod/nodes/server-03", &h)
	if h.Current == nil || h.Current.Status != "offline" || !h.Current.Since.Equal(t0.Add(30*time.Minute)) {
		t.Errorf("current = %+v; want offline since t0+30m", h.Current)
	}
	u := h.Uptime
	if u.UpMs != (150*time.Minute).Milliseconds() || u.DownMs != (30*time.Minute).Milliseconds() ||
		u.NoDataMs != (21*time.Hour).Milliseconds() || u.Percent == nil || *u.Percent < 83.33 || *u.Percent > 83.34 {
		t.Errorf("uptime = %+v; want 2.5 h up, 30 min down, 21 h no data, 83.3 %%", u)
	}
	if len(u.Outages) != 1 || !u.Outages[0].Ongoing || u.Outages[0].DurationMs != (30*time.Minute).Milliseconds() {
		t.Errorf("outages = %+v; want one ongoing outage of 30 min", u.Outages)
	}

	var rtt SubjectHistory
	getJSON(t, srv.URL+"/api/history/prod/links/server-01/server-02?range=1h", &rtt)
	if rtt.RTT.Resolution != history.Minute || len(rtt.RTT.Points) != 3 || rtt.RTT.Points[0].Mean != 1.8 {
		t.Errorf("link rtt = %+v; want the three stored minutes", rtt.RTT)
	}

	var other SubjectHistory
	getJSON(t, srv.URL+"/api/history/prod/links/server-02/server-01?range=1h", &other)
	if other.RTT.Resolution != history.Hour || len(other.RTT.Points) != 1 || other.RTT.Points[0].Count != 180 {
		t.Errorf("rtt of a link kept per hour only = %+v; want the hour (3 minutes merged)", other.RTT)
	}

	var sum UptimeSummary
	getJSON(t, srv.URL+"/api/history/prod/uptime?links=true", &sum)
	rows := map[string]SubjectUptime{}
	for _, r := range sum.Nodes {
		rows[r.Node] = r
	}
	if p := rows["server-01"].Uptime["30d"].Percent; p == nil || *p != 100 {
		t.Errorf("server-01 30d uptime = %v; want 100 (the gap between sessions is no data, not down)", p)
	}
	if w := rows["server-04"].Uptime["24h"]; w.Percent != nil || w.NoDataMs != (24*time.Hour).Milliseconds() {
		t.Errorf("server-04 (never recorded) 24h = %+v; want all no data, no percent", w)
	}
	if len(sum.Links) != 2 {
		t.Errorf("links = %+v; want the two recorded links", sum.Links)
	}

	var outs OutageList
	getJSON(t, srv.URL+"/api/history/prod/outages", &outs)
	if len(outs.Outages) != 1 || outs.Outages[0].Node != "server-03" {
		t.Errorf("outages = %+v; want server-03's", outs.Outages)
	}
}

// restartedNode is a node's history and event log after a restart: the
// store holds the previous run's events 1..5, and the new run's log
// starts at the id the store reserved.
func restartedNode(t *testing.T) (Deps, *health.EventLog, []uint64) {
	t.Helper()
	store, _, err := history.Open(t.TempDir(), t0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.NextEventID(); err != nil { // the first run
		t.Fatal(err)
	}
	var old []health.Event
	for i := range 5 {
		old = append(old, health.Event{ID: uint64(i + 1), Time: t0.Add(time.Duration(i) * time.Second), Kind: "config",
			Severity: health.SeverityInfo, Message: "first run"})
	}
	if err := store.Write(&history.Batch{Events: old}); err != nil {
		t.Fatal(err)
	}
	next, err := store.NextEventID() // the second run
	if err != nil {
		t.Fatal(err)
	}
	events := health.NewEventLog(1000, nil)
	events.SkipTo(next)
	var ids []uint64
	for range 3 {
		ids = append(ids, events.Add(health.Event{Kind: "config", Severity: health.SeverityInfo, Message: "second run"}).ID)
	}
	f := newFixture(t)
	d := f.minimal()
	d.Events = events
	d.History = history.NewRecorder(history.RecorderConfig{Store: store, Events: events})
	return d, events, ids
}

func TestEventsPageAcrossRestarts(t *testing.T) {
	d, _, newIDs := restartedNode(t)
	srv := serve(t, d)
	var seen []uint64
	query := "?limit=3"
	for range 10 {
		page, code := getEvents(t, srv.URL, query)
		if code != http.StatusOK {
			t.Fatalf("GET /api/events%s = %d", query, code)
		}
		for _, e := range page.Events {
			seen = append(seen, e.ID)
		}
		if page.NextBefore == 0 {
			break
		}
		query = "?limit=3&before=" + strconv.FormatUint(page.NextBefore, 10)
	}
	want := []uint64{newIDs[2], newIDs[1], newIDs[0], 5, 4, 3, 2, 1}
	if len(seen) != len(want) {
		t.Fatalf("paged ids = %v; want %v (both runs, newest first)", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("paged ids = %v; want %v (both runs, newest first)", seen, want)
		}
	}
}

// TestStreamResumesAcrossRestart is the bug of issue 16: a browser that
// saw event 3 of the previous run reconnects to the restarted node; it
// must get 4 and 5 (stored) and the new run's events, whose ids are above.
func TestStreamResumesAcrossRestart(t *testing.T) {
	d, events, newIDs := restartedNode(t)
	srv, returned := trackedServer(t, d)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/events/stream", nil)
	req.Header.Set("Last-Event-ID", "3")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := readSSE(resp.Body)
	want := []uint64{4, 5, newIDs[0], newIDs[1], newIDs[2]}
	for _, id := range want {
		if m := r.next(t, "event"); m.id != strconv.FormatUint(id, 10) {
			t.Errorf("replayed event id = %s; want %d", m.id, id)
		}
	}
	r.next(t, "view")
	live := events.Add(health.Event{Kind: "config", Severity: health.SeverityInfo, Message: "live"})
	if m := r.next(t, "event"); m.id != strconv.FormatUint(live.ID, 10) || live.ID <= 5 {
		t.Errorf("live event id = %s; want %d, above the previous run's", m.id, live.ID)
	}
	cancel()
	waitReturned(t, returned)
	r.ended(t)
}

func TestHealthShowsHistoryState(t *testing.T) {
	f := newFixture(t)
	srv := serve(t, f.full())
	var body Health
	getJSON(t, srv.URL+"/api/health", &body)
	if body.History == nil || body.History.State != "ok" || body.History.Path == "" {
		t.Errorf("/api/health history = %+v; want ok with the store's path", body.History)
	}
	d := f.minimal()
	d.History = history.NewRecorder(history.RecorderConfig{Unavailable: "mkdir /data: read-only file system",
		Events: f.events, View: d.View})
	srv = serve(t, d)
	getJSON(t, srv.URL+"/api/health", &body)
	if body.History == nil || body.History.State != "unavailable" || body.History.Error == "" {
		t.Errorf("/api/health history without a store = %+v; want unavailable with the reason", body.History)
	}
	resp := get(t, srv.URL+"/api/history/prod/uptime", nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("uptime without a store = %d; want 503", resp.StatusCode)
	}
}
