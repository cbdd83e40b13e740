package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
)

// docsFS holds Swagger UI: our page and initializer (static/docs) and the
// vendored swagger-ui-dist files (static/swagger, pinned in VERSION and
// checked against SHA256SUMS by scripts/vendor-swagger.sh and the tests).
//
//go:embed static/docs static/swagger
var docsFS embed.FS

// docsAsset maps a file name under /docs/ to its embedded path.
func docsAsset(name string) (string, bool) {
	switch name {
	case "swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-bundle.js.LICENSE.txt", "LICENSE", "NOTICE":
		return "static/swagger/" + name, true
	case "swagger-init.js", "docs.css":
		return "static/docs/" + name, true
	}
	return "", false
}

// handleDocsIndex serves the Swagger UI page at /docs and /docs/.
func handleDocsIndex(w http.ResponseWriter, r *http.Request) {
	serveEmbedded(w, r, "static/docs/index.html", "text/html; charset=utf-8")
}

// handleDocsAsset serves Swagger UI's scripts, style sheet and licences.
func handleDocsAsset(w http.ResponseWriter, r *http.Request) {
	name, ok := docsAsset(r.PathValue("file"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	ctype := "text/plain; charset=utf-8"
	switch path.Ext(name) {
	case ".js":
		ctype = "text/javascript; charset=utf-8"
	case ".css":
		ctype = "text/css; charset=utf-8"
	}
	serveEmbedded(w, r, name, ctype)
}

func serveEmbedded(w http.ResponseWriter, r *http.Request, name, ctype string) {
	b, err := fs.ReadFile(docsFS, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b)
}
