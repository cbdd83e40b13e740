package health

import (
	"context"
	"errors"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
)

// Publish error reasons, the label values of meshmon_publish_errors_total.
const (
	// PublishTimeout: the pubsub router did not take the message within
	// the publish timeout (a heartbeat, at least 1 s).
	PublishTimeout = "timeout"
	// PublishRefused: this node's own message was refused by its own
	// validator (a newer position of this node is known: see the refute).
	PublishRefused = "refused_own"
	// PublishQueueFull: the publish queue was full and the message dropped.
	PublishQueueFull = "queue_full"
	// PublishOther: any other error of the pubsub router.
	PublishOther = "other"
)

// PublishErrorReasons lists the reasons, for metrics that show zeros too.
func PublishErrorReasons() []string {
	return []string{PublishTimeout, PublishRefused, PublishQueueFull, PublishOther}
}

func classifyPublishError(err error) string {
	var verr pubsub.ValidationError
	switch {
	case errors.As(err, &verr):
		return PublishRefused
	case errors.Is(err, context.DeadlineExceeded):
		return PublishTimeout
	}
	return PublishOther
}

// publishErrors counts publish failures by reason, logs them at WARN at
// most once per PublishWarnEvery per reason, and raises a warning event on
// the first failure after a success. It is safe for concurrent use.
type publishErrors struct {
	e *Engine

	// mu protects the following fields.
	mu          sync.Mutex
	count       map[string]uint64
	lastWarn    map[string]time.Time
	lastErr     error
	lastFail    time.Time
	lastOK      time.Time
	failedSince bool
}

func (p *publishErrors) init(e *Engine) {
	p.e = e
	p.count = map[string]uint64{}
	p.lastWarn = map[string]time.Time{}
}

func (p *publishErrors) failed(reason string, err error) {
	e := p.e
	e.PublishErrors.Add(1)
	now := e.cfg.Now()
	p.mu.Lock()
	p.count[reason]++
	p.lastErr, p.lastFail = err, now
	first := !p.failedSince
	p.failedSince = true
	warn := now.Sub(p.lastWarn[reason]) >= DefaultTiming().PublishWarnEvery || p.lastWarn[reason].IsZero()
	if warn {
		p.lastWarn[reason] = now
	}
	n := p.count[reason]
	p.mu.Unlock()
	if warn {
		e.log.Warn("publish failed", "reason", reason, "count", n, "err", err)
	}
	if first {
		e.cfg.Events.Add(Event{Network: e.cfg.NetworkID, Node: e.cfg.Self, Kind: "publish", Severity: SeverityWarning,
			Message: "this node cannot publish on the network (" + reason + "): " + err.Error()})
	}
}

func (p *publishErrors) succeeded() {
	now := p.e.cfg.Now()
	p.mu.Lock()
	recovered := p.failedSince
	p.failedSince = false
	p.lastOK = now
	p.mu.Unlock()
	if recovered {
		e := p.e
		e.cfg.Events.Add(Event{Network: e.cfg.NetworkID, Node: e.cfg.Self, Kind: "publish", Severity: SeverityInfo,
			Message: "this node publishes on the network again"})
	}
}

// failing returns when the latest publish failed and its error, while it
// is the latest (nil error otherwise).
func (p *publishErrors) failing() (time.Time, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.failedSince {
		return time.Time{}, nil
	}
	return p.lastFail, p.lastErr
}

// PublishErrorsBy returns the publish errors so far by reason (every reason
// of PublishErrorReasons present).
func (e *Engine) PublishErrorsBy() map[string]uint64 {
	p := &e.publishErrs
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]uint64, 4)
	for _, r := range PublishErrorReasons() {
		out[r] = p.count[r]
	}
	return out
}

// syncFailures turns failed sync exchanges and pushes with members (p2p's
// HandleSyncFailed) into warning events, at most one per member every
// PublishWarnEvery (a clock that steps back allows the next one at once).
// It is safe for concurrent use.
type syncFailures struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// due tells whether a failure with node at now deserves an event, and
// notes it if so.
func (p *syncFailures) due(node string, now time.Time, every time.Duration) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if last, ok := p.last[node]; ok && !now.Before(last) && now.Sub(last) < every {
		return false
	}
	if p.last == nil {
		p.last = map[string]time.Time{}
	}
	p.last[node] = now
	return true
}

// HandleSyncFailed implements p2p.Handler: an exchange with member node
// over the sync protocol failed (err says which), so one of the two may
// lack the other's latest messages for a while. A warning event says so;
// p2p counts each failure (meshmon_sync_failures_total,
// meshmon_sync_push_failures_total).
func (e *Engine) HandleSyncFailed(node string, err error) {
	if !e.syncFails.due(node, e.cfg.Now(), DefaultTiming().PublishWarnEvery) {
		return
	}
	e.log.Warn("sync with a member failed", "node", node, "err", err)
	e.cfg.Events.Add(Event{Network: e.cfg.NetworkID, Node: node, Kind: "sync", Severity: SeverityWarning,
		Message: "sync with " + node + ": " + err.Error()})
}
