package uitest

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/meshmon/meshmon/health"
)

// TestTimes: one format for every time (relative today, with the date
// otherwise, the full local date, time and zone on hover), and every
// member that is not online says since when and for how long.
func TestTimes(t *testing.T) {
	chromiumPath(t)
	v := meshView("test", 5, map[int]bool{1: true}) // node-02 offline
	nv := v.Networks["test"]
	nv.Nodes["node-03"].Status = health.StatusLeft
	n4 := nv.Nodes["node-04"]
	n4.Status = health.StatusDegraded
	for _, o := range []string{"node-01", "node-05"} {
		ov := n4.Observers[o]
		ov.Opinion = "suspect"
		n4.Observers[o] = ov
	}
	nv.Nodes["node-05"].Status, nv.Nodes["node-05"].LastHeardMs = health.StatusUnknown, -1
	boot := uint64(time.Now().Add(-50 * time.Hour).UnixMilli())
	nv.Nodes["node-01"].BootID = boot
	now := time.Now()
	downAt := now.Add(-3*time.Minute - 5*time.Second)
	leftAt := now.Add(-30 * time.Hour)
	ev := health.NewEventLog(100, nil)
	ev.Add(health.Event{Time: leftAt, Network: "test", Node: "node-03", Kind: "status", Severity: health.SeverityInfo,
		Message: "node-03 is left", From: health.StatusOnline, To: health.StatusLeft, Confirmed: true})
	ev.Add(health.Event{Time: downAt, Network: "test", Node: "node-02", Kind: "status", Severity: health.SeverityError,
		Message: "node-02 is offline", From: health.StatusOnline, To: health.StatusOffline, Confirmed: true})
	base := startServer(t, func() *health.View { return v }, ev, nil).URL

	b := newBrowser(t)
	tb := b.newTab(t, "times")
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"}); err != nil {
		t.Fatalf("time zone: %v", err)
	}
	clock := func(tm time.Time) string { return tm.In(time.FixedZone("JST", 9*3600)).Format("15:04:05") }
	sinceOf := func(id string) string {
		return `document.querySelector('[data-testid=node-list] .row[data-node="` + id + `"] [data-testid=since]')`
	}
	check := func(where string) {
		t.Helper()
		tb.waitFor(where+": since when and for how long", sinceOf("node-02")+`?.textContent === 'since `+clock(downAt)+` · for 3 min' &&
			/GMT\+9/.test(`+sinceOf("node-02")+`.querySelector('time').title) &&
			/^since \w+ \d+ \d\d:\d\d:\d\d · for 30 h$|^since \d+ \w+ \d\d:\d\d:\d\d · for 30 h$/.test(`+sinceOf("node-03")+`?.textContent) &&
			`+sinceOf("node-03")+`.textContent.includes('`+clock(leftAt)+`') &&
			/^since( before)? \d\d:\d\d:\d\d · for [\d.]+ s$/.test(`+sinceOf("node-04")+`?.textContent) &&
			/^since before \d\d:\d\d:\d\d · for [\d.]+ s$/.test(`+sinceOf("node-05")+`?.textContent) &&
			!`+sinceOf("node-01"), 10*time.Second)
	}
	tb.open(base+"/", `document.querySelectorAll('[data-testid=node-list] .row').length === 5`)
	check("overview")
	tb.open(base+"/networks/test?node=node-01", `!document.querySelector('.row[data-node="node-01"] .row-detail').hidden`)
	check("network")
	noOtherFormat := `!/\d{1,2}\/\d{1,2}\/\d{4}|\d:\d\d:\d\d [AP]M/.test(document.querySelector('main').innerText)`
	tb.waitFor("running since in the same format", `(() => {
		const dd = [...document.querySelectorAll('.row[data-node="node-01"] .kv dt')].find(d => d.textContent === 'Running since')?.nextElementSibling;
		const tm = dd && dd.querySelector('time');
		return tm && /^\w+ \d+ \d\d:\d\d:\d\d$|^\d+ \w+ \d\d:\d\d:\d\d$/.test(tm.textContent) && /GMT\+9/.test(tm.title);
	})() && `+noOtherFormat, 10*time.Second)

	tb.open(base+"/events", `document.querySelectorAll('[data-testid=events] .event').length === 2`)
	tb.waitFor("event times", `(() => {
		const ts = [...document.querySelectorAll('[data-testid=events] .event time')];
		return ts.length === 2 && ts[0].textContent === '3 min ago' && /\d\d:\d\d:\d\d$/.test(ts[1].textContent) && !/ago/.test(ts[1].textContent) &&
			ts.every(t => /GMT\+9/.test(t.title) && /\d{4}/.test(t.title));
	})() && `+noOtherFormat, 10*time.Second)
	tb.clean("times")
}
