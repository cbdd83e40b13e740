package uitest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/meshmon/meshmon/health"
)

// renameView renames every member of v with rename.
func renameView(v *health.View, rename func(string) string) *health.View {
	for _, nv := range v.Networks {
		nodes := map[string]*health.NodeView{}
		for _, n := range nv.Nodes {
			n.NodeID = rename(n.NodeID)
			obs := map[string]health.ObserverView{}
			for o, ov := range n.Observers {
				obs[rename(o)] = ov
			}
			n.Observers = obs
			nodes[n.NodeID] = n
		}
		nv.Nodes = nodes
		nv.Self = rename(nv.Self)
		for i := range nv.Connections {
			nv.Connections[i].Src = rename(nv.Connections[i].Src)
			nv.Connections[i].Dst = rename(nv.Connections[i].Dst)
		}
	}
	return v
}

// demoName turns node-07 into demo-7.
func demoName(s string) string {
	var i int
	fmt.Sscanf(strings.TrimPrefix(s, "node-"), "%d", &i)
	return fmt.Sprintf("demo-%d", i)
}

// TestSortAndFind: members are listed problems first, then in natural
// order (demo-2 before demo-10); a filter box narrows nodes and events and
// lives in the URL, so it survives a reload.
func TestSortAndFind(t *testing.T) {
	chromiumPath(t)
	v := renameView(meshView("test", 12, map[int]bool{6: true}), demoName) // demo-7 offline
	n3 := v.Networks["test"].Nodes["demo-3"]
	n3.Status = health.StatusDegraded
	for _, o := range []string{"demo-4", "demo-5"} {
		ov := n3.Observers[o]
		ov.Opinion = "suspect"
		n3.Observers[o] = ov
	}
	base := startServer(t, func() *health.View { return v }, viewEvents(v), nil).URL
	b := newBrowser(t)
	tb := b.newTab(t, "find")
	order := `[...document.querySelectorAll('[data-testid=node-list] .row')].map(r => r.dataset.node).join(' ')`

	for _, path := range []string{"/", "/networks/test"} {
		tb.open(base+path, `document.querySelectorAll('[data-testid=node-list] .row').length === 12`)
		want := "demo-7 demo-3 demo-1 demo-2 demo-4 demo-5 demo-6 demo-8 demo-9 demo-10 demo-11 demo-12"
		if got := mustEval[string](tb, order); got != want {
			t.Errorf("%s: order = %s; want %s", path, got, want)
		}
		tb.do("type a filter", chromedp.SendKeys(`[data-testid=filter]`, "demo-1"))
		tb.waitFor("filtered", order+` === 'demo-1 demo-10 demo-11 demo-12' && new URLSearchParams(location.search).get('q') === 'demo-1'`, 10*time.Second)
		tb.do("reload", chromedp.Reload())
		tb.waitFor("filter survives a reload", order+` === 'demo-1 demo-10 demo-11 demo-12' &&
			document.querySelector('[data-testid=filter]').value === 'demo-1'`, 20*time.Second)
	}

	tb.open(base+"/events", `document.querySelectorAll('[data-testid=events] .event').length === 2`)
	tb.do("type a filter", chromedp.SendKeys(`[data-testid=filter]`, "demo-7"))
	tb.waitFor("events filtered", `[...document.querySelectorAll('[data-testid=events] .event')].length === 1 &&
		document.querySelector('[data-testid=events] .event').textContent.includes('demo-7') &&
		new URLSearchParams(location.search).get('q') === 'demo-7'`, 10*time.Second)
	tb.do("reload", chromedp.Reload())
	tb.waitFor("event filter survives a reload", `document.querySelectorAll('[data-testid=events] .event').length === 1 &&
		document.querySelector('[data-testid=filter]').value === 'demo-7'`, 20*time.Second)
	tb.clean("find")
}
