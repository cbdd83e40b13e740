package web

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestStatusPage(t *testing.T) {
	f := newFixture(t)
	d := f.full()
	srv := serve(t, d)
	off := f.full()
	off.StatusPage = false

	resp := get(t, srv.URL+"/status/prod", nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /status/prod = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP = %q; want nothing but the inline style allowed", csp)
	}
	page := string(body)
	for _, want := range []string{
		`<tr data-node="server-03"><td>server-03</td><td class="s-offline">offline <span class="muted">for 30 min</span>`,
		"83.33%", "Some members are down or degraded", `data-testid="outages"`, "30 min (ongoing)",
		// Monitors: verdicts, uptime from the history store, their outages.
		`<tr data-monitor="shop"><td>shop</td><td class="s-degraded">partial</td><td class="n">97.22%</td>`,
		`<tr data-monitor="db"><td>db</td><td class="s-offline">down <span class="muted">for 20 min</span>`,
		`<tr data-monitor="cert"><td>cert</td><td class="s-online">up (warning)</td>`,
		`<tr><td>shop</td><td>2025-06-01 12:35 UTC</td><td>5 min</td></tr>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	// Nothing internal: no peer IDs, urls, addresses, versions, config or events.
	for _, secret := range []string{"12D3KooW", "example.com", "v0.3.0", "4b825dc6", "fetch: connection refused",
		"placeholder", "/ip4/", "key_missing", "no pubkeys", "db.internal", "HTTP 503", "connection refused"} {
		if strings.Contains(page, secret) {
			t.Errorf("status page shows %q; it must show no internal detail", secret)
		}
	}

	for _, tc := range []struct {
		name string
		d    Deps
		path string
	}{
		{"disabled", off, "/status/prod"},
		{"unknown network", d, "/status/nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, serve(t, tc.d).URL+tc.path, nil)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s = %d; want 404", tc.path, resp.StatusCode)
			}
		})
	}
}

func TestStatusPageWithoutHistory(t *testing.T) {
	d := newFixture(t).minimal()
	d.StatusPage = true
	resp := get(t, serve(t, d).URL+"/status/prod", nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "keeps no history") ||
		!strings.Contains(string(body), `class="s-offline">offline</td>`) {
		t.Errorf("status page without history = %d:\n%s", resp.StatusCode, body)
	}
}
