package uitest

import (
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
)

// mixedView is a 6-member network with every status: node-01 and node-02
// online, node-03 degraded (node-01 and node-02 suspect it), node-04
// offline, node-05 left, node-06 unknown.
func mixedView() *health.View {
	v := meshView("test", 6, map[int]bool{3: true})
	nv := v.Networks["test"]
	nv.Nodes["node-03"].Status = health.StatusDegraded
	for _, o := range []string{"node-01", "node-02"} {
		ov := nv.Nodes["node-03"].Observers[o]
		ov.Opinion = "suspect"
		nv.Nodes["node-03"].Observers[o] = ov
	}
	nv.Nodes["node-05"].Status = health.StatusLeft
	nv.Nodes["node-06"].Status = health.StatusUnknown
	return v
}

// TestCountsAddUp: the network's stat cards add up to its members (a Left
// and an Unknown card), and the network's health is told in words no node
// status uses.
func TestCountsAddUp(t *testing.T) {
	chromiumPath(t)
	base := serveView(t, mixedView(), nil)
	b := newBrowser(t)
	tb := b.newTab(t, "counts")
	statusWords := `['online', 'degraded', 'offline', 'left', 'unknown']`
	healthDistinct := `[...document.querySelectorAll('[data-testid=health]')].length > 0 &&
		[...document.querySelectorAll('[data-testid=health]')].every(b => !` + statusWords + `.includes(b.textContent.trim().toLowerCase()))`

	tb.open(base+"/networks/test", `document.querySelectorAll('[data-testid=node-list] .row').length === 6`)
	tb.waitFor("cards add up", `(() => {
		const v = (id) => Number(document.querySelector('[data-testid=stat-' + id + '] .stat-value')?.textContent);
		return v('members') === 6 && v('online') === 2 && v('degraded') === 1 && v('offline') === 1 && v('left') === 1 && v('unknown') === 1 &&
			v('members') === v('online') + v('degraded') + v('offline') + v('left') + v('unknown');
	})() && `+healthDistinct, 10*time.Second)

	tb.open(base+"/", `document.querySelectorAll('[data-testid=node-list] .row').length === 6`)
	tb.waitFor("overview counts members still in the network", `document.querySelector('[data-testid=online-count] .stat-value')?.textContent === '2/5' &&
		/1 left/.test(document.querySelector('[data-testid=online-count]').textContent) && `+healthDistinct, 10*time.Second)

	tb.open(base+"/graph", `document.querySelectorAll('svg.graph .node').length === 6`)
	tb.waitFor("graph panel", healthDistinct, 10*time.Second)
	tb.clean("counts")
}
