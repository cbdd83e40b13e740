package uitest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath returns Debian's chromium. Without it the test fails under
// CI=true (the browser tests are part of the suite) and skips otherwise.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	const msg = "chromium not found (want /usr/bin/chromium): install it with `apt-get install -y chromium`; the dashboard's browser tests need it"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg + " (skipped because CI is not true)")
	return ""
}

// browser is one headless Chromium with a fresh profile, closed when the
// test ends.
type browser struct {
	t   *testing.T
	ctx context.Context // the first tab; new tabs are its children
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests may run as root
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", exe, err)
	}
	return &browser{t: t, ctx: ctx}
}

// tab is one page. It records console errors, uncaught exceptions and
// failed requests, which the tests require to be none.
type tab struct {
	t    *testing.T
	ctx  context.Context
	name string

	// mu protects the following fields.
	mu       sync.Mutex
	problems []string
	urls     map[network.RequestID]string
	requests []string // URLs requested since the last resetTraffic
	received int64    // bytes of API responses received since then
}

// resetTraffic clears the record of requests and bytes received.
func (tb *tab) resetTraffic() {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.requests, tb.received = nil, 0
}

// traffic returns the URLs requested and the bytes received since the
// last resetTraffic.
func (tb *tab) traffic() ([]string, int64) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return slices.Clone(tb.requests), tb.received
}

// newTab opens a tab of the browser at desktop size (1280×900), closed
// when t ends.
func (b *browser) newTab(t *testing.T, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx, name: name, urls: map[network.RequestID]string{}}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab %s: %v", name, err)
	}
	if err := chromedp.Listen(ctx, tb.record); err != nil {
		t.Fatalf("listen to tab %s: %v", name, err)
	}
	tb.desktop()
	return tb
}

// record runs in the tab's event loop: it must return fast.
func (tb *tab) record(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		tb.urls[ev.RequestID] = ev.Request.URL
		tb.requests = append(tb.requests, ev.Request.URL)
	case *network.EventDataReceived:
		// Only the API's: the page's assets, loaded once, are not what an
		// idle tab costs. DataLength (body bytes as they arrive), not
		// EncodedDataLength, which Chromium reports seconds late; nothing
		// here is compressed, so the two are the same bytes.
		if strings.Contains(tb.urls[ev.RequestID], "/api/") {
			tb.received += ev.DataLength
		}
	case *network.EventResponseReceived:
		if ev.Response.Status >= 400 {
			tb.problems = append(tb.problems, fmt.Sprintf("HTTP %d for %s", ev.Response.Status, ev.Response.URL))
		}
	case *network.EventLoadingFailed:
		// Leaving a page cancels its open requests (the event stream):
		// that is not a failure.
		if !ev.Canceled {
			tb.problems = append(tb.problems, fmt.Sprintf("request failed: %s: %s %s", tb.urls[ev.RequestID], ev.ErrorText, ev.BlockedReason))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		tb.problems = append(tb.problems, fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, text))
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var parts []string
			for _, a := range ev.Args {
				if a.Description != "" {
					parts = append(parts, a.Description)
				} else {
					parts = append(parts, string(a.Value))
				}
			}
			tb.problems = append(tb.problems, "console."+string(ev.Type)+": "+strings.Join(parts, " "))
		}
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			tb.problems = append(tb.problems, fmt.Sprintf("browser log: %s (%s)", ev.Entry.Text, ev.Entry.URL))
		}
	}
}

// clean fails the test if the tab saw a console error, an exception or a
// failed request since the last call.
func (tb *tab) clean(when string) {
	tb.t.Helper()
	tb.mu.Lock()
	p := tb.problems
	tb.problems = nil
	tb.mu.Unlock()
	if len(p) > 0 {
		tb.t.Errorf("%s: %s: %d problem(s) in the page:\n  %s", tb.name, when, len(p), strings.Join(p, "\n  "))
	}
}

// outage drops the problems an outage of the node at base explains (its
// requests failing while it is down) and fails the test for any other.
func (tb *tab) outage(base, when string) {
	tb.t.Helper()
	tb.mu.Lock()
	p := tb.problems
	tb.problems = nil
	tb.mu.Unlock()
	var other []string
	for _, s := range p {
		if !strings.Contains(s, base) || !(strings.Contains(s, "net::ERR_") || strings.Contains(s, "Failed to load resource")) {
			other = append(other, s)
		}
	}
	if len(other) > 0 {
		tb.t.Errorf("%s: %s: %d problem(s) besides the outage:\n  %s", tb.name, when, len(other), strings.Join(other, "\n  "))
	}
	tb.t.Logf("%s: %s: %d request(s) failed during the outage, as they should", tb.name, when, len(p)-len(other))
}

func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %s: %v", tb.name, what, err)
	}
}

// eval evaluates a JavaScript expression (awaiting a promise) and decodes
// its value into T.
func eval[T any](tb *tab, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// mustEval is eval that fails the test on error.
func mustEval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	v, err := eval[T](tb, expr)
	if err != nil {
		tb.t.Fatalf("%s: evaluate %s: %v", tb.name, expr, err)
	}
	return v
}

// open navigates the tab to url and waits until ready (a JavaScript
// expression) holds.
func (tb *tab) open(url, ready string) {
	tb.t.Helper()
	tb.do("navigate to "+url, chromedp.Navigate(url))
	tb.waitFor("load "+url, ready, 30*time.Second)
}

