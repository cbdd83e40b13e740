package web

import (
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/meshmon/meshmon/health"
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
	// Monitors (monitors.go).
	mux.HandleFunc("GET /api/monitors", handleMonitors(d))
	mux.HandleFunc("GET /api/monitors/{network}/{name}", handleMonitor(d))
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

// Health is /api/health's answer.
type Health struct {
	// Status is "ok", or "degraded" while this node cannot do its job on
	// some network (health.LocalHealth).
	Status string `json:"status"`
	// Version is the meshmon version.
	Version string `json:"version"`
	// Reasons say why the status is degraded.
	Reasons []string `json:"reasons,omitempty"`
	// History is the history store's state (absent when the node keeps
	// none). Its problems do not make Status degraded: monitoring and
	// alerting go on without it.
	History *history.Health `json:"history,omitempty"`
}

func handleHealth(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := Health{Status: "ok", Version: d.Version}
		if v := viewOf(d); v != nil {
			for _, id := range slices.Sorted(maps.Keys(v.Networks)) {
				nv := v.Networks[id]
				if l := nv.Local; !l.Healthy && !l.Since.IsZero() {
					h.Reasons = append(h.Reasons, id+": "+l.Reason)
				}
				h.Reasons = append(h.Reasons, clashReasons(nv)...)
			}
		}
		if d.History != nil {
			hh := d.History.Health()
			h.History = &hh
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

// viewOf is d's view, or nil when d has no View (a bare sidecar in tests).
func viewOf(d Deps) *health.View {
	if d.View == nil {
		return nil
	}
	return d.View()
}

// clashReasons are /api/health's lines for the members of nv that run as
// two hosts with one key.
func clashReasons(nv *health.NetworkView) []string {
	var out []string
	for _, node := range slices.Sorted(maps.Keys(nv.Nodes)) {
		if c := nv.Nodes[node].IdentityClash; c != nil {
			out = append(out, fmt.Sprintf("%s: %s runs as two hosts with one key (incarnations %v)", nv.NetworkID, node, c.BootIDs))
		}
	}
	return out
}
