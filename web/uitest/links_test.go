package uitest

import (
	"strings"
	"time"

	"testing"

	"github.com/meshmon/meshmon/health"
)

// deadLinksView is a 5-member network where node-03 is offline, node-04
// has left and node-05 is unknown, while the connections still carry
// their last measurements ("up" with an RTT), as a back end that has not
// yet caught up shows them.
func deadLinksView() *health.View {
	v := meshView("test", 5, nil)
	nv := v.Networks["test"]
	nv.Nodes["node-03"].Status = health.StatusOffline
	nv.Nodes["node-04"].Status = health.StatusLeft
	nv.Nodes["node-05"].Status = health.StatusUnknown
	return v
}

// TestDeadMembersHaveNoLiveLinks: the links of an offline, left or
// unknown member are shown down or absent, never with a stale RTT, and a
// member that left does not count in "links up" or the pairs.
func TestDeadMembersHaveNoLiveLinks(t *testing.T) {
	chromiumPath(t)
	base := serveView(t, deadLinksView(), nil)
	b := newBrowser(t)
	tb := b.newTab(t, "dead-links")
	row := func(id, sel string) string {
		return `document.querySelector('[data-testid=node-list] .row[data-node="` + id + `"] ` + sel + `')?.textContent`
	}

	tb.open(base+"/", `document.querySelectorAll('[data-testid=node-list] .row').length === 5`)
	tb.waitFor("overview: dead members have no live links",
		row("node-03", "[data-testid=links]")+` === 'In 0/3 · Out 0/3' &&
		`+row("node-05", "[data-testid=links]")+` === 'In 0/3 · Out 0/3' &&
		`+row("node-04", "[data-testid=links]")+` === 'left the network' &&
		`+row("node-01", "[data-testid=links]")+` === 'In 1/3 · Out 1/3' &&
		`+row("node-03", ".c2")+` === '—'`, 10*time.Second)

	tb.open(base+"/networks/test", `document.querySelectorAll('[data-testid=pairs] .pair').length > 0`)
	tb.waitFor("network: counts and tiles", row("node-03", "[data-testid=receives]")+` === '0/3' &&
		`+row("node-03", "[data-testid=sends]")+` === '0/3' &&
		`+row("node-03", ".c2")+` === '—' &&
		`+row("node-04", "[data-testid=sends]")+` === '—' &&
		document.querySelector('[data-testid=links-up] .stat-value')?.textContent === '2/12' &&
		[...document.querySelectorAll('[data-testid=pairs] .pair')].filter(p => p.dataset.a === 'node-03' || p.dataset.b === 'node-03')
			.every(p => p.dataset.kind === 'none' || p.dataset.kind === 'absent') &&
		[...document.querySelectorAll('[data-testid=pairs] .pair')].filter(p => p.dataset.a === 'node-04' || p.dataset.b === 'node-04')
			.every(p => p.dataset.kind === 'absent') &&
		document.querySelectorAll('[data-testid=pairs] .pair[data-kind=partial]').length === 0 &&
		![...document.querySelectorAll('[data-testid=pairs] .pair')].some(p => (p.dataset.a !== 'node-01' || p.dataset.b !== 'node-02') && / ms/.test(p.textContent))`, 10*time.Second)

	// Open node-03: its observers' last RTTs are not shown either.
	tb.open(base+"/networks/test?node=node-03", `!document.querySelector('.row[data-node="node-03"] .row-detail').hidden`)
	if txt := mustEval[string](tb, `document.querySelector('.row[data-node="node-03"] .row-detail table.obs tbody').textContent`); containsMS(txt) {
		t.Errorf("node-03's observer table shows an RTT: %q", txt)
	}

	tb.open(base+"/graph", `document.querySelectorAll('svg.graph .edge').length === 20`)
	tb.waitFor("graph: dead members' edges down or hidden", `(() => {
		const es = [...document.querySelectorAll('svg.graph .edge')];
		const of = (id) => es.filter(e => e.dataset.src === id || e.dataset.dst === id);
		return of('node-03').filter(e => e.dataset.src !== 'node-04' && e.dataset.dst !== 'node-04').every(e => e.dataset.status === 'down') &&
			of('node-05').filter(e => e.dataset.src !== 'node-04' && e.dataset.dst !== 'node-04').every(e => e.dataset.status === 'down') &&
			of('node-04').every(e => e.dataset.status === 'absent' && getComputedStyle(e).display === 'none') &&
			[...document.querySelectorAll('svg.graph .edge-label')].filter(l => / ms/.test(l.textContent)).length === 2;
	})()`, 10*time.Second)
	tb.clean("dead links")
}

func containsMS(s string) bool { return strings.Contains(s, " ms") }
