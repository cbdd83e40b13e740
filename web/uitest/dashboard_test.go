package uitest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/node/nodetest"
)

// JavaScript predicates over the dashboard's screens, for the 5-node
// network "test" of nodetest (members n1 … n5).
const (
	jsLive = `document.getElementById('conn').dataset.state === 'live'`

	jsOverviewAllUp = jsLive + ` &&
		document.querySelector('[data-testid=online-count] .stat-value')?.textContent === '5/5' &&
		document.querySelectorAll('[data-testid=node-list] .row[data-status=online]').length === 5 &&
		[...document.querySelectorAll('[data-testid=node-list] [data-testid=links]')].every(e => e.textContent === 'In 4/4 · Out 4/4') &&
		document.querySelector('[data-testid=net-card]')?.dataset.health === 'online'`

	jsNetworkAllUp = jsLive + ` &&
		document.querySelectorAll('[data-testid=node-list] .row[data-status=online]').length === 5 &&
		document.querySelectorAll('[data-testid=pairs] .pair').length === 10 &&
		document.querySelectorAll('[data-testid=pairs] .pair[data-kind=bidirectional]').length === 10`

	jsGraphAllUp = jsLive + ` &&
		document.querySelectorAll('svg.graph .node').length === 5 &&
		document.querySelectorAll('svg.graph .node[data-status=online]').length === 5 &&
		document.querySelectorAll('svg.graph .edge').length === 20 &&
		document.querySelectorAll('svg.graph .edge[data-status=up]').length === 20 &&
		[...document.querySelectorAll('svg.graph .edge-label')].filter(l =>
			/^<?\d+(\.\d+)? ms$/.test(l.textContent) && getComputedStyle(l).display !== 'none').length === 20`

	jsClustersReady = `!!document.querySelector('[data-testid=clusters-empty], [data-testid=clusters]')`

	jsEventsReady = jsLive + ` && document.querySelectorAll('[data-testid=events] .event').length > 0`
)

// jsDown holds when the overview, network detail or graph shows node id
// offline with every link to and from it failed.
func jsDown(screen, id string) string {
	switch screen {
	case "overview":
		return fmt.Sprintf(`document.querySelector('[data-testid=node-list] .row[data-node=%[1]q]')?.dataset.status === 'offline' &&
			document.querySelector('[data-testid=online-count] .stat-value')?.textContent === '4/5' &&
			document.querySelector('[data-testid=node-list] .row[data-node=%[1]q] [data-testid=links]')?.textContent === 'In 0/4 · Out 0/4' &&
			document.querySelector('[data-testid=net-card]')?.dataset.health === 'warning'`, id)
	case "network":
		return fmt.Sprintf(`document.querySelector('[data-testid=node-list] .row[data-node=%[1]q]')?.dataset.status === 'offline' &&
			[...document.querySelectorAll('[data-testid=pairs] .pair')].filter(p => p.dataset.a === %[1]q || p.dataset.b === %[1]q)
				.map(p => p.dataset.kind).join() === 'none,none,none,none'`, id)
	case "graph":
		return fmt.Sprintf(`document.querySelector('svg.graph .node[data-id=%[1]q]')?.dataset.status === 'offline' &&
			[...document.querySelectorAll('svg.graph .edge')].filter(e => e.dataset.src === %[1]q || e.dataset.dst === %[1]q)
				.filter(e => e.dataset.status === 'down' && getComputedStyle(e.querySelector('path')).strokeDasharray !== 'none').length === 8`, id)
	}
	panic("unknown screen " + screen)
}

