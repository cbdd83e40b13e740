// Package uitest drives the embedded dashboard (web/ui) in real headless
// Chromium against real in-process meshmon nodes (node/nodetest), from Go
// with chromedp. It lives apart from package web because web cannot import
// node.
//
// The tests need Debian's chromium (/usr/bin/chromium, or chromium on
// PATH). Without it they fail when CI=true and skip otherwise. They write
// screenshots of every screen, at desktop and phone width, to
// artifacts/screenshots/ at the repository root; with
// MESHMON_UPDATE_SCREENSHOTS=1 they also refresh docs/screenshots/.
package uitest