// waitFor polls a JavaScript expression until it is true, failing the test
// with what the page shows when timeout passes first.
func (tb *tab) waitFor(what, expr string, timeout time.Duration) {
	tb.t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		ok, err := eval[bool](tb, "!!("+expr+")")
		if err == nil && ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			break
		}
		select {
		case <-tick.C:
		case <-tb.ctx.Done():
			tb.t.Fatalf("%s: %s: %v", tb.name, what, tb.ctx.Err())
		}
	}
	text, _ := eval[string](tb, `(document.querySelector('main') || document.body).innerText.slice(0, 1500)`)
	tb.t.Fatalf("%s: %s: not true after %v: %s (last error: %v)\npage text:\n%s", tb.name, what, timeout, expr, lastErr, text)
}

// desktop sets a 1280×900 viewport.
func (tb *tab) desktop() {
	tb.t.Helper()
	tb.do("desktop viewport", chromedp.EmulateViewport(1280, 900))
}

// phone sets a 375×812 phone viewport (scale 2, touch).
func (tb *tab) phone() {
	tb.t.Helper()
	tb.do("phone viewport", chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch))
}

// colorScheme emulates prefers-color-scheme ("light" or "dark").
func (tb *tab) colorScheme(scheme string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	})
	if err != nil {
		tb.t.Fatalf("%s: emulate %s scheme: %v", tb.name, scheme, err)
	}
}

// noHorizontalScroll fails the test if the page is wider than the viewport.
func (tb *tab) noHorizontalScroll(when string) {
	tb.t.Helper()
	type widths struct {
		Scroll   int      `json:"scroll"`
		Client   int      `json:"client"`
		Culprits []string `json:"culprits"`
	}
	w := mustEval[widths](tb, `(() => {
		const d = document.documentElement;
		const culprits = [];
		for (const el of document.querySelectorAll('body *')) {
			const r = el.getBoundingClientRect();
			if (r.right > d.clientWidth + 0.5 && culprits.length < 5) culprits.push(el.tagName.toLowerCase() + '.' + el.className + ' right=' + Math.round(r.right));
		}
		return {scroll: d.scrollWidth, client: d.clientWidth, culprits: culprits};
	})()`)
	if w.Scroll > w.Client {
		tb.t.Errorf("%s: %s: scrolls horizontally: scrollWidth %d > clientWidth %d; too wide: %v", tb.name, when, w.Scroll, w.Client, w.Culprits)
	}
}

// luminance returns the relative luminance (0 black … 1 white) of a CSS
// rgb()/rgba() colour.
func luminance(css string) (float64, error) {
	var r, g, b float64
	s := strings.TrimSpace(css)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "rgba("), "rgb(")
	s = strings.TrimSuffix(s, ")")
	parts := strings.FieldsFunc(s, func(c rune) bool { return c == ',' || c == ' ' || c == '/' })
	if len(parts) < 3 {
		return 0, fmt.Errorf("not an rgb colour: %q", css)
	}
	for i, p := range []*float64{&r, &g, &b} {
		if _, err := fmt.Sscanf(parts[i], "%g", p); err != nil {
			return 0, fmt.Errorf("colour %q: %w", css, err)
		}
	}
	lin := func(c float64) float64 {
		c /= 255
		if c <= 0.03928 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b), nil
}

// docShot tells whether a screenshot is kept in docs/screenshots/ (the
// README shows them); every screenshot goes to artifacts/screenshots/.
func docShot(name string) bool {
	return slices.Contains([]string{
		"overview-desktop", "network-desktop", "graph-desktop", "clusters-desktop", "events-desktop",
		"overview-phone", "network-phone", "graph-phone", "events-phone",
		"overview-node-down-desktop", "graph-node-down-desktop", "network-node-down-desktop",
		"overview-dark-desktop", "graph-dark-desktop", "graph-50-desktop", "graph-3-desktop", "clusters-with-cluster-desktop",
		"overview-unreachable-desktop", "overview-stale-desktop", "network-node-left-desktop",
		"monitors-desktop", "monitors-detail-desktop",
	}, name)
}

// shots writes screenshots under artifacts/screenshots/ and, with
// MESHMON_UPDATE_SCREENSHOTS=1, the docShot ones to docs/screenshots/.
type shots struct {
	t    *testing.T
	dirs []string
}

func newShots(t *testing.T) *shots {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	s := &shots{t: t, dirs: []string{filepath.Join(root, "artifacts", "screenshots")}}
	if os.Getenv("MESHMON_UPDATE_SCREENSHOTS") == "1" {
		s.dirs = append(s.dirs, filepath.Join(root, "docs", "screenshots"))
	}
	for _, d := range s.dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			// A read-only checkout still runs the tests, without pictures.
			t.Logf("no screenshots: %v", err)
			s.dirs = nil
			break
		}
	}
	return s
}

// take writes a full-page PNG of the tab as name.png.
func (s *shots) take(tb *tab, name string) {
	s.t.Helper()
	if len(s.dirs) == 0 {
		return
	}
	// Finish the CSS transitions (colours, chevrons) and let two frames
	// paint, so the picture shows the settled page.
	_, _ = eval[bool](tb, `new Promise(r => {
		for (const a of document.getAnimations()) { try { a.finish(); } catch (e) { /* infinite */ } }
		requestAnimationFrame(() => requestAnimationFrame(() => r(true)));
		setTimeout(() => r(true), 500); // a hidden tab paints no frames
	})`)
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	for i, d := range s.dirs {
		if i > 0 && !docShot(name) {
			continue
		}
		p := filepath.Join(d, name+".png")
		if err := os.WriteFile(p, png, 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
	s.t.Logf("screenshot %s (%d KiB)", filepath.Join(s.dirs[0], name+".png"), len(png)/1024)
}

// repoRoot is the directory of go.mod above the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
