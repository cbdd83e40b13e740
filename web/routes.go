package web

import (
	"net/http"

	"github.com/meshmon/meshmon/history"
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
	// History (history.go).
	mux.HandleFunc("GET /api/history/alerts", handleAlertHistory(d))
	mux.HandleFunc("GET /api/history/{id}/uptime", handleUptimeSummary(d))
	mux.HandleFunc("GET /api/history/{id}/outages", handleOutages(d))
	mux.HandleFunc("GET /api/history/{id}/nodes/{node}", handleSubjectHistory(d, "node"))
	mux.HandleFunc("GET /api/history/{id}/links/{src}/{dst}", handleSubjectHistory(d, "link"))
	mux.HandleFunc("/api/", handleNoEndpoint)
	// The public status page (statuspage.go).
	mux.HandleFunc("GET /status/{id}", handleStatusPage(d))
	// Badges for READMEs and wikis (badge.go).
	mux.HandleFunc("GET /badge/{id}/status.svg", handleBadge(d, "status"))
	mux.HandleFunc("GET /badge/{id}/uptime.svg", handleBadge(d, "uptime"))
	mux.HandleFunc("GET /badge/{id}/nodes/{node}/status.svg", handleBadge(d, "status"))
	mux.HandleFunc("GET /badge/{id}/nodes/{node}/uptime.svg", handleBadge(d, "uptime"))
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

// healthBody is the body of /api/health.
type healthBody struct {
	Status  string `json:"status"`
	Version string `json:"version"`
	// History is the history store's state (absent when the node keeps none).
	History *history.Health `json:"history,omitempty"`
}

func handleHealth(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body := healthBody{Status: "ok", Version: d.Version}
		if d.History != nil {
			h := d.History.Health()
			body.History = &h
		}
		writeJSON(w, http.StatusOK, body)
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
