package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// uiFS holds the dashboard (DESIGN.md §8): plain HTML, CSS and ES modules
// under ui/, served as they are (ui/README.md describes them). There is no build step and nothing comes
// from elsewhere, so `go build` always embeds the real UI and it works
// offline.
//
//go:embed ui/*.html ui/*.js ui/*.css ui/*.svg
var uiFS embed.FS

// uiCSP is the dashboard's Content-Security-Policy: only this origin's
// scripts, styles, images and API. It also keeps the promise that nothing
// on the page comes from a CDN.
const uiCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// uiType returns the Content-Type of a dashboard file by its extension;
// a file of another kind is not served.
func uiType(ext string) (string, bool) {
	switch ext {
	case ".html":
		return "text/html; charset=utf-8", true
	case ".js":
		return "text/javascript; charset=utf-8", true
	case ".css":
		return "text/css; charset=utf-8", true
	case ".svg":
		return "image/svg+xml", true
	case ".png":
		return "image/png", true
	case ".json":
		return "application/json", true
	case ".txt":
		return "text/plain; charset=utf-8", true
	}
	return "", false
}

// uiAsset is one embedded file, ready to serve. Its bytes stay in the
// binary (embed.FS) and are read from there per request: a copy on the
// heap would keep about 0.25 MiB resident in every node for a dashboard
// that is seldom open.
type uiAsset struct {
	path  string // in uiFS
	ctype string
	etag  string // strong validator: a hash of the bytes
}

// open returns the asset's bytes; embed.FS files seek. The caller closes it.
func (f uiAsset) open() (io.ReadSeekCloser, error) {
	file, err := uiFS.Open(f.path)
	if err != nil {
		return nil, err
	}
	rs, ok := file.(io.ReadSeekCloser)
	if !ok {
		file.Close()
		return nil, fmt.Errorf("ui asset %s: %w", f.path, errors.ErrUnsupported)
	}
	return rs, nil
}

// uiAssets are the dashboard's files by their path under ui/. Built once
// per server and only read afterwards.
type uiAssets map[string]uiAsset

// loadUIAssets reads every servable file of ui/.
func loadUIAssets() uiAssets {
	a := uiAssets{}
	_ = fs.WalkDir(uiFS, "ui", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		ctype, ok := uiType(path.Ext(p))
		if !ok {
			return nil
		}
		body, err := fs.ReadFile(uiFS, p)
		if err != nil {
			return nil
		}
		sum := sha256.Sum256(body)
		a[strings.TrimPrefix(p, "ui/")] = uiAsset{path: p, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	return a
}

// uiRoutes registers the dashboard on mux. Every screen's path answers
// index.html, so deep links survive a reload; the app routes on the client.
// Assets live under /ui/.
func uiRoutes(mux *http.ServeMux) {
	assets := loadUIAssets()
	for _, pattern := range []string{
		"GET /{$}",
		"GET /networks/{id}",
		"GET /graph",
		"GET /clusters",
		"GET /events",
		"GET /history",
		"GET /monitors",
	} {
		mux.HandleFunc(pattern, assets.serveIndex)
	}
	mux.HandleFunc("GET /ui/{file...}", assets.serveAsset)
	mux.HandleFunc("GET /favicon.ico", assets.serveFavicon)
	// Any other path: a page that says so, with a way back.
	mux.HandleFunc("/", assets.serveNotFound)
}

// serveNotFound answers a path nothing else serves with a 404 page that
// links back to the dashboard (a plain-text 404 leaves a user stranded).
func (a uiAssets) serveNotFound(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: the dashboard is read-only", http.StatusMethodNotAllowed)
		return
	}
	f, ok := a["notfound.html"]
	var body io.ReadSeekCloser
	if ok {
		var err error
		body, err = f.open()
		ok = err == nil
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	defer body.Close()
	h := w.Header()
	h.Set("Content-Security-Policy", uiCSP)
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusNotFound)
	if r.Method != http.MethodHead {
		_, _ = io.Copy(w, body)
	}
}

func (a uiAssets) serveIndex(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", uiCSP)
	h.Set("Referrer-Policy", "same-origin")
	a.serve(w, r, "index.html")
}

func (a uiAssets) serveAsset(w http.ResponseWriter, r *http.Request) {
	a.serve(w, r, r.PathValue("file"))
}

func (a uiAssets) serveFavicon(w http.ResponseWriter, r *http.Request) {
	a.serve(w, r, "favicon.svg")
}

// serve writes one asset. Cache-Control is no-cache with an ETag: the
// file names carry no hash, so a browser revalidates each file (a cheap
// 304) and never runs an old module against a new one after an upgrade.
func (a uiAssets) serve(w http.ResponseWriter, r *http.Request, name string) {
	f, ok := a[name]
	var body io.ReadSeekCloser
	if ok {
		var err error
		body, err = f.open()
		ok = err == nil
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	defer body.Close()
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, name, time.Time{}, body)
}
