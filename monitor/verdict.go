package monitor

import (
	"slices"
	"time"
)

// State is one vantage point's result of a monitor.
type State string

// The states of a vantage point's result.
const (
	// StateUp: the probe passed.
	StateUp State = "up"
	// StateWarn: the probe passed with a warning (a certificate that
	// expires soon).
	StateWarn State = "warn"
	// StateDown: the probe failed, retry+1 times in a row.
	StateDown State = "down"
)

// Status is the agreed verdict of a monitor.
type Status string

// The verdicts.
const (
	// StatusUnknown: no live vantage point has a result yet.
	StatusUnknown Status = "unknown"
	// StatusUp: every live vantage point with a result sees it up.
	StatusUp Status = "up"
	// StatusWarning: none sees it failing, and at least one warns.
	StatusWarning Status = "warning"
	// StatusDegraded: some see it failing, but not a majority of at least
	// two ("partial"): the failing vantage points' own network, or one
	// route, is the likelier cause. Never alerted.
	StatusDegraded Status = "degraded"
	// StatusDown: a majority, and at least two, of the live vantage points
	// with a result see it failing.
	StatusDown Status = "down"
)

// Vantage is what one member that runs a monitor says of it, as this node
// knows it.
type Vantage struct {
	// Node is the member's node_id.
	Node string `json:"node"`
	// Live is true when the member is online or degraded in the agreed
	// view of the network (this node always counts itself live): only
	// live vantage points count.
	Live bool `json:"live"`
	// Has is false until the member's first result (of the same monitor
	// definition) arrived.
	Has bool `json:"has_result"`
	// State, Latency and Reason are its latest result.
	State   State         `json:"state,omitempty"`
	Latency time.Duration `json:"latency_ns,omitempty"`
	Reason  string        `json:"reason,omitempty"`
	// At is when the result was obtained, on this node's clock.
	At time.Time `json:"at,omitzero"`
	// Since is when the member's current state began, on this node's clock.
	Since time.Time `json:"since,omitzero"`
}

// counted tells whether v takes part in the verdict.
func (v Vantage) counted() bool { return v.Live && v.Has }

// Verdict is the agreed verdict of one monitor.
type Verdict struct {
	// Status is the verdict.
	Status Status `json:"status"`
	// Live is how many live vantage points have a result: the base of
	// every majority.
	Live int `json:"live"`
	// Failing and Warning name the live vantage points whose result is
	// down, and warn, sorted.
	Failing []string `json:"failing,omitempty"`
	Warning []string `json:"warning,omitempty"`
	// Agreed is true when the verdict may raise an alert: down (which
	// needs a majority of at least two), or a warning that a majority of
	// at least two share. One vantage point's word never alerts.
	Agreed bool `json:"agreed"`
}

// Agree computes a monitor's verdict from its vantage points. It is pure.
//
// Only live vantage points with a result count. Down needs a majority of
// them, and at least two, failing: a monitor that fails from one vantage
// point only is degraded, never down, whatever the member count.
func Agree(vs []Vantage) Verdict {
	var v Verdict
	for _, x := range vs {
		if !x.counted() {
			continue
		}
		v.Live++
		switch x.State {
		case StateDown:
			v.Failing = append(v.Failing, x.Node)
		case StateWarn:
			v.Warning = append(v.Warning, x.Node)
		}
	}
	slices.Sort(v.Failing)
	slices.Sort(v.Warning)
	f, w := len(v.Failing), len(v.Warning)
	switch {
	case v.Live == 0:
		v.Status = StatusUnknown
	case majority(f, v.Live):
		v.Status, v.Agreed = StatusDown, true
	case f > 0:
		v.Status = StatusDegraded
	case w > 0:
		v.Status, v.Agreed = StatusWarning, majority(w, v.Live)
	default:
		v.Status = StatusUp
	}
	return v
}

// majority tells whether n of live is a majority of at least two.
func majority(n, live int) bool { return n >= 2 && 2*n > live }
