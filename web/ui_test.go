package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// TestUIRoutes checks that every screen's path answers the dashboard page
// (deep links survive a reload), that assets have their types and cache
// validators, and that nothing else is served.
func TestUIRoutes(t *testing.T) {
	srv := serve(t, newFixture(t).full())
	index, err := fs.ReadFile(uiFS, "ui/index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		status     int
		ctype      string
		body       []byte // nil: not checked
	}{
		{"overview", "/", 200, "text/html; charset=utf-8", index},
		{"network", "/networks/prod", 200, "text/html; charset=utf-8", index},
		{"network with odd id", "/networks/" + "a%20b", 200, "text/html; charset=utf-8", index},
		{"network with query", "/networks/prod?node=server-02", 200, "text/html; charset=utf-8", index},
		{"graph", "/graph?network=prod&node=server-01", 200, "text/html; charset=utf-8", index},
		{"clusters", "/clusters", 200, "text/html; charset=utf-8", index},
		{"events", "/events?severity=error", 200, "text/html; charset=utf-8", index},
		{"history", "/history?range=7d&node=a", 200, "text/html; charset=utf-8", index},
		{"monitors", "/monitors?network=prod&monitor=status%20page&range=7d", 200, "text/html; charset=utf-8", index},
		{"module", "/ui/app.js", 200, "text/javascript; charset=utf-8", nil},
		{"style sheet", "/ui/style.css", 200, "text/css; charset=utf-8", nil},
		{"icon", "/ui/favicon.svg", 200, "image/svg+xml", nil},
		{"favicon.ico", "/favicon.ico", 200, "image/svg+xml", nil},
		{"unknown asset", "/ui/nope.js", 404, "", nil},
		{"asset directory", "/ui/", 404, "", nil},
		{"escape", "/ui/../go.mod", 404, "", nil},
		{"escape, encoded", "/ui/%2e%2e/ui.go", 404, "", nil},
		{"network subpath", "/networks/prod/extra", 404, "", nil},
		{"unknown page", "/nope", 404, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, srv.URL+tc.path, nil)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("GET %s = %d; want %d", tc.path, resp.StatusCode, tc.status)
			}
			if tc.status == 404 && !strings.HasPrefix(tc.path, "/ui/") {
				// A page, not an asset: an HTML page with a way back.
				if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" || !strings.Contains(string(body), `href="/"`) {
					t.Errorf("GET %s = %q %q; want an HTML page linking to /", tc.path, ct, body)
				}
			}
			if tc.status != 200 {
				return
			}
			if got := resp.Header.Get("Content-Type"); got != tc.ctype {
				t.Errorf("GET %s Content-Type = %q; want %q", tc.path, got, tc.ctype)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("GET %s Cache-Control = %q; want no-cache", tc.path, got)
			}
			if resp.Header.Get("ETag") == "" {
				t.Errorf("GET %s has no ETag", tc.path)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("GET %s X-Content-Type-Options = %q; want nosniff", tc.path, got)
			}
			if tc.body != nil && string(body) != string(tc.body) {
				t.Errorf("GET %s is not index.html", tc.path)
			}
			if tc.ctype == "text/html; charset=utf-8" && !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
				t.Errorf("GET %s Content-Security-Policy = %q; want default-src 'self'", tc.path, resp.Header.Get("Content-Security-Policy"))
			}
		})
	}
}

// TestUINotFoundMethods: a path nothing serves is a 404 page for GET and
// HEAD (no body), and 405 for other methods, as before the 404 page.
func TestUINotFoundMethods(t *testing.T) {
	srv := serve(t, newFixture(t).full())
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/nope", 404},
		{http.MethodHead, "/nope", 404},
		{http.MethodPost, "/nope", 405},
		{http.MethodPost, "/", 405},
		{http.MethodDelete, "/graph", 405},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("%s %s = %d; want %d", tc.method, tc.path, resp.StatusCode, tc.status)
			}
			if tc.method == http.MethodHead && len(body) != 0 {
				t.Errorf("HEAD %s has a body of %d bytes", tc.path, len(body))
			}
		})
	}
}

