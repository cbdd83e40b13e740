package uitest

import (
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
)

// jsContrast defines contrast(fg, bg): the WCAG contrast ratio of two CSS
// colours as getComputedStyle gives them (rgb() or color(srgb …)), and
// bgOf(el): the first opaque background behind el.
const jsContrast = `
	window.rgbOf = (c) => {
		let m = c.match(/^rgba?\(([\d.]+)[, ]+([\d.]+)[, ]+([\d.]+)(?:[, /]+([\d.]+))?\)/);
		if (m) return {r: +m[1] / 255, g: +m[2] / 255, b: +m[3] / 255, a: m[4] === undefined ? 1 : +m[4]};
		m = c.match(/^color\(srgb ([\d.e-]+) ([\d.e-]+) ([\d.e-]+)(?: \/ ([\d.]+))?\)/);
		if (m) return {r: +m[1], g: +m[2], b: +m[3], a: m[4] === undefined ? 1 : +m[4]};
		throw new Error('colour ' + c);
	};
	window.lumOf = (c) => {
		const f = (x) => x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
		const k = rgbOf(c);
		return 0.2126 * f(k.r) + 0.7152 * f(k.g) + 0.0722 * f(k.b);
	};
	window.contrast = (a, b) => { const x = lumOf(a), y = lumOf(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
	window.bgOf = (el) => {
		for (let e = el; e; e = e.parentElement) {
			const c = getComputedStyle(e).backgroundColor;
			if (rgbOf(c).a === 1) return c;
		}
		return 'rgb(255, 255, 255)';
	};
	true`

// allHealthView has three networks: alpha healthy, test impaired (every
// node status), zeta critical.
func allHealthView() *health.View {
	v := mixedView()
	v.Networks["alpha"] = meshView("alpha", 3, nil).Networks["alpha"]
	v.Networks["zeta"] = meshView("zeta", 3, map[int]bool{0: true, 1: true}).Networks["zeta"]
	return v
}

// TestStatusNotByColourAlone: every status has its own shape in the dots
// and the status bar and its own icon in the graph; the graph legend lists
// every status and link kind and "this node"; and in the light theme the
// status dots reach 3:1 and the badges and status words 4.5:1.
func TestStatusNotByColourAlone(t *testing.T) {
	chromiumPath(t)
	base := serveView(t, allHealthView(), nil)
	b := newBrowser(t)
	tb := b.newTab(t, "colour")
	tb.colorScheme("light")

	tb.open(base+"/networks/test", `document.querySelectorAll('[data-testid=node-list] .row').length === 6`)
	mustEval[bool](tb, jsContrast)
	shapes := mustEval[map[string]string](tb, `(() => {
		const out = {};
		for (const st of ['online', 'degraded', 'offline', 'unknown', 'left']) {
			const d = document.querySelector('[data-testid=node-list] .node-name .dot.st-' + st);
			const c = getComputedStyle(d);
			out[st] = [c.borderRadius, c.clipPath, c.width, c.height, rgbOf(c.backgroundColor).a === 0 ? 'hollow' : 'filled'].join('|');
		}
		return out;
	})()`)
	seen := map[string]string{}
	for st, shape := range shapes {
		if other, ok := seen[shape]; ok {
			t.Errorf("status dots of %s and %s have the same shape %q", st, other, shape)
		}
		seen[shape] = st
	}
	type low struct {
		What  string  `json:"what"`
		Ratio float64 `json:"ratio"`
		Want  float64 `json:"want"`
	}
	check := func(where string) {
		t.Helper()
		lows := mustEval[[]low](tb, `(() => {
			const out = [];
			const chk = (what, ratio, want) => { if (!(ratio >= want)) out.push({what, ratio, want}); };
			for (const d of document.querySelectorAll('.dot')) {
				const c = getComputedStyle(d);
				const paint = rgbOf(c.backgroundColor).a === 0 ? c.borderTopColor : c.backgroundColor;
				chk('dot ' + d.className, contrast(paint, bgOf(d.parentElement)), 3);
			}
			for (const b of document.querySelectorAll('.badge')) chk('badge ' + b.className + ' ' + b.textContent, contrast(getComputedStyle(b).color, bgOf(b)), 4.5);
			for (const s of document.querySelectorAll('.status')) chk('status ' + s.className, contrast(getComputedStyle(s).color, bgOf(s)), 4.5);
			return out;
		})()`)
		for _, l := range lows {
			t.Errorf("%s: light theme: %s: contrast %.2f:1; want at least %.1f:1", where, l.What, l.Ratio, l.Want)
		}
	}
	check("network page")

	tb.open(base+"/", `document.querySelectorAll('[data-testid=net-card]').length === 3`)
	mustEval[bool](tb, jsContrast)
	if got := mustEval[string](tb, `[...document.querySelectorAll('[data-testid=health]')].map(b => b.dataset.health).sort().join()`); got != "offline,online,warning" {
		t.Errorf("health badges = %s; want one of each", got)
	}
	check("overview")
	// The status bar of a network card: offline and degraded segments
	// carry a pattern, unknown is hollow, left is thin.
	segs := mustEval[map[string]string](tb, `(() => {
		const out = {};
		for (const st of ['online', 'degraded', 'offline', 'unknown', 'left']) {
			const s = document.querySelector('[data-network=test] .seg.st-' + st);
			const c = getComputedStyle(s);
			out[st] = [c.backgroundImage === 'none' ? 'plain' : c.backgroundImage.slice(0, 24), rgbOf(c.backgroundColor).a === 0 ? 'hollow' : 'filled', c.height].join('|');
		}
		return out;
	})()`)
	seen = map[string]string{}
	for st, shape := range segs {
		if other, ok := seen[shape]; ok {
			t.Errorf("status bar segments of %s and %s look the same apart from colour: %q", st, other, shape)
		}
		seen[shape] = st
	}

	tb.open(base+"/graph?network=test", `document.querySelectorAll('svg.graph .node').length === 6`)
	tb.waitFor("an icon per status and a complete legend", `(() => {
		const icons = {};
		for (const st of ['online', 'degraded', 'offline', 'unknown', 'left']) {
			const p = document.querySelector('svg.graph .node[data-status=' + st + '] .node-icon');
			if (!p || !p.getAttribute('d')) return false;
			icons[p.getAttribute('d')] = st;
		}
		const legend = [...document.querySelectorAll('[data-testid=graph-info] [data-legend]')].map(l => l.dataset.legend);
		return Object.keys(icons).length === 5 &&
			['online', 'degraded', 'offline', 'unknown', 'left', 'tentative', 'self', 'up', 'down', 'one-way', 'relayed'].every(k => legend.includes(k));
	})()`, 10*time.Second)
	shots := newShots(t)
	shots.take(tb, "graph-statuses-desktop")
	tb.clean("colour")
}
