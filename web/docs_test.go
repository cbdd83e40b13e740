package web

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestDocsUsesOnlyLocalAssets: /docs is HTML whose every script and style
// sheet is served by the node itself (no CDN), with the right content type.
func TestDocsUsesOnlyLocalAssets(t *testing.T) {
	srv := serve(t, newFixture(t).full())
	for _, page := range []string{"/docs", "/docs/"} {
		resp := get(t, srv.URL+page, nil)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("GET %s = %d %q; want 200 text/html", page, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		refs := regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(string(b), -1)
		if len(refs) < 3 {
			t.Fatalf("GET %s references %d assets; want the style sheet and two scripts:\n%s", page, len(refs), b)
		}
		for _, ref := range refs {
			u := ref[1]
			if !strings.HasPrefix(u, "/") || strings.HasPrefix(u, "//") {
				t.Errorf("GET %s references %q; want only paths on this node", page, u)
				continue
			}
			if !strings.HasSuffix(u, ".js") && !strings.HasSuffix(u, ".css") {
				continue // a link to a page (the dashboard), an icon or the spec, not an asset it loads
			}
			want := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}[u[strings.LastIndex(u, "."):]]
			resp := get(t, srv.URL+u, nil)
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || n == 0 || resp.Header.Get("Content-Type") != want {
				t.Errorf("GET %s = %d, %d bytes, %q; want 200, content, %q", u, resp.StatusCode, n, resp.Header.Get("Content-Type"), want)
			}
		}
	}
	init := get(t, srv.URL+"/docs/swagger-init.js", nil)
	b, _ := io.ReadAll(init.Body)
	init.Body.Close()
	if !strings.Contains(string(b), `url: "/openapi.json"`) {
		t.Errorf("swagger-init.js does not load /openapi.json:\n%s", b)
	}
	for _, path := range []string{"/docs/nope.js", "/docs/VERSION", "/docs/SHA256SUMS"} {
		resp := get(t, srv.URL+path, nil)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d; want 404", path, resp.StatusCode)
		}
	}
}

// TestVendoredSwaggerMatchesHashes: the embedded swagger-ui-dist files are
// the pinned ones (scripts/vendor-swagger.sh re-fetches and checks them).
func TestVendoredSwaggerMatchesHashes(t *testing.T) {
	sums, err := fs.ReadFile(docsFS, "static/swagger/SHA256SUMS")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	sc := bufio.NewScanner(strings.NewReader(string(sums)))
	for sc.Scan() {
		want, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS: bad line %q", sc.Text())
		}
		b, err := fs.ReadFile(docsFS, "static/swagger/"+name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("%s: sha256 %s; SHA256SUMS says %s", name, got, want)
		}
		n++
	}
	if n < 3 {
		t.Errorf("SHA256SUMS lists %d files; want at least swagger-ui.css, swagger-ui-bundle.js and LICENSE", n)
	}
}
