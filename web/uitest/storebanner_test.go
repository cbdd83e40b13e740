package uitest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/history"
)

// storeBanner is the history store banner's state on the page: "" while
// hidden.
const storeBanner = `(() => { const b = document.querySelector('[data-testid=store-banner]');
	return b && !b.hidden ? b.dataset.state : ''; })()`

// healthLoaded holds once the page has read /api/health (the footer shows
// the version it gives).
const healthLoaded = `document.getElementById('version').textContent === 'v0.0.0-test'`

// TestStoreBannerOnEveryScreen: when the history store is in trouble
// (unavailable, or a corrupt file moved aside) every screen says so in a
// banner, not only History (which says it in its own page); when the store
// is fine no screen does.
func TestStoreBannerOnEveryScreen(t *testing.T) {
	chromiumPath(t)
	b := newBrowser(t)
	shots := newShots(t)
	// Each is reached by a link on the screen before it.
	screens := []struct{ path, ready string }{
		{"/", `document.querySelector('[data-testid=net-card]')`},
		{"/networks/prod", `document.querySelector('main h1')`},
		{"/graph", `document.querySelector('main svg')`},
		{"/events", `document.querySelector('main h1')`},
		{"/clusters", `document.querySelector('main h1')`},
	}
	for _, tc := range []struct {
		name      string
		rec       func(t *testing.T, events *health.EventLog) *history.Recorder
		wantState string
		wantText  []string
	}{
		{"store ok", func(t *testing.T, _ *health.EventLog) *history.Recorder { return nil }, "", nil},
		{"unavailable", func(t *testing.T, _ *health.EventLog) *history.Recorder {
			return history.NewRecorder(history.RecorderConfig{Unavailable: "history: create data dir: mkdir /app/config/data: read-only file system"})
		}, "unavailable", []string{"not being kept", "read-only file system", "Monitoring and alerts go on"}},
		{"moved aside", func(t *testing.T, events *health.EventLog) *history.Recorder {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, history.FileName), []byte(strings.Repeat("garbage!", 2048)), 0o600); err != nil {
				t.Fatal(err)
			}
			store, res, err := history.Open(dir, time.Now())
			if err != nil || res.MovedAside == "" {
				t.Fatalf("Open over garbage = %+v, %v; want the garbage moved aside", res, err)
			}
			t.Cleanup(func() { store.Close() })
			rec := history.NewRecorder(history.RecorderConfig{Store: store, Events: events})
			rec.NoteMovedAside(res)
			return rec
		}, "moved_aside", []string{"corrupt", "moved aside", history.FileName + ".corrupt-"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events := health.NewEventLog(100, nil)
			base := serveHistoryEvents(t, meshView("prod", 3, nil), tc.rec(t, events), events)
			tb := b.newTab(t, "store-banner-"+strings.ReplaceAll(tc.name, " ", "-"))
			tb.open(base+"/", healthLoaded)
			for _, sc := range screens {
				// As a person moves between screens: by the page's own
				// links, the page staying loaded.
				tb.do("go to "+sc.path, chromedp.Click(chromedp.CSS(`a[href="`+sc.path+`"]`)))
				tb.waitFor("show "+sc.path, `location.pathname === '`+sc.path+`' && `+sc.ready, 10*time.Second)
				if tc.wantState == "" {
					if got := mustEval[string](tb, storeBanner); got != "" {
						t.Errorf("%s: store banner %q with the store fine; want none", sc.path, got)
					}
					continue
				}
				tb.waitFor(sc.path+" shows the store banner", storeBanner+` === '`+tc.wantState+`'`, 10*time.Second)
				text := mustEval[string](tb, `document.querySelector('[data-testid=store-banner]').textContent`)
				if !containsAll(text, tc.wantText...) {
					t.Errorf("%s: store banner = %q; want %q", sc.path, text, tc.wantText)
				}
			}
			if tc.wantState != "" {
				shots.take(tb, "store-banner-"+strings.ReplaceAll(tc.name, " ", "-"))
				// History says it in its own page instead.
				tb.do("go to /history", chromedp.Click(chromedp.CSS(`a[href="/history"]`)))
				tb.waitFor("show /history", `document.querySelector('[data-testid=hist-store][data-state=`+tc.wantState+`]')`, 10*time.Second)
				if got := mustEval[string](tb, storeBanner); got != "" {
					t.Errorf("/history: the global store banner %q shows besides the page's own", got)
				}
			}
			tb.clean(tc.name)
		})
	}
}

// TestStoreBannerGoesWhenTheStoreOpens runs a recorder whose data dir is
// blocked by a file, as a node retries it, with the page open on the
// overview: the banner is there, and once the way is cleared the store
// opens and the banner goes without a reload (the node's "history" event
// makes the page ask /api/health again).
func TestStoreBannerGoesWhenTheStoreOpens(t *testing.T) {
	chromiumPath(t)
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(dir, []byte("not a dir"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, openErr := history.Open(dir, time.Now())
	if openErr == nil {
		t.Fatal("Open under a file succeeded; want an error")
	}
	events := health.NewEventLog(100, nil)
	v := meshView("prod", 3, nil)
	var store *history.Store
	rec := history.NewRecorder(history.RecorderConfig{Unavailable: openErr.Error(), Events: events,
		View: func() *health.View { return v }, RetryMin: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		Open: func() (*history.Store, history.OpenResult, error) {
			s, res, err := history.Open(dir, time.Now())
			if err == nil {
				store = s // only Run's goroutine writes it; read after Run ends
			}
			return s, res, err
		}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = rec.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if store != nil {
			store.Close()
		}
	})
	base := serveHistoryEvents(t, v, rec, events)

	b := newBrowser(t)
	tb := b.newTab(t, "store-banner-live")
	tb.open(base+"/", `document.querySelector('[data-testid=net-card]') && `+healthLoaded)
	tb.waitFor("the banner while the store is unavailable", storeBanner+` === 'unavailable'`, 10*time.Second)
	tb.resetTraffic()

	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	tb.waitFor("the banner to go once the store opened", storeBanner+` === ''`, 30*time.Second)
	if h := rec.Health(); h.State != "ok" {
		t.Errorf("Health() = %+v; want ok", h)
	}
	reqs, _ := tb.traffic()
	asked := false
	for _, u := range reqs {
		asked = asked || strings.HasSuffix(u, "/api/health")
	}
	if !asked {
		t.Errorf("the page dropped the banner without asking /api/health again: %v", reqs)
	}
	tb.clean("store opened")
}
