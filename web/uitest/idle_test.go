package uitest

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"

	"github.com/meshmon/meshmon/health"
)

// metrics returns the page's CDP Performance metrics by name:
// "TaskDuration" (main thread busy, seconds), "RecalcStyleCount",
// "LayoutCount", ….
func (tb *tab) metrics() map[string]float64 {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	res, err := chromedp.Call(ctx, performance.GetMetrics, cdp.Empty{})
	if err != nil {
		tb.t.Fatalf("%s: performance metrics: %v", tb.name, err)
	}
	out := map[string]float64{}
	for _, m := range res.Metrics {
		out[m.Name] = m.Value
	}
	return out
}

// TestIdleTabCostsLittle: an idle 15-node overview with the live stream
// open polls nothing, receives under 200 KB a minute, recalculates styles
// less than once a second (the pulsing dot did it 60 times a second) and
// runs no endless animation; while the tab is hidden it redraws nothing,
// and it catches up when shown again. The main thread's busy share is
// logged as a figure, not asserted: it is a timing, and this machine is
// shared.
func TestIdleTabCostsLittle(t *testing.T) {
	chromiumPath(t)
	v := meshView("test", 15, nil)
	var cur atomic.Pointer[health.View]
	cur.Store(v)
	srv := startServer(t, cur.Load, viewEvents(v), nil)
	viewBytes := float64(len(getBody(t, srv.URL+"/api/view")))
	t.Logf("one /api/view at 15 nodes: %.0f bytes", viewBytes)
	b := newBrowser(t)
	tb := b.newTab(t, "idle")
	{
		ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
		if _, err := chromedp.Call(ctx, performance.Enable, performance.EnableParams{}); err != nil {
			t.Fatalf("enable performance metrics: %v", err)
		}
		cancel()
	}
	tb.open(srv.URL+"/", jsLive+` && document.querySelectorAll('[data-testid=node-list] .row').length === 15`)

	const window = 20 * time.Second
	tb.resetTraffic()
	m0, t0 := tb.metrics(), time.Now()
	select { // a measurement window, not a wait for a condition
	case <-time.After(window):
	case <-tb.ctx.Done():
		t.Fatal(tb.ctx.Err())
	}
	m1, elapsed := tb.metrics(), time.Since(t0)
	busy := m1["TaskDuration"] - m0["TaskDuration"]
	recalcs := m1["RecalcStyleCount"] - m0["RecalcStyleCount"]
	reqs, bytes := tb.traffic()
	// The window holds "alive" messages only (the view does not change);
	// the stream also refreshes the whole view once a minute
	// (web.streamViewRefresh), so a minute costs one view more.
	perMinute := float64(bytes)*float64(time.Minute)/float64(elapsed) + viewBytes
	share := busy / elapsed.Seconds()
	t.Logf("idle for %v: requests %v, %d bytes received (%.1f KB a minute), %.0f style recalculations, main thread busy %.2f %%",
		elapsed.Round(time.Millisecond), reqs, bytes, perMinute/1000, recalcs, 100*share)
	views := 0
	for _, u := range reqs {
		if strings.Contains(u, "/api/view") {
			views++
		}
	}
	if views > 0 {
		t.Errorf("%d /api/view requests in %v while the stream was live; want none", views, elapsed)
	}
	if perMinute > 200e3 {
		t.Errorf("received %.1f KB a minute while idle; want under 200 KB", perMinute/1000)
	}
	if recalcs > elapsed.Seconds() {
		t.Errorf("%.0f style recalculations in %v while idle; want under one a second", recalcs, elapsed.Round(time.Second))
	}
	endless := `document.getAnimations().filter(a => a.playState === 'running' && a.effect && a.effect.getComputedTiming().iterations === Infinity).length`
	if n := mustEval[int](tb, endless); n > 0 {
		t.Errorf("%d endless animations while live; want none", n)
	}
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
	}); err != nil {
		t.Fatalf("emulate reduced motion: %v", err)
	}
	if n := mustEval[int](tb, endless); n > 0 {
		t.Errorf("%d endless animations with prefers-reduced-motion; want none", n)
	}

	// Hidden: nothing is polled and nothing is drawn, even when the view
	// changes, but the title keeps counting problems; shown again, the
	// page shows the change at once.
	mustEval[bool](tb, `(() => {
		Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
		Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
		document.dispatchEvent(new Event('visibilitychange'));
		window.__mutations = 0;
		new MutationObserver((ms) => { window.__mutations += ms.length; }).observe(document.querySelector('main'), {subtree: true, childList: true, characterData: true, attributes: true});
		return true;
	})()`)
	tb.resetTraffic()
	down := meshView("test", 15, map[int]bool{4: true})
	cur.Store(down)
	tb.waitFor("title counts the new problem while hidden", `document.title.startsWith('(1) ')`, 15*time.Second)
	select { // a few more housekeeping ticks
	case <-time.After(3 * time.Second):
	case <-tb.ctx.Done():
		t.Fatal(tb.ctx.Err())
	}
	if n := mustEval[int](tb, `window.__mutations`); n > 0 {
		t.Errorf("%d DOM changes while the tab was hidden; want none", n)
	}
	for _, u := range first(tb.traffic()) {
		if !strings.Contains(u, "/api/events/stream") {
			t.Errorf("request while hidden: %s; want none", u)
		}
	}
	mustEval[bool](tb, `(() => {
		Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});
		Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'});
		document.dispatchEvent(new Event('visibilitychange'));
		return true;
	})()`)
	tb.waitFor("the change drawn when shown", `document.querySelector('[data-testid=node-list] .row[data-node="node-05"]')?.dataset.status === 'offline' && `+jsLive, 10*time.Second)
	tb.clean("idle")
}

func first[A, B any](a A, _ B) A { return a }

// getBody GETs url and returns its body.
func getBody(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