// TestDashboard runs the dashboard against a real 5-node cluster: every
// screen loads cleanly, a killed node shows offline everywhere without a
// reload and comes back online, the graph is complete, both themes render,
// a phone-width screen does not scroll sideways, and screenshots of every
// screen are written.
func TestDashboard(t *testing.T) {
	chromiumPath(t) // fail or skip before starting the cluster
	// The product's default suspect_after (3s), not nodetest's 1s: Chromium
	// shares the machine, and a starved heartbeat must not flap a node.
	c := nodetest.StartCluster(t, 5, nodetest.Options{Heartbeat: "500ms", SuspectAfter: "3s"})
	all := []int{0, 1, 2, 3, 4}
	allOnline := func() { c.WaitStatus(all, all, health.StatusOnline, 90*time.Second) }
	allOnline()
	// The browser is closed before the cluster stops (cleanups run last
	// first), so no open event stream holds a node's shutdown.
	b := newBrowser(t)
	base := c.URLs[0]
	shots := newShots(t)

	screens := []struct{ name, path, ready string }{
		{"overview", "/", jsOverviewAllUp},
		{"network", "/networks/test", jsNetworkAllUp},
		{"graph", "/graph", jsGraphAllUp},
		{"clusters", "/clusters", jsClustersReady},
		{"events", "/events", jsEventsReady},
	}

	t.Run("every screen loads cleanly", func(t *testing.T) {
		tb := b.newTab(t, "desktop")
		for _, s := range screens {
			tb.open(base+s.path, s.ready)
			tb.noHorizontalScroll(s.name)
			switch s.name {
			case "overview", "network":
				// Expand n1: the evidence for its status shows.
				tb.do("expand n1", chromedp.Click(chromedp.CSS(`[data-testid=node-list] .row[data-node="n1"] .row-main`)))
				tb.waitFor("n1 expanded", `document.querySelector('.row[data-node="n1"] .row-main').getAttribute('aria-expanded') === 'true' &&
					!document.querySelector('.row[data-node="n1"] .row-detail').hidden &&
					/agreed by \d+\/\d+/i.test(document.querySelector('.row[data-node="n1"] .row-detail').textContent)`, 10*time.Second)
			}
			shots.take(tb, s.name+"-desktop")
			tb.clean("load " + s.path)
		}
	})

	t.Run("graph", func(t *testing.T) {
		allOnline()
		tb := b.newTab(t, "graph")
		tb.open(base+"/graph", jsGraphAllUp)
		// Click a node: only its 8 links stay, and the side panel lists them.
		tb.do("select n2", chromedp.Click(chromedp.CSS(`svg.graph .node[data-id="n2"] .node-circle`)))
		tb.waitFor("only n2's links", `document.querySelector('svg.graph .node[data-id="n2"]').classList.contains('sel') &&
			[...document.querySelectorAll('svg.graph .edge')].filter(e => getComputedStyle(e).display !== 'none').length === 8 &&
			location.search.includes('node=n2') &&
			document.querySelectorAll('[data-testid=graph-links] tbody tr').length === 4`, 10*time.Second)
		shots.take(tb, "graph-selected-desktop")
		// The selection is a deep link: it survives a reload.
		tb.do("reload", chromedp.Reload())
		tb.waitFor("selection after reload", `document.querySelector('svg.graph .node[data-id="n2"]')?.classList.contains('sel')`, 20*time.Second)
		// Escape shows every link again; the zoom buttons zoom.
		tb.do("escape", chromedp.KeyEvent("\x1b"))
		tb.waitFor("all links again", `[...document.querySelectorAll('svg.graph .edge')].filter(e => getComputedStyle(e).display !== 'none').length === 20`, 10*time.Second)
		before := mustEval[string](tb, `document.querySelector('svg.graph .viewport').getAttribute('transform')`)
		tb.do("zoom in", chromedp.Click(chromedp.CSS(`[data-action="zoom-in"]`)))
		tb.waitFor("zoomed", fmt.Sprintf(`document.querySelector('svg.graph .viewport').getAttribute('transform') !== %q`, before), 5*time.Second)
		tb.clean("graph interactions")
	})

	t.Run("a killed node shows offline live, then online again", func(t *testing.T) {
		allOnline()
		tabs := map[string]*tab{}
		for _, s := range []struct{ name, path, ready string }{
			{"overview", "/", jsOverviewAllUp},
			{"network", "/networks/test", jsNetworkAllUp},
			{"graph", "/graph", jsGraphAllUp},
		} {
			tb := b.newTab(t, s.name)
			tb.open(base+s.path, s.ready)
			// A mark that a reload would wipe, and a record of what the
			// page announces to screen readers.
			mustEval[bool](tb, `(() => {
				window.__noReload = true;
				window.__announced = [];
				new MutationObserver(() => window.__announced.push(document.getElementById('announcer').textContent))
					.observe(document.getElementById('announcer'), {childList: true, characterData: true, subtree: true});
				return true;
			})()`)
			tabs[s.name] = tb
		}

		c.Kill(2) // n3
		for _, name := range []string{"overview", "network", "graph"} {
			tabs[name].waitFor("n3 offline with its links failed", jsDown(name, "n3"), 30*time.Second)
		}
		tabs["overview"].waitFor("announced", `window.__announced.some(t => t.includes('n3 is now offline'))`, 10*time.Second)
		shots.take(tabs["overview"], "overview-node-down-desktop")
		shots.take(tabs["graph"], "graph-node-down-desktop")
		shots.take(tabs["network"], "network-node-down-desktop")

		c.Start(2)
		tabs["overview"].waitFor("n3 online again", jsOverviewAllUp, 60*time.Second)
		tabs["network"].waitFor("n3 online again", jsNetworkAllUp, 30*time.Second)
		tabs["graph"].waitFor("n3 online again", jsGraphAllUp, 30*time.Second)
		for name, tb := range tabs {
			if !mustEval[bool](tb, `window.__noReload === true`) {
				t.Errorf("%s reloaded; want live updates without a reload", name)
			}
			tb.clean("kill and restart n3")
		}
	})

	t.Run("connection indicator", func(t *testing.T) {
		allOnline()
		tb := b.newTab(t, "connection")
		tb.open(base+"/", jsOverviewAllUp)
		mustEval[bool](tb, `(() => {
			const el = document.getElementById('conn');
			window.__states = [el.dataset.state];
			new MutationObserver(() => window.__states.push(el.dataset.state)).observe(el, {attributes: true, attributeFilter: ['data-state']});
			return true;
		})()`)
		c.Kill(0) // the node this page talks to
		tb.waitFor("unreachable shown", `document.getElementById('conn').dataset.state === 'offline' &&
			!document.getElementById('banner').hidden &&
			document.querySelector('[data-testid=online-count] .stat-value')?.textContent === '5/5'`, 20*time.Second)
		shots.take(tb, "overview-unreachable-desktop")
		c.Start(0)
		tb.waitFor("live again", jsOverviewAllUp+` && document.getElementById('banner').hidden`, 90*time.Second)
		states := mustEval[[]string](tb, `window.__states`)
		t.Logf("connection states: %v", states)
		if strings.Join(states, " ") == "" || states[0] != "live" || states[len(states)-1] != "live" || !slices.Contains(states, "offline") {
			t.Errorf("connection states = %v; want live, then offline, then live again", states)
		}
		tb.outage(base, "node restart")
	})

	t.Run("light and dark themes", func(t *testing.T) {
		allOnline()
		tb := b.newTab(t, "theme")
		bg := func() float64 {
			t.Helper()
			l, err := luminance(mustEval[string](tb, `getComputedStyle(document.body).backgroundColor`))
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		isDark := `(() => { const m = getComputedStyle(document.body).backgroundColor.match(/\d+/g); return m && +m[0] + +m[1] + +m[2] < 120; })()`
		isLight := `(() => { const m = getComputedStyle(document.body).backgroundColor.match(/\d+/g); return m && +m[0] + +m[1] + +m[2] > 660; })()`

		tb.colorScheme("dark")
		tb.open(base+"/", jsOverviewAllUp+" && "+isDark)
		if l := bg(); l > 0.05 {
			t.Errorf("dark system theme: body luminance %.3f; want dark", l)
		}
		shots.take(tb, "overview-dark-desktop")
		tb.open(base+"/graph", jsGraphAllUp)
		shots.take(tb, "graph-dark-desktop")
		tb.open(base+"/networks/test", jsNetworkAllUp)
		shots.take(tb, "network-dark-desktop")

		tb.colorScheme("light")
		tb.waitFor("follows the system to light", isLight, 5*time.Second)

		// The toggle cycles auto → light → dark → auto and is remembered.
		tb.colorScheme("dark")
		tb.waitFor("follows the system to dark", isDark, 5*time.Second)
		tb.do("theme: light", chromedp.Click(chromedp.ID("theme")))
		tb.waitFor("light by choice", isLight+` && localStorage.getItem('meshmon.theme') === 'light'`, 5*time.Second)
		tb.do("reload", chromedp.Reload())
		tb.waitFor("light choice survives a reload", jsNetworkAllUp+" && "+isLight+
			` && document.getElementById('theme').dataset.themeChoice === 'light'`, 20*time.Second)
		tb.colorScheme("light")
		tb.do("theme: dark", chromedp.Click(chromedp.ID("theme")))
		tb.waitFor("dark by choice", isDark, 5*time.Second)
		tb.do("theme: auto", chromedp.Click(chromedp.ID("theme")))
		tb.waitFor("auto again", isLight+` && localStorage.getItem('meshmon.theme') === null`, 5*time.Second)
		tb.clean("themes")
	})

	t.Run("a node that leaves is not a broken link", func(t *testing.T) {
		allOnline()
		tb := b.newTab(t, "leave")
		tb.open(base+"/networks/test", jsNetworkAllUp)
		c.Stop(3) // n4 leaves cleanly
		tb.waitFor("n4 left, the rest fine", `document.querySelector('[data-testid=node-list] .row[data-node="n4"]')?.dataset.status === 'left' &&
			document.querySelector('[data-testid=node-list] .row[data-node="n4"] [data-testid=sends]')?.textContent === '—' &&
			document.querySelector('[data-testid=links-up] .stat-value')?.textContent === '12/12' &&
			!document.querySelector('[data-testid=links-up]').classList.contains('tone-warn') &&
			document.querySelectorAll('[data-testid=pairs] .pair[data-kind=partial], [data-testid=pairs] .pair[data-kind=none]').length === 0 &&
			document.querySelectorAll('[data-testid=pairs] .pair[data-kind=absent]').length === 4 &&
			document.querySelector('[data-testid=stat-left] .stat-value')?.textContent === '1' &&
			document.querySelector('[data-testid=health]')?.dataset.health === 'online'`, 30*time.Second)
		shots.take(tb, "network-node-left-desktop")
		c.Start(3)
		tb.waitFor("n4 back", jsNetworkAllUp, 60*time.Second)
		tb.clean("leave and come back")
	})

	t.Run("phone width", func(t *testing.T) {
		allOnline()
		tb := b.newTab(t, "phone")
		tb.phone()
		for _, s := range screens {
			tb.open(base+s.path, s.ready)
			if s.name == "network" {
				tb.do("expand n1", chromedp.Click(chromedp.CSS(`[data-testid=node-list] .row[data-node="n1"] .row-main`)))
				tb.waitFor("n1 expanded", `!document.querySelector('.row[data-node="n1"] .row-detail').hidden`, 10*time.Second)
			}
			tb.noHorizontalScroll(s.name + " at 375px")
			shots.take(tb, s.name+"-phone")
		}
		tb.clean("phone")
	})
}
