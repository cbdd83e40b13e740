package web

import (
	"maps"
	"net/http"
	"slices"
)

// routes lists every route of the sidecar.
func routes(mux *http.ServeMux, d Deps, spec openAPIDoc) {
	mux.HandleFunc("GET /api/health", handleHealth(d))
	mux.HandleFunc("GET /api/p2p", handleP2P(d))
	mux.HandleFunc("GET /api/view", handleView(d))
	mux.HandleFunc("GET /api/networks", handleNetworks(d))
	mux.HandleFunc("GET /api/networks/{id}", handleNetwork(d))
	mux.HandleFunc("GET /api/events", handleEvents(d))
	mux.HandleFunc("GET /api/events/stream", handleEventStream(d))
	mux.HandleFunc("GET /api/notification_cluster", handleNotificationClusters(d))
	mux.HandleFunc("GET /api/raw/{id}", handleRaw(d))
	mux.HandleFunc("/api/", handleNoEndpoint)
	mux.Handle("GET /metrics", metricsHandler(d))
	mux.HandleFunc("GET /openapi.json", spec.serve)
	mux.HandleFunc("GET /docs", handleDocsIndex)
	mux.HandleFunc("GET /docs/{$}", handleDocsIndex)
	mux.HandleFunc("GET /docs/{file}", handleDocsAsset)

	// The dashboard: its screens and assets (web/ui.go).
	uiRoutes(mux)
}

// handleNoEndpoint answers every other /api/ path: 405 for a method other
// than GET or HEAD (the API is read-only), else 404.
func handleNoEndpoint(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed: the API is read-only (GET)")
		return
	}
	writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
}

// Health is /api/health's answer.
type Health struct {
	// Status is "ok", or "degraded" while this node cannot do its job on
	// some network (health.LocalHealth).
	Status string `json:"status"`
	// Version is the meshmon version.
	Version string `json:"version"`
	// Reasons say why the status is degraded.
	Reasons []string `json:"reasons,omitempty"`
}

func handleHealth(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := Health{Status: "ok", Version: d.Version}
		if v := d.View(); v != nil {
			for _, id := range slices.Sorted(maps.Keys(v.Networks)) {
				if l := v.Networks[id].Local; !l.Healthy && !l.Since.IsZero() {
					h.Reasons = append(h.Reasons, id+": "+l.Reason)
				}
			}
		}
		if len(h.Reasons) > 0 {
			h.Status = "degraded"
		}
		writeJSON(w, http.StatusOK, h)
	}
}

func handleP2P(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, d.P2P())
	}
}

func metricsHandler(d Deps) http.Handler {
	if d.Metrics != nil {
		return d.Metrics
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "metrics are not enabled on this node")
	})
}
