package uitest

import (
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
)

// opinionsView is a 5-member network where node-02 is offline in the
// opinion of node-01 alone (not confirmed: node-01 is the only live
// observer it has), node-03 is degraded because node-04 alone suspects
// it, and the rest is online.
func opinionsView() *health.View {
	v := meshView("test", 5, nil)
	nv := v.Networks["test"]
	n2 := nv.Nodes["node-02"]
	n2.Status, n2.Confirmed, n2.AgreedBy, n2.LiveObservers = health.StatusOffline, false, 1, 1
	n2.Observers = map[string]health.ObserverView{"node-01": {Opinion: "suspect"}}
	n3 := nv.Nodes["node-03"]
	n3.Status, n3.AgreedBy = health.StatusDegraded, 1
	o := n3.Observers["node-04"]
	o.Opinion = "suspect"
	n3.Observers["node-04"] = o
	return v
}

// opinionEvents: an unconfirmed "offline" event, and node-05 offline for
// 1.2 s and back.
func opinionEvents() *health.EventLog {
	ev := health.NewEventLog(100, nil)
	t0 := time.Now().Add(-time.Minute)
	ev.Add(health.Event{Time: t0, Network: "test", Node: "node-02", Kind: "status", Severity: health.SeverityError,
		Message: "node-02 is offline", From: health.StatusOnline, To: health.StatusOffline, Confirmed: false})
	ev.Add(health.Event{Time: t0.Add(10 * time.Second), Network: "test", Node: "node-05", Kind: "status", Severity: health.SeverityError,
		Message: "node-05 is offline", From: health.StatusOnline, To: health.StatusOffline, Confirmed: true})
	ev.Add(health.Event{Time: t0.Add(11200 * time.Millisecond), Network: "test", Node: "node-05", Kind: "status", Severity: health.SeverityInfo,
		Message: "node-05 is online", From: health.StatusOffline, To: health.StatusOnline, Confirmed: true})
	ev.Add(health.Event{Time: t0.Add(20 * time.Second), Network: "test", Node: "node-04", Kind: "status", Severity: health.SeverityError,
		Message: "node-04 is offline", From: health.StatusOnline, To: health.StatusOffline, Confirmed: true})
	return ev
}

// TestUnconfirmedLooksUnconfirmed: a status only one observer claims, or
// one not confirmed, is shown muted with who reported it and is not
// counted as a problem; unconfirmed and short-lived events are not red
// errors, while a confirmed lasting one still is.
func TestUnconfirmedLooksUnconfirmed(t *testing.T) {
	chromiumPath(t)
	v := opinionsView()
	base := startServer(t, func() *health.View { return v }, opinionEvents(), nil).URL
	b := newBrowser(t)
	tb := b.newTab(t, "tentative")
	shots := newShots(t)
	notRed := func(sel string) string {
		return `(() => { const el = document.querySelector(` + "`" + sel + "`" + `); if (!el) return false;
			const m = getComputedStyle(el).color.match(/\d+/g).map(Number); return !(m[0] > 150 && m[1] < 110); })()`
	}

	tb.open(base+"/", `document.querySelectorAll('[data-testid=node-list] .row').length === 5`)
	tb.waitFor("muted opinions, no problems counted", `document.querySelector('[data-testid=problem-count] .stat-value')?.textContent === '0' &&
		!document.querySelector('[data-testid=problem-count]').classList.contains('tone-bad') &&
		document.title.startsWith('Overview') &&
		document.querySelectorAll('[data-testid=problem-list] .problem[data-severity=note]').length === 2 &&
		document.querySelectorAll('[data-testid=problem-list] .problem:not([data-severity=note])').length === 0 &&
		/node-02 may be offline: only node-01 says so/.test(document.querySelector('[data-testid=problem-list]').textContent) &&
		/node-03 may be degraded: only node-04 says so/.test(document.querySelector('[data-testid=problem-list]').textContent) &&
		document.querySelector('.row[data-node="node-02"] .status')?.dataset.tentative === 'true' &&
		/by node-01/.test(document.querySelector('.row[data-node="node-02"] .status').textContent) &&
		document.querySelector('.row[data-node="node-03"] .status')?.dataset.tentative === 'true' &&
		`+notRed(`.row[data-node="node-02"] .status`)+` && `+notRed(`.row[data-node="node-02"] .node-name .name`), 10*time.Second)

	shots.take(tb, "overview-unconfirmed-desktop")

	tb.open(base+"/events", `document.querySelectorAll('[data-testid=events] .event').length === 4`)
	tb.waitFor("quiet events", `(() => {
		const ev = (node, to) => [...document.querySelectorAll('[data-testid=events] .event')].find(e => e.textContent.includes(node + ' is ' + to));
		const q = (e) => e && e.dataset.quiet === 'true' && !e.querySelector('.badge.sev-error') && !e.classList.contains('sev-error');
		return q(ev('node-02', 'offline')) && /unconfirmed/.test(ev('node-02', 'offline').textContent) &&
			q(ev('node-05', 'offline')) && /undone after 1 s/.test(ev('node-05', 'offline').textContent) &&
			q(ev('node-05', 'online')) &&
			!q(ev('node-04', 'offline')) && ev('node-04', 'offline').querySelector('.badge.sev-error');
	})()`, 10*time.Second)
	shots.take(tb, "events-unconfirmed-desktop")
	tb.clean("tentative")
}
