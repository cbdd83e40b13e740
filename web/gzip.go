package web

import (
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// gzipHandler compresses next's responses with gzip for clients that
// accept it. It leaves alone: the event stream (each event must reach the
// client at once), HEAD, range requests, responses that already have a
// Content-Encoding (/metrics compresses itself), bodiless statuses,
// content that is already compressed (images other than SVG, fonts), and
// responses whose Content-Length is under minGzipSize.
//
// Each gzip.Writer holds a 0.65 MB compressor, kept in a pool that the
// garbage collector empties: compressing a 200-byte /api/health answer for
// a healthcheck every 10 s would allocate that again and again, for no
// fewer packets.
type gzipHandler struct {
	next http.Handler
	pool sync.Pool // of *gzip.Writer
}

// minGzipSize is the smallest declared body worth compressing: below it a
// response fits one packet either way.
const minGzipSize = 1024

func newGzipHandler(next http.Handler) *gzipHandler {
	return &gzipHandler{next: next, pool: sync.Pool{New: func() any {
		zw, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression)
		return zw
	}}}
}

func (g *gzipHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead || r.Header.Get("Range") != "" || r.URL.Path == "/api/events/stream" ||
		!acceptsGzip(r.Header.Get("Accept-Encoding")) {
		g.next.ServeHTTP(w, r)
		return
	}
	gw := &gzipWriter{ResponseWriter: w, pool: &g.pool}
	defer gw.close()
	g.next.ServeHTTP(gw, r)
}

// acceptsGzip reports whether an Accept-Encoding header value accepts gzip
// (listed, or *, with a q-value above 0).
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "x-gzip" && coding != "*" {
			continue
		}
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil {
					f = 0
				}
				q = f
			}
		}
		if q > 0 {
			return true
		}
	}
	return false
}

// gzipWriter decides at the first WriteHeader or Write whether to
// compress, from the response's headers.
type gzipWriter struct {
	http.ResponseWriter
	pool    *sync.Pool
	zw      *gzip.Writer // nil: passing through
	decided bool
}

// compressible reports whether a response with header h and status code
// is worth compressing.
func compressible(h http.Header, code int) bool {
	if code < 200 || code == http.StatusNoContent || code == http.StatusNotModified {
		return false
	}
	if h.Get("Content-Encoding") != "" {
		return false
	}
	if n, err := strconv.Atoi(h.Get("Content-Length")); err == nil && n < minGzipSize {
		return false
	}
	ct := strings.ToLower(h.Get("Content-Type"))
	switch {
	case strings.HasPrefix(ct, "image/svg"):
		return true
	case strings.HasPrefix(ct, "image/"), strings.HasPrefix(ct, "font/"), strings.HasPrefix(ct, "video/"),
		strings.HasPrefix(ct, "audio/"), strings.Contains(ct, "zip"), strings.HasPrefix(ct, "text/event-stream"):
		return false
	}
	return true
}

func (g *gzipWriter) decide(code int, first []byte) {
	if g.decided {
		return
	}
	g.decided = true
	h := g.ResponseWriter.Header()
	if h.Get("Content-Type") == "" && len(first) > 0 {
		// What net/http would sniff from the plain body.
		h.Set("Content-Type", http.DetectContentType(first))
	}
	h.Add("Vary", "Accept-Encoding")
	if !compressible(h, code) {
		return
	}
	h.Set("Content-Encoding", "gzip")
	h.Del("Content-Length")
	// A strong ETag names the plain bytes; the gzipped ones differ.
	if et := h.Get("Etag"); et != "" && !strings.HasPrefix(et, "W/") {
		h.Set("Etag", "W/"+et)
	}
	g.zw = g.pool.Get().(*gzip.Writer)
	g.zw.Reset(g.ResponseWriter)
}

func (g *gzipWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 {
		g.ResponseWriter.WriteHeader(code) // informational: not the response
		return
	}
	g.decide(code, nil)
	g.ResponseWriter.WriteHeader(code)
}

func (g *gzipWriter) Write(p []byte) (int, error) {
	if !g.decided {
		g.decide(http.StatusOK, p)
	}
	if g.zw == nil {
		return g.ResponseWriter.Write(p)
	}
	return g.zw.Write(p)
}

// Flush sends what is compressed so far.
func (g *gzipWriter) Flush() {
	if g.zw != nil {
		_ = g.zw.Flush()
	}
	if f, ok := g.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's deadlines.
func (g *gzipWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }

func (g *gzipWriter) close() {
	if g.zw == nil {
		return
	}
	_ = g.zw.Close()
	g.zw.Reset(nil)
	g.pool.Put(g.zw)
	g.zw = nil
}
