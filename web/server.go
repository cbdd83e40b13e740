package web

import (
	"net/http"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/p2p"
)

// Deps is what the HTTP surface reads. Every function must be safe to call
// concurrently and return data the caller may not modify.
type Deps struct {
	// Version is shown by /api/health.
	Version string
	// P2P returns this node's peer ID and announced addresses.
	P2P func() p2p.P2PInfo
	// View returns the agreed state of every network.
	View func() *health.View
	// Events is the node's event log.
	Events *health.EventLog
	// Metrics, when set, is mounted at /metrics.
	Metrics http.Handler
}

// NewServer returns the HTTP handler of a node.
func NewServer(d Deps) http.Handler {
	mux := http.NewServeMux()
	routes(mux, d)
	return mux
}
