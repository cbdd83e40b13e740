package history

import (
	"strings"
	"time"
)

// Subject names what a change or an RTT rollup is about: a member of a
// network ("node", Node) or a directed link between two members ("link",
// Node → Peer).
type Subject struct {
	Network string `json:"network"`
	// Kind is "node" or "link".
	Kind string `json:"kind"`
	// Node is the member (a node), or the link's source.
	Node string `json:"node"`
	// Peer is the link's destination; empty for a node.
	Peer string `json:"peer,omitempty"`
}

// NodeSubject is member node of network.
func NodeSubject(network, node string) Subject {
	return Subject{Network: network, Kind: "node", Node: node}
}

// LinkSubject is the directed link src → dst of network.
func LinkSubject(network, src, dst string) Subject {
	return Subject{Network: network, Kind: "link", Node: src, Peer: dst}
}

// Classify says how the subject's status counts for uptime: ClassifyLink
// for a link, ClassifyNode for a node.
func (s Subject) Classify(status string) State {
	if s.Kind == "link" {
		return ClassifyLink(status)
	}
	return ClassifyNode(status)
}

// key is the subject's bucket name inside its network's bucket. NUL never
// occurs in a node_id.
func (s Subject) key() []byte {
	switch s.Kind {
	case "link":
		return []byte("link\x00" + s.Node + "\x00" + s.Peer)
	case KindMonitor:
		return []byte(KindMonitor + "\x00" + s.Node)
	case KindVantage:
		return []byte(KindVantage + "\x00" + s.Node + "\x00" + s.Peer)
	}
	return []byte("node\x00" + s.Node)
}

// subjectFromKey is the inverse of key for nodes and links; monitors' keys
// are not subjects of the nodes' history (Store.Subjects).
func subjectFromKey(network string, k []byte) (Subject, bool) {
	parts := strings.Split(string(k), "\x00")
	switch {
	case len(parts) == 2 && parts[0] == "node":
		return NodeSubject(network, parts[1]), true
	case len(parts) == 3 && parts[0] == "link":
		return LinkSubject(network, parts[1], parts[2]), true
	}
	return Subject{}, false
}

// Change is one agreed status change of a node (online, degraded, offline,
// left, unknown) or a link (up, down, unknown), as this node saw it.
type Change struct {
	Subject Subject `json:"subject"`
	// Session is the run of this node that saw the change (Session.ID).
	Session uint64 `json:"session"`
	// Time is when the change happened (this node's wall clock).
	Time time.Time `json:"time"`
	From string    `json:"from"`
	To   string    `json:"to"`
	// AgreedBy and LiveObservers are the consensus behind To (nodes only;
	// 0 when the view had moved on before the change was recorded).
	AgreedBy      int `json:"agreed_by"`
	LiveObservers int `json:"live_observers"`
	// Confirmed is false when To rests on fewer than 2 observers.
	Confirmed bool `json:"confirmed"`
}

// Session is one run of this node: it watched from Start to End. Between
// sessions nothing was watched, so history there is "no data". A clock step
// while running also ends a session and starts another.
type Session struct {
	// ID is unique per session (the boot's unix ms, or later on a clock step).
	ID    uint64    `json:"id"`
	Start time.Time `json:"start"`
	// End is the last time the session was known to be running.
	End time.Time `json:"end"`
}

// Rollup is RTT aggregated over one minute or one hour, in milliseconds.
type Rollup struct {
	Start time.Time `json:"start"`
	Min   float64   `json:"min_ms"`
	Mean  float64   `json:"mean_ms"`
	Max   float64   `json:"max_ms"`
	Count uint64    `json:"count"`
}

// add folds one sample into r.
func (r *Rollup) add(ms float64) {
	if r.Count == 0 || ms < r.Min {
		r.Min = ms
	}
	if r.Count == 0 || ms > r.Max {
		r.Max = ms
	}
	r.Count++
	r.Mean += (ms - r.Mean) / float64(r.Count)
}

// merge folds o into r.
func (r *Rollup) merge(o Rollup) {
	if o.Count == 0 {
		return
	}
	if r.Count == 0 {
		start := r.Start
		*r = o
		if !start.IsZero() {
			r.Start = start
		}
		return
	}
	r.Min = min(r.Min, o.Min)
	r.Max = max(r.Max, o.Max)
	n := r.Count + o.Count
	r.Mean = (r.Mean*float64(r.Count) + o.Mean*float64(o.Count)) / float64(n)
	r.Count = n
}

// Alert outcomes.
const (
	AlertSent       = "sent"
	AlertFailed     = "failed"
	AlertSuppressed = "suppressed"
)

// Alert is one alert this node sent, failed to send, or decided not to send.
type Alert struct {
	Time    time.Time `json:"time"`
	Network string    `json:"network"`
	Node    string    `json:"node,omitempty"`
	// ID is the alert's deterministic id, when known.
	ID string `json:"id,omitempty"`
	// Outcome is sent, failed or suppressed.
	Outcome string `json:"outcome"`
	// Reason says why (the failure, or why it was suppressed).
	Reason string `json:"reason,omitempty"`
}
