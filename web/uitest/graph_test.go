package uitest

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/p2p"
	"github.com/meshmon/meshmon/web"
)

// serveView serves the real web.NewServer with a fixed view, for shapes a
// real cluster in a test cannot easily take (50 members, one-way links).
func serveView(t *testing.T, v *health.View, clusters []web.NotificationCluster) string {
	t.Helper()
	return startServer(t, func() *health.View { return v }, viewEvents(v), clusters).URL
}

// testServer is the real web.NewServer over a view the test controls,
// behind a freezer that can make it hang.
type testServer struct {
	URL string
	*freezer
}

// startServer serves web.NewServer with the given view function, events
// and clusters; its event stream says "alive" every second.
func startServer(t *testing.T, view func() *health.View, events *health.EventLog, clusters []web.NotificationCluster) *testServer {
	t.Helper()
	done := make(chan struct{})
	if events == nil {
		events = health.NewEventLog(100, nil)
	}
	fz := newFreezer(web.NewServer(web.Deps{
		Version:              "v0.0.0-test",
		P2P:                  func() p2p.P2PInfo { return p2p.P2PInfo{PeerID: "12D3KooWTest", Addrs: []string{}} },
		View:                 view,
		Events:               events,
		NotificationClusters: func() []web.NotificationCluster { return clusters },
		StreamInterval:       time.Second,
		Done:                 done,
	}))
	srv := httptest.NewServer(fz)
	t.Cleanup(func() {
		fz.thaw()   // let held requests finish
		close(done) // end the open event streams, so Close does not wait for them
		srv.Close()
	})
	return &testServer{URL: srv.URL, freezer: fz}
}

// viewEvents is an event log with a status event for every member of v
// that is not online.
func viewEvents(v *health.View) *health.EventLog {
	events := health.NewEventLog(100, nil)
	for _, nv := range v.Networks {
		for _, n := range nv.Nodes {
			if n.Status != health.StatusOnline {
				sev := health.SeverityWarning
				if n.Status == health.StatusOffline {
					sev = health.SeverityError
				}
				events.Add(health.Event{Network: nv.NetworkID, Node: n.NodeID, Kind: "status", Severity: sev,
					Message: n.NodeID + " is " + string(n.Status), From: health.StatusOnline, To: n.Status, Confirmed: true})
			}
		}
	}
	return events
}

// meshView is a network of n members, all online and all linked both ways,
// except the members in down (offline, every link to and from them down).
func meshView(id string, n int, down map[int]bool) *health.View {
	now := time.Now()
	nv := &health.NetworkView{NetworkID: id, Self: name(0), Nodes: map[string]*health.NodeView{}, UpdatedAt: now,
		Config: &health.ConfigSource{Type: "git", Directory: id, Commit: "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
			Ref: "refs/heads/main", SyncedAt: &now, HeartbeatMS: 1000, SuspectAfterMS: 3000}}
	for i := range n {
		st := health.StatusOnline
		if down[i] {
			st = health.StatusOffline
		}
		obs := map[string]health.ObserverView{}
		for j := range n {
			if !down[j] {
				op := "reachable"
				if down[i] {
					op = "suspect"
				}
				obs[name(j)] = health.ObserverView{Opinion: op, RTTMs: rtt(j, i), Connected: !down[i]}
			}
		}
		nv.Nodes[name(i)] = &health.NodeView{NodeID: name(i), Status: st, Confirmed: true, AgreedBy: n - len(down),
			LiveObservers: n - len(down), Version: "v0.3.0", PeerID: fmt.Sprintf("12D3KooWPeer%02d", i), LastHeardMs: 120,
			Observers: obs}
		for j := range n {
			if i == j {
				continue
			}
			c := health.Connection{Src: name(i), Dst: name(j), Status: "up", RTTMs: rtt(i, j)}
			if down[i] || down[j] {
				c = health.Connection{Src: name(i), Dst: name(j), Status: "down"}
			}
			nv.Connections = append(nv.Connections, c)
		}
	}
	return &health.View{Networks: map[string]*health.NetworkView{id: nv}}
}

func name(i int) string { return fmt.Sprintf("node-%02d", i+1) }

func rtt(i, j int) float64 { return float64(1+(i*7+j*3)%40) + 0.37 }

