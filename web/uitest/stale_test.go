package uitest

import (
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
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

	mustEval[bool](tb, `(window.__frozeAt = Date.now(), true)`)
	srv.freeze()
	tb.waitFor("stale shown", `document.body.classList.contains('stale') &&
		document.getElementById('conn').dataset.state === 'offline' &&
		!document.getElementById('banner').hidden &&
		/not answered since (\d+ \w+ )?\d{1,2}:\d{2}:\d{2}/.test(document.getElementById('banner').textContent) &&
		getComputedStyle(document.querySelector('main')).opacity < 0.8 &&
		getComputedStyle(document.querySelector('main')).filter.includes('grayscale')`, 20*time.Second)
	ms := mustEval[float64](tb, `window.__staleAt - window.__frozeAt`)
	t.Logf("stale shown %.0f ms after the server hung", ms)
	if ms > 5000 {
		t.Errorf("stale shown %.0f ms after the server hung; want within 5000 ms", ms)
	}
	shots.take(tb, "overview-stale-desktop")

	srv.thaw()
	tb.waitFor("live again", jsLive+` && !document.body.classList.contains('stale') && document.getElementById('banner').hidden`, 20*time.Second)
	if !mustEval[bool](tb, `window.__noReload === true`) {
		t.Error("the page reloaded; want it to recover by itself")
	}
	tb.outage(srv.URL, "hung server")
}
