package uitest

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/meshmon/meshmon/health"
)

// TestIdentityClashShown: a member that runs as two hosts with one key is
// a problem on the overview, tagged in the member list, and explained in
// its detail, with both incarnations and the addresses.
func TestIdentityClashShown(t *testing.T) {
	chromiumPath(t)
	v := meshView("test", 4, nil)
	now := time.Now()
	v.Networks["test"].Nodes["node-02"].IdentityClash = &health.IdentityClash{BootIDs: []uint64{1748779200000, 1748779100001},
		Addrs: []string{"/ip4/192.0.2.7/tcp/4001", "/ip4/198.51.100.9/tcp/4001"}, Since: now.Add(-time.Minute), LastSeen: now}
	base := startServer(t, func() *health.View { return v }, health.NewEventLog(10, nil), nil).URL
	b := newBrowser(t)
	tb := b.newTab(t, "clash")

	tb.open(base+"/", `document.querySelectorAll('[data-testid=node-list] .row').length === 4`)
	tb.waitFor("the clash as an error problem", `(() => {
		const p = [...document.querySelectorAll('[data-testid=problem-list] .problem[data-severity=error]')]
			.find(e => e.textContent.includes('node-02 runs as two hosts with one key'));
		return !!p && /1748779200000 and 1748779100001/.test(p.textContent) && /192\.0\.2\.7/.test(p.textContent) &&
			document.querySelector('[data-testid=problem-count] .stat-value')?.textContent === '1';
	})()`, 10*time.Second)
	tb.open(base+"/networks/test", `document.querySelectorAll('[data-testid=node-list] .row').length === 4`)
	tb.waitFor("a tag on node-02 only", `document.querySelectorAll('[data-testid=clash-tag]').length === 1 &&
		!!document.querySelector('.row[data-node="node-02"] [data-testid=clash-tag]')`, 10*time.Second)
	tb.do("expand node-02", chromedp.Click(chromedp.CSS(`[data-testid=node-list] .row[data-node="node-02"] .row-main`)))
	tb.waitFor("the detail explains it", `/stop the copy/.test(document.querySelector('[data-testid=clash-detail]')?.textContent || '')`, 10*time.Second)
	tb.clean("after the clash views")
}
