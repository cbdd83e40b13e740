package web

import (
	"net/http"
	"strconv"

	"github.com/meshmon/meshmon/health"
)

// routes lists every route of the sidecar.
func routes(mux *http.ServeMux, d Deps) {
	mux.HandleFunc("GET /api/health", handleHealth(d))
	mux.HandleFunc("GET /api/p2p", handleP2P(d))
	mux.HandleFunc("GET /api/view", handleView(d))
	mux.HandleFunc("GET /api/networks/{id}", handleNetwork(d))
	mux.HandleFunc("GET /api/events", handleEvents(d))
	if d.Metrics != nil {
		mux.Handle("GET /metrics", d.Metrics)
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	})
	mux.HandleFunc("GET /{$}", handleIndex(d))
}

func handleHealth(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": d.Version})
	}
}

func handleP2P(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, d.P2P())
	}
}

func handleView(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, d.View())
	}
}

func handleNetwork(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		nv, ok := d.View().Networks[id]
		if !ok {
			writeError(w, http.StatusNotFound, "unknown network: "+id)
			return
		}
		writeJSON(w, http.StatusOK, nv)
	}
}

func handleEvents(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit := 100
		if s := q.Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 1000 {
				writeError(w, http.StatusBadRequest, "limit must be a whole number from 1 to 1000")
				return
			}
			limit = n
		}
		network, severity := q.Get("network"), q.Get("severity")
		events := d.Events.List(func(e health.Event) bool {
			return (network == "" || e.Network == network) && (severity == "" || string(e.Severity) == severity)
		})
		if len(events) > limit {
			events = events[:limit]
		}
		writeJSON(w, http.StatusOK, map[string]any{"events": events})
	}
}

func handleIndex(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><html><head><meta charset="utf-8"><title>meshmon</title></head>
<body><h1>meshmon</h1><p>The dashboard is coming. Meanwhile: <a href="/api/view">/api/view</a>,
<a href="/api/events">/api/events</a>, <a href="/api/health">/api/health</a>.</p></body></html>`))
	}
}