// TestGraphScale checks the graph is readable at 50 members: every member
// is drawn inside the picture without overlapping another, RTT labels wait
// for a member to be picked, and picking one shows only its links.
func TestGraphScale(t *testing.T) {
	chromiumPath(t)
	base := serveView(t, meshView("big", 50, map[int]bool{7: true, 31: true}), nil)
	b := newBrowser(t)
	shots := newShots(t)
	tb := b.newTab(t, "graph-50")

	ready := `document.querySelectorAll('svg.graph .node').length === 50 &&
		document.querySelectorAll('svg.graph .edge').length === 2450 &&
		document.querySelectorAll('svg.graph .node[data-status=offline]').length === 2`
	tb.open(base+"/graph", ready)
	type geom struct {
		MinGap   float64 `json:"minGap"`
		Outside  int     `json:"outside"`
		Labels   int     `json:"labels"`
		R        float64 `json:"r"`
		Overlaps int     `json:"overlaps"`
	}
	measure := `(() => {
		const box = document.querySelector('svg.graph').getBoundingClientRect();
		const cs = [...document.querySelectorAll('svg.graph .node-circle')].map(c => c.getBoundingClientRect());
		let minGap = Infinity, outside = 0, overlaps = 0;
		for (let i = 0; i < cs.length; i++) {
			const a = cs[i];
			if (a.left < box.left || a.right > box.right || a.top < box.top || a.bottom > box.bottom) outside++;
			for (let j = i + 1; j < cs.length; j++) {
				const b = cs[j];
				const d = Math.hypot((a.left + a.right - b.left - b.right) / 2, (a.top + a.bottom - b.top - b.bottom) / 2);
				const gap = d - a.width / 2 - b.width / 2;
				minGap = Math.min(minGap, gap);
				if (gap < 0) overlaps++;
			}
		}
		const labels = [...document.querySelectorAll('svg.graph .edge-label')].filter(l => getComputedStyle(l).display !== 'none').length;
		return {minGap, outside, labels, r: cs[0].width / 2, overlaps};
	})()`
	g := mustEval[geom](tb, measure)
	if g.Overlaps > 0 || g.MinGap < 4 {
		t.Errorf("50 members: %d overlapping pairs, smallest gap %.1fpx; want none under 4px", g.Overlaps, g.MinGap)
	}
	if g.Outside > 0 {
		t.Errorf("50 members: %d drawn outside the picture; want all inside", g.Outside)
	}
	if g.R < 4 {
		t.Errorf("50 members: circles of radius %.1fpx; want at least 4px", g.R)
	}
	if g.Labels != 0 {
		t.Errorf("50 members: %d RTT labels shown before a pick; want none (unreadable)", g.Labels)
	}
	shots.take(tb, "graph-50-desktop")

	// Pick a member: only its 98 links remain, with their RTT labels.
	tb.do("select node-13", chromedp.Click(chromedp.CSS(`svg.graph .node[data-id="node-13"] .node-circle`)))
	tb.waitFor("only node-13's links", `[...document.querySelectorAll('svg.graph .edge')].filter(e => getComputedStyle(e).display !== 'none').length === 98 &&
		[...document.querySelectorAll('svg.graph .edge-label')].filter(l => getComputedStyle(l).display !== 'none' && / ms$/.test(l.textContent)).length === 94`, 10*time.Second)
	shots.take(tb, "graph-50-selected-desktop")

	tb.phone()
	tb.open(base+"/graph", ready)
	g = mustEval[geom](tb, measure)
	if g.Overlaps > 0 || g.Outside > 0 {
		t.Errorf("50 members at 375px: %d overlapping pairs, %d outside; want none", g.Overlaps, g.Outside)
	}
	tb.noHorizontalScroll("graph of 50 at 375px")
	shots.take(tb, "graph-50-phone")
	tb.open(base+"/networks/big", `document.querySelectorAll('[data-testid=node-list] .row').length === 50`)
	tb.noHorizontalScroll("network of 50 at 375px")
	tb.clean("50 members")
}

