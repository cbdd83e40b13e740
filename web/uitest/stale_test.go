package uitest

import (
	"syscall"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/node/nodetest"
)

// TestStaleServer: a serving node that hangs (its process stopped: TCP
// open, no answer, the event stream silent mid-way) is shown as stale
// within 5 s: the data greys out and a banner says since when; when it
// answers again the page is live again without a reload.
func TestStaleServer(t *testing.T) {
	chromiumPath(t)
	v := meshView("test", 4, nil)
	srv := startServer(t, func() *health.View { return v }, nil, nil)
	b := newBrowser(t)
	shots := newShots(t)
	tb := b.newTab(t, "stale")
	tb.open(srv.URL+"/", jsLive+` && document.querySelector('[data-testid=online-count] .stat-value')?.textContent === '4/4'`)
	mustEval[bool](tb, `(() => {
		window.__noReload = true;
		new MutationObserver(() => {
			if (document.body.classList.contains('stale') && !window.__staleAt) window.__staleAt = Date.now();
		}).observe(document.body, {attributes: true, attributeFilter: ['class']});
		return true;
	})()`)
	tb.clean("live")

	// The page's own scheduling lag (a 50 ms timer that fires late) is
	// measured from the hang on: time the page could not run is not time
	// the dashboard took to notice. On an idle machine it is about 0.
	mustEval[bool](tb, `(() => {
		window.__frozeAt = Date.now();
		window.__lag = 0;
		let last = performance.now();
		const id = setInterval(() => {
			const now = performance.now();
			window.__lag += Math.max(0, now - last - 60);
			last = now;
			if (window.__staleAt) clearInterval(id);
		}, 50);
		return true;
	})()`)
	srv.freeze()
	tb.waitFor("stale shown", `document.body.classList.contains('stale') &&
		document.getElementById('conn').dataset.state === 'offline' &&
		!document.getElementById('banner').hidden &&
		/not answered since (\d+ \w+ )?\d{1,2}:\d{2}:\d{2}/.test(document.getElementById('banner').textContent) &&
		getComputedStyle(document.querySelector('main')).opacity < 0.8 &&
		getComputedStyle(document.querySelector('main')).filter.includes('grayscale')`, 20*time.Second)
	ms := mustEval[float64](tb, `window.__staleAt - window.__frozeAt`)
	lag := mustEval[float64](tb, `window.__lag`)
	t.Logf("stale shown %.0f ms after the server hung (the page was held up %.0f ms of it)", ms, lag)
	if ms-lag > 5000 {
		t.Errorf("stale shown %.0f ms after the server hung, %.0f ms of it running; want within 5000 ms", ms, ms-lag)
	}
	shots.take(tb, "overview-stale-desktop")

	srv.thaw()
	tb.waitFor("live again", jsLive+` && !document.body.classList.contains('stale') && document.getElementById('banner').hidden`, 20*time.Second)
	if !mustEval[bool](tb, `window.__noReload === true`) {
		t.Error("the page reloaded; want it to recover by itself")
	}
	tb.outage(srv.URL, "hung server")
}

// TestStaleServingProcess is the issue's own scenario: the dashboard is
// served by a real `meshmon run` process of a 3-node network, and that
// process is stopped with SIGSTOP (its sockets stay open, nothing
// answers). Within 5 s the page greys out and says since when; after
// SIGCONT it is live again without a reload.
func TestStaleServingProcess(t *testing.T) {
	chromiumPath(t)
	p := nodetest.StartProcs(t, nodetest.Binary(t), 3, nodetest.ProcOptions{Heartbeat: "500ms", SuspectAfter: "3s"})
	all := []int{0, 1, 2}
	p.WaitAgree(all, all, health.StatusOnline, 90*time.Second)
	stopped := false
	t.Cleanup(func() {
		if stopped {
			p.Signal(0, syscall.SIGCONT) // let the process stop cleanly
		}
	})
	b := newBrowser(t)
	tb := b.newTab(t, "stale-process")
	tb.open(p.URLs[0]+"/", jsLive+` && document.querySelector('[data-testid=online-count] .stat-value')?.textContent === '3/3'`)
	mustEval[bool](tb, `(() => {
		window.__noReload = true;
		new MutationObserver(() => {
			if (document.body.classList.contains('stale') && !window.__staleAt) window.__staleAt = Date.now();
		}).observe(document.body, {attributes: true, attributeFilter: ['class']});
		window.__lag = 0;
		let last = performance.now();
		setInterval(() => {
			const now = performance.now();
			if (window.__frozeAt && !window.__staleAt) window.__lag += Math.max(0, now - last - 60);
			last = now;
		}, 50);
		return true;
	})()`)
	tb.clean("live")

	mustEval[bool](tb, `(window.__frozeAt = Date.now(), true)`)
	p.Signal(0, syscall.SIGSTOP)
	stopped = true
	tb.waitFor("stale shown", `document.body.classList.contains('stale') &&
		document.getElementById('conn').dataset.state === 'offline' &&
		/not answered since (\d+ \w+ )?\d{1,2}:\d{2}:\d{2}/.test(document.getElementById('banner').textContent)`, 30*time.Second)
	ms := mustEval[float64](tb, `window.__staleAt - window.__frozeAt`)
	lag := mustEval[float64](tb, `window.__lag`)
	t.Logf("stale shown %.0f ms after SIGSTOP (the page was held up %.0f ms of it)", ms, lag)
	if ms-lag > 5000 {
		t.Errorf("stale shown %.0f ms after SIGSTOP, %.0f ms of it running; want within 5000 ms", ms, ms-lag)
	}

	p.Signal(0, syscall.SIGCONT)
	stopped = false
	tb.waitFor("live again", jsLive+` && !document.body.classList.contains('stale') && document.getElementById('banner').hidden`, 60*time.Second)
	if !mustEval[bool](tb, `window.__noReload === true`) {
		t.Error("the page reloaded; want it to recover by itself")
	}
	tb.outage(p.URLs[0], "stopped process")
}