// TestUIRevalidation checks that a browser holding the current version of
// an asset gets 304 and no body.
func TestUIRevalidation(t *testing.T) {
	srv := serve(t, newFixture(t).full())
	for _, p := range []string{"/", "/ui/app.js"} {
		resp := get(t, srv.URL+p, nil)
		resp.Body.Close()
		etag := resp.Header.Get("ETag")
		again := get(t, srv.URL+p, http.Header{"If-None-Match": {etag}})
		body, _ := io.ReadAll(again.Body)
		again.Body.Close()
		if again.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Errorf("GET %s with If-None-Match %s = %d with %d bytes; want 304, empty", p, etag, again.StatusCode, len(body))
		}
		stale := get(t, srv.URL+p, http.Header{"If-None-Match": {`"stale"`}})
		stale.Body.Close()
		if stale.StatusCode != http.StatusOK {
			t.Errorf("GET %s with a stale ETag = %d; want 200", p, stale.StatusCode)
		}
	}
}

// TestUIAPIStillAnswers checks the dashboard's routes leave the API alone.
func TestUIAPIStillAnswers(t *testing.T) {
	srv := serve(t, newFixture(t).full())
	for p, want := range map[string]int{"/api/view": 200, "/api/networks/prod": 200, "/api/events": 200, "/api/nope": 404, "/docs": 200} {
		resp := get(t, srv.URL+p, nil)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d; want %d", p, resp.StatusCode, want)
		}
	}
}

var (
	importRE = regexp.MustCompile(`(?m)^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)`)
	refRE    = regexp.MustCompile(`(?:src|href)="(/ui/[^"]+)"`)
	urlRE    = regexp.MustCompile(`(?i)(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[/"')\s]`)
)

// TestUIAssetsSelfContained checks the embedded dashboard: every module it
// imports and every file index.html loads is embedded and served, and no
// file refers to another site (the UI works offline, with no CDN).
func TestUIAssetsSelfContained(t *testing.T) {
	assets := loadUIAssets()
	read := func(name string) string {
		t.Helper()
		b, err := fs.ReadFile(uiFS, assets[name].path)
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		return string(b)
	}
	index := read("index.html")
	refs := refRE.FindAllStringSubmatch(index, -1)
	if len(refs) < 4 {
		t.Fatalf("index.html loads %d files from /ui/; want its icon, style sheet and scripts", len(refs))
	}
	for _, m := range refs {
		if _, ok := assets[strings.TrimPrefix(m[1], "/ui/")]; !ok {
			t.Errorf("index.html loads %s, which is not embedded", m[1])
		}
	}
	modules := 0
	for name := range assets {
		text := read(name)
		if path.Ext(name) == ".js" {
			modules++
			for _, m := range importRE.FindAllStringSubmatch(text, -1) {
				spec := m[1] + m[2]
				if !strings.HasPrefix(spec, "./") {
					t.Errorf("%s imports %q; want a relative path to an embedded module", name, spec)
					continue
				}
				if _, ok := assets[path.Join(path.Dir(name), spec)]; !ok {
					t.Errorf("%s imports %s, which is not embedded", name, spec)
				}
			}
		}
		// The SVG namespace is a name, not a place the page loads from.
		text = strings.ReplaceAll(text, "http://www.w3.org/2000/svg", "")
		if m := urlRE.FindString(text); m != "" {
			t.Errorf("%s refers to another site (%q); the dashboard must work offline", name, m)
		}
	}
	if modules < 5 {
		t.Errorf("%d ES modules embedded; want the app and its screens", modules)
	}
}

// TestUIHeadIsCheap checks HEAD answers like GET without a body, as the
// API's routes do.
func TestUIHeadIsCheap(t *testing.T) {
	srv := httptest.NewServer(NewServer(newFixture(t).full()))
	defer srv.Close()
	req, err := http.NewRequest(http.MethodHead, srv.URL+"/graph", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("HEAD /graph = %d, %d bytes, %q; want 200, no body, text/html", resp.StatusCode, len(body), resp.Header.Get("Content-Type"))
	}
}

// TestUIAssetsStayInBinary: the dashboard's bytes are served from the
// binary, not copied onto every node's heap (about 0.25 MiB resident).
func TestUIAssetsStayInBinary(t *testing.T) {
	var size int64
	_ = fs.WalkDir(uiFS, "ui", func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				size += info.Size()
			}
		}
		return nil
	})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	assets := loadUIAssets()
	runtime.GC()
	runtime.ReadMemStats(&after)
	live := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	runtime.KeepAlive(assets)
	if len(assets) == 0 {
		t.Fatal("no assets")
	}
	if live > size/4 {
		t.Errorf("loadUIAssets keeps %d bytes on the heap for %d bytes of files; want under a quarter", live, size)
	}
	t.Logf("%d files, %d bytes; %d bytes live on the heap", len(assets), size, live)
}