// TestGraphLinks checks how links look in a small network with a one-way
// link, a failed link and a link without data, and that a notification
// cluster shows.
func TestGraphLinks(t *testing.T) {
	chromiumPath(t)
	v := meshView("edge", 3, nil)
	nv := v.Networks["edge"]
	nv.Nodes[name(2)].Status = health.StatusDegraded
	nv.Connections = []health.Connection{
		{Src: name(0), Dst: name(1), Status: "up", RTTMs: 12.5},
		{Src: name(1), Dst: name(0), Status: "up", RTTMs: 11.9, Relayed: true},
		{Src: name(0), Dst: name(2), Status: "up", RTTMs: 48.2}, // one way: 3 does not reach 1
		{Src: name(2), Dst: name(0), Status: "down"},
		{Src: name(1), Dst: name(2), Status: "unknown"},
		{Src: name(2), Dst: name(1), Status: "down"},
	}
	clusters := []web.NotificationCluster{{Network: "edge", Webhook: "ops-discord", Type: "discord", Hash: "a1b2c3", Leader: name(0),
		Members: []web.NotificationClusterMember{
			{NodeID: name(0), PeerID: "12D3KooWPeer00", State: "LEADER"},
			{NodeID: name(1), PeerID: "12D3KooWPeer01", State: "FOLLOWER"},
			{NodeID: name(2), PeerID: "12D3KooWPeer02", State: "WAITING_FOR_CONSENSUS"},
		}}}
	base := serveView(t, v, clusters)
	b := newBrowser(t)
	shots := newShots(t)
	tb := b.newTab(t, "graph-3")

	tb.open(base+"/graph", `document.querySelectorAll('svg.graph .node').length === 3 && document.querySelectorAll('svg.graph .edge').length === 6`)
	type edgeInfo struct {
		Src     string `json:"src"`
		Dst     string `json:"dst"`
		Status  string `json:"status"`
		OneWay  bool   `json:"oneWay"`
		Dashed  bool   `json:"dashed"`
		Stroke  string `json:"stroke"`
		Label   string `json:"label"`
		Visible bool   `json:"visible"`
	}
	edges := mustEval[[]edgeInfo](tb, `[...document.querySelectorAll('svg.graph .edge')].map(e => {
		const p = e.querySelector('path'), cs = getComputedStyle(p);
		const l = document.querySelector('svg.graph .edge-label[data-src="' + e.dataset.src + '"][data-dst="' + e.dataset.dst + '"]');
		return {src: e.dataset.src, dst: e.dataset.dst, status: e.dataset.status, oneWay: e.classList.contains('one-way'),
			dashed: cs.strokeDasharray !== 'none', stroke: cs.stroke, label: l.textContent, visible: getComputedStyle(l).display !== 'none'};
	})`)
	byPair := map[string]edgeInfo{}
	for _, e := range edges {
		byPair[e.Src+">"+e.Dst] = e
	}
	for _, c := range []struct {
		pair, status, label string
		oneWay, dashed      bool
	}{
		{"node-01>node-02", "up", "13 ms", false, false},
		{"node-02>node-01", "up", "12 ms", false, true}, // relayed: its own dash pattern
		{"node-01>node-03", "up", "48 ms", true, false},
		{"node-03>node-01", "down", "✕", true, true},
		{"node-02>node-03", "unknown", "", false, true},
		{"node-03>node-02", "down", "✕", false, true},
	} {
		e, ok := byPair[c.pair]
		if !ok {
			t.Errorf("edge %s missing", c.pair)
			continue
		}
		if e.Status != c.status || e.Label != c.label || e.OneWay != c.oneWay || e.Dashed != c.dashed {
			t.Errorf("edge %s = %+v; want status %s, label %q, one-way %v, dashed %v", c.pair, e, c.status, c.label, c.oneWay, c.dashed)
		}
	}
	if a, b := byPair["node-03>node-01"].Stroke, byPair["node-01>node-02"].Stroke; a == b {
		t.Errorf("a failed link has the colour of a live one (%s)", a)
	}
	if a, b := byPair["node-01>node-03"].Stroke, byPair["node-01>node-02"].Stroke; a == b {
		t.Errorf("a one-way link has the colour of a two-way one (%s)", a)
	}
	shots.take(tb, "graph-3-desktop")

	// The pair tiles show the same: one bidirectional, one partial, one none.
	tb.open(base+"/networks/edge", `document.querySelectorAll('[data-testid=pairs] .pair').length === 3`)
	kinds := mustEval[string](tb, `[...document.querySelectorAll('[data-testid=pairs] .pair')].map(p => p.dataset.kind).join()`)
	if want := "bidirectional,partial,none"; kinds != want {
		t.Errorf("pair kinds = %s; want %s", kinds, want)
	}

	tb.open(base+"/clusters", `document.querySelectorAll('[data-testid=clusters] .cluster').length === 1`)
	if txt := mustEval[string](tb, `document.querySelector('[data-testid=clusters]').innerText`); !containsAll(txt, "ops-discord", "a1b2c3", "leader", "waiting for consensus") {
		t.Errorf("cluster card = %q; want its webhook, hash, leader and member states", txt)
	}
	shots.take(tb, "clusters-with-cluster-desktop")

	// Events: the filter is in the URL, and changing it refetches.
	tb.open(base+"/events?severity=warning", `document.querySelectorAll('[data-testid=events] .event').length === 1 &&
		document.getElementById('ev-sev').value === 'warning'`)
	mustEval[bool](tb, `(() => { const s = document.getElementById('ev-sev'); s.value = 'error';
		s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`)
	tb.waitFor("no errors", `location.search === '?severity=error' && !document.querySelector('[data-testid=events]') &&
		document.querySelector('.events-page .empty')`, 10*time.Second)
	tb.clean("small network")
}

func containsAll(s string, subs ...string) bool {
	s = strings.ToLower(s)
	for _, sub := range subs {
		if !strings.Contains(s, strings.ToLower(sub)) {
			return false
		}
	}
	return true
}
