package web

import (
	"net/http"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/history"
	"github.com/meshmon/meshmon/monitor"
	"github.com/meshmon/meshmon/p2p"
)

// Deps is what the HTTP surface reads. Every function must be safe to call
// concurrently, must not block for long, and must return data that nobody
// modifies afterwards (the handlers only read it). Optional functions may be
// nil; each says what the API answers then.
type Deps struct {
	// Version is shown by /api/health and in the OpenAPI document's info.
	Version string
	// P2P returns this node's peer ID and announced addresses. Required.
	P2P func() p2p.P2PInfo
	// View returns the agreed state of every network. Required.
	View func() *health.View
	// Events is the node's event log. Required.
	Events *health.EventLog
	// Metrics, when set, is mounted at /metrics; nil answers 404.
	Metrics http.Handler
	// NotificationClusters returns every notification cluster this node
	// takes part in. Nil: /api/notification_cluster answers an empty list
	// (a node without webhooks).
	NotificationClusters func() []NotificationCluster
	// Raw returns the latest admitted signed messages of a network, and
	// false when this node does not know the network. Nil: a network of
	// the view answers an empty list; unknown networks still answer 404.
	Raw func(network string) ([]RawMessage, bool)
	// StreamInterval is how often /api/events/stream sends a view
	// snapshot. Default 2s.
	StreamInterval time.Duration
	// Done, when closed, ends every open /api/events/stream. Close it when
	// the server shuts down: http.Server.Shutdown waits for handlers but
	// does not cancel their requests, so without Done an open stream holds
	// Shutdown until its deadline. Nil: streams end only when their client
	// goes away or the connection is closed.
	Done <-chan struct{}
	// MaxStreamsPerClient caps the open /api/events/stream of one client
	// IP address; one more answers 429. Default 8.
	MaxStreamsPerClient int

	// History is the node's history: it serves /api/history/*, pages
	// /api/events past the in-memory log and across restarts, lets a
	// resumed stream catch up from the store, and its state is part of
	// /api/health. Nil, or a recorder without a store: /api/history/*
	// answer 503 and events come from memory only.
	History *history.Recorder
	// Monitors returns every network's monitor snapshot, in network
	// order: /api/monitors and /api/monitors/{network}/{name}. Nil: no
	// monitors (an empty list, and 404 for any one).
	Monitors func() []*monitor.Snapshot
	// StatusPage enables the public status page /status/{network}: names,
	// statuses, uptime and outages, nothing internal. False: 404.
	StatusPage bool
	// Now is the clock history ranges end at. Default time.Now.
	Now func() time.Time

	// refused, when set, counts a request or connection refused by a
	// limit or by access control, by reason (Sidecar sets it).
	refused func(reason string)
}

// Reasons a request or connection is refused, the reason label of
// meshmon_http_refused_total.
const (
	// RefusedConnLimit: a connection beyond max_connections.
	RefusedConnLimit = "connection_limit"
	// RefusedStreamLimit: an event stream beyond max_streams_per_client.
	RefusedStreamLimit = "stream_limit"
	// RefusedUnauthorized: a request without valid credentials.
	RefusedUnauthorized = "unauthorized"
)

// refuse counts a refusal when a counter is set.
func (d Deps) refuse(reason string) {
	if d.refused != nil {
		d.refused(reason)
	}
}

// defaultStreamInterval is StreamInterval's default.
const defaultStreamInterval = 2 * time.Second

// NewServer returns the HTTP handler of a node.
func NewServer(d Deps) http.Handler {
	if d.StreamInterval <= 0 {
		d.StreamInterval = defaultStreamInterval
	}
	if d.MaxStreamsPerClient <= 0 {
		d.MaxStreamsPerClient = defaultMaxStreamsPerClient
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	mux := http.NewServeMux()
	routes(mux, d, newOpenAPIDoc(d.Version))
	return mux
}
