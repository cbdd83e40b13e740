package node

import (
	"context"
	"sync"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/history"
	"github.com/meshmon/meshmon/metrics"
)

// HistoryOptions configures the node's history store (history.go).
type HistoryOptions struct {
	// Retention says how long each kind of record is kept; zero fields take
	// history.DefaultRetention's.
	Retention history.Retention
	// Flush is how often recorded history is written. Default 5s.
	Flush time.Duration
	// Sample is how often the view is read for RTT. Default 1s.
	Sample time.Duration
	// RetryMin and RetryMax bound the wait between tries to open a store
	// that was unavailable (a data dir read-only, full or in the way).
	// Defaults 5s and 5m.
	RetryMin, RetryMax time.Duration
}

// historyRuntime is the node's history: its recorder (always set; without
// a store it records nothing and says why) and the recorder's lifetime.
type historyRuntime struct {
	rec *history.Recorder

	once   sync.Once
	cancel context.CancelFunc
	done   chan struct{}
}

// openHistory opens the store in the data dir and starts the event log at
// the ids reserved for this run. No failure here stops the node: a corrupt
// file is moved aside for a fresh store, and a data dir that cannot be
// written leaves the node monitoring and alerting without history while
// the recorder retries it (with backoff) until it opens. Each is logged,
// raised as an event, and shown in /api/health, the dashboard and metrics.
func (n *Node) openHistory() *historyRuntime {
	dir := n.opts.DataDir
	now := time.Now()
	store, res, err := history.Open(dir, now)
	cfg := history.RecorderConfig{
		Events: n.events, View: n.View, Session: uint64(now.UnixMilli()), Logger: n.log,
		// Monitor verdicts and latency, read every Sample (history/monitor.go).
		Monitors:  n.MonitorSnapshots,
		Retention: n.opts.History.Retention, Flush: n.opts.History.Flush, Sample: n.opts.History.Sample,
		RetryMin: n.opts.History.RetryMin, RetryMax: n.opts.History.RetryMax,
	}
	if err != nil {
		n.log.Error("history store unavailable; monitoring and alerting go on without history, retrying", "dir", dir, "err", err)
		n.events.Add(health.Event{Kind: "history", Severity: health.SeverityError,
			Message: "history is not being kept: " + err.Error() + " (retrying)"})
		cfg.Unavailable = err.Error()
		cfg.Open = func() (*history.Store, history.OpenResult, error) { return history.Open(dir, time.Now()) }
		return &historyRuntime{rec: history.NewRecorder(cfg)}
	}
	if next, err := store.NextEventID(); err == nil {
		n.events.SkipTo(next)
	} else {
		n.log.Warn("history: cannot reserve event ids", "err", err)
	}
	cfg.Store = store
	rec := history.NewRecorder(cfg)
	rec.NoteMovedAside(res)
	n.log.Info("history store open", "path", res.Path)
	return &historyRuntime{rec: rec}
}

// start runs the recorder until stop.
func (h *historyRuntime) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan struct{})
	go func() {
		defer close(h.done)
		_ = h.rec.Run(ctx)
	}()
}

// stop writes what is pending and closes the store; later calls do nothing.
func (h *historyRuntime) stop() {
	h.once.Do(func() {
		if h.cancel != nil {
			h.cancel()
			<-h.done
		}
		if s := h.rec.Store(); s != nil {
			_ = s.Close()
		}
	})
}

// History is the node's history recorder.
func (n *Node) History() *history.Recorder { return n.history.rec }

// historyMetrics is the store's state for metrics.Sources.History.
func (n *Node) historyMetrics() metrics.History {
	st := n.history.rec.Stats()
	return metrics.History{OK: st.OK, Records: st.Records, WriteErrors: st.WriteErrors, Dropped: st.Dropped,
		OpenRetries: st.OpenRetries, SizeBytes: st.SizeBytes}
}
