package uitest

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestSmallThings: /docs follows the dark theme and links back to the
// dashboard; an unknown path is a page with a way back; the graph's hint
// on a phone does not mention a key; a network of one says a second
// member is needed instead of "0/0 links up".
func TestSmallThings(t *testing.T) {
	chromiumPath(t)
	v := meshView("test", 3, nil)
	v.Networks["solo"] = meshView("solo", 1, nil).Networks["solo"]
	base := serveView(t, v, nil)
	b := newBrowser(t)
	shots := newShots(t)

	t.Run("a network of one", func(t *testing.T) {
		tb := b.newTab(t, "solo")
		noZero := `!/\b0\/0\b/.test(document.querySelector('main').innerText)`
		tb.open(base+"/", `document.querySelectorAll('[data-testid=net-card]').length === 2`)
		tb.waitFor("overview", `/second member/.test(document.querySelector('[data-testid=net-card][data-network=solo] [data-testid=net-links]').textContent) && `+noZero, 10*time.Second)
		tb.open(base+"/networks/solo", `document.querySelectorAll('[data-testid=node-list] .row').length === 1`)
		tb.waitFor("network page", `document.querySelector('[data-testid=links-up] .stat-value').textContent === '—' &&
			/second member/.test(document.querySelector('[data-testid=links-up]').textContent) &&
			/second member/.test(document.querySelector('[data-testid=no-pairs]').textContent) && `+noZero, 10*time.Second)
		tb.open(base+"/graph?network=solo", `document.querySelectorAll('svg.graph .node').length === 1`)
		tb.waitFor("graph", `/second member/.test(document.querySelector('[data-testid=graph-info]').textContent) && `+noZero, 10*time.Second)
		tb.clean("a network of one")
	})

	t.Run("unknown path", func(t *testing.T) {
		tb := b.newTab(t, "404")
		tb.open(base+"/no/such/page", `!!document.querySelector('[data-testid=not-found]')`)
		shots.take(tb, "not-found-desktop")
		tb.do("back", chromedp.Click(chromedp.CSS(`[data-testid=back]`)))
		tb.waitFor("back on the dashboard", `location.pathname === '/' && document.querySelectorAll('[data-testid=net-card]').length === 2`, 20*time.Second)
		tb.mu.Lock()
		p := tb.problems
		tb.problems = nil
		tb.mu.Unlock()
		for _, s := range p {
			if !strings.Contains(s, base+"/no/such/page") || !strings.Contains(s, "404") {
				t.Errorf("problem besides the expected 404: %s", s)
			}
		}
		if len(p) == 0 {
			t.Error("the unknown path did not answer 404")
		}
	})

	t.Run("docs theme and way back", func(t *testing.T) {
		tb := b.newTab(t, "docs")
		dark := `(() => { const m = getComputedStyle(document.body).backgroundColor.match(/\d+/g); return m && +m[0] + +m[1] + +m[2] < 150; })()`
		light := `(() => { const m = getComputedStyle(document.body).backgroundColor.match(/\d+/g); return m && +m[0] + +m[1] + +m[2] > 660; })()`
		ready := `!!document.querySelector('.swagger-ui .info') && !!document.querySelector('a[data-testid=back][href="/"]')`
		tb.colorScheme("dark")
		tb.open(base+"/docs", ready)
		tb.waitFor("dark with the system", dark+` && getComputedStyle(document.querySelector('.swagger-ui')).filter.includes('invert')`, 10*time.Second)
		shots.take(tb, "docs-dark-desktop")
		tb.colorScheme("light")
		tb.waitFor("light with the system", light+` && getComputedStyle(document.querySelector('.swagger-ui')).filter === 'none'`, 10*time.Second)
		// The dashboard's stored choice applies here too.
		mustEval[bool](tb, `(localStorage.setItem('meshmon.theme', 'dark'), true)`)
		tb.do("reload", chromedp.Reload())
		tb.waitFor("dark by choice", ready+` && `+dark, 20*time.Second)
		mustEval[bool](tb, `(localStorage.removeItem('meshmon.theme'), true)`)
		tb.do("back", chromedp.Click(chromedp.CSS(`[data-testid=back]`)))
		tb.waitFor("back on the dashboard", `location.pathname === '/' && document.querySelectorAll('[data-testid=net-card]').length === 2`, 20*time.Second)
		tb.clean("docs")
	})

	t.Run("graph hint", func(t *testing.T) {
		tb := b.newTab(t, "hint")
		hint := `[...document.querySelectorAll('.graph-hint span')].filter(s => getComputedStyle(s).display !== 'none').map(s => s.textContent).join(' ')`
		tb.open(base+"/graph?network=test", `document.querySelectorAll('svg.graph .node').length === 3`)
		if h := mustEval[string](tb, hint); !strings.Contains(h, "Esc") {
			t.Errorf("desktop hint = %q; want it to mention Esc", h)
		}
		tb.phone()
		tb.open(base+"/graph?network=test", `document.querySelectorAll('svg.graph .node').length === 3`)
		if h := mustEval[string](tb, hint); strings.Contains(h, "Esc") || !strings.Contains(h, "Tap") {
			t.Errorf("phone hint = %q; want taps, no Esc", h)
		}
		tb.clean("hint")
	})
}
