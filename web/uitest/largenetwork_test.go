package uitest

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestManyMembersPairsSkipDeadMembers: in a network of many members, the
// problem pairs shown are links that fail between members that are up; a
// pair with a member that is down is that member's problem, listed with
// the members (in a large config whose members mostly do not run, it
// would be nearly every pair).
func TestManyMembersPairsSkipDeadMembers(t *testing.T) {
	chromiumPath(t)
	base := serveView(t, meshView("big", 30, map[int]bool{5: true, 6: true, 7: true}), nil)
	b := newBrowser(t)
	tb := b.newTab(t, "many-pairs")
	tb.open(base+"/networks/big", `document.querySelector('[data-action=all-pairs]') !== null`)
	tb.waitFor("problem pairs: none among the members that are up",
		`document.querySelectorAll('[data-testid=pairs] .pair').length === 0 &&
		document.querySelector('.pairs-section').textContent.includes('351 of 435 pairs are fine in both directions, 84 have a member that is not up or left; showing the others.')`, 10*time.Second)
	tb.do("show all pairs", chromedp.Click(chromedp.CSS(`[data-action=all-pairs]`)))
	tb.waitFor("all pairs", `document.querySelectorAll('[data-testid=pairs] .pair').length === 435 &&
		document.querySelectorAll('[data-testid=pairs] .pair[data-kind=none]').length === 84`, 10*time.Second)
}
