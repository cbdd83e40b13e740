package monitor

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/internal/jitter"
	"github.com/meshmon/meshmon/p2p/pb"
)

// Definition is one monitor as the service runs it.
type Definition struct {
	// Name identifies the monitor in the network.
	Name string
	// Type, Target and Group are shown (Target holds no credentials).
	Type, Target, Group string
	// Interval is the time between probes; Timeout bounds one.
	Interval, Timeout time.Duration
	// Retry is how many failed probes in a row are retried before this
	// node reports the monitor down.
	Retry int
	// Runners are the members that run it, in config order.
	Runners []string
	// Hash fingerprints the definition: results of another definition (a
	// member whose config.yml differs) are not counted.
	Hash uint32
	// Probe runs one probe; nil when this node does not run the monitor.
	Probe func(ctx context.Context) Result
}

// Config configures a Service.
type Config struct {
	// Network is the network_id; Self this node's node_id.
	Network, Self string
	// Monitors are the network's monitors in config order.
	Monitors []Definition
	// Publish publishes this node's MonitorReport; it must not block
	// (health.Engine.PublishMonitors). Nil: nothing is published.
	Publish func(*pb.MonitorReport)
	// Refresh is how often the report goes out when no state changed
	// (±10 %). Default 2 minutes, like the liveness Report.
	Refresh time.Duration
	// Debounce gathers state changes of several monitors into one report.
	// Default 100 ms.
	Debounce time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger is narrowed with the network. Default slog.Default().
	Logger *slog.Logger
	// OnProbe, when set, gets every probe this node runs (metrics,
	// history), on the prober's goroutine; it must not block.
	OnProbe func(name string, r Result)
	// Events, when set, gets an event for every change of a verdict
	// (kind "monitor"), but not for a monitor's first one at start.
	Events *health.EventLog
}

// Service runs one network's monitors on this node and agrees on their
// verdicts.
type Service struct {
	cfg   Config
	log   *slog.Logger
	inbox chan func(*state)
	done  chan struct{}
	snap  atomic.Pointer[Snapshot]

	// Counters, read by metrics.
	Probes    atomic.Uint64 // probes run by this node
	Published atomic.Uint64 // reports handed to Publish
	// Mismatched counts results ignored because the author's definition
	// of the monitor differs from this node's (config.yml differs).
	Mismatched atomic.Uint64
	// Unknown counts results for monitors this node does not define.
	Unknown atomic.Uint64

	// liveMu protects lastLive: SetLive is called for every view and only
	// a change of the live set reaches the owner.
	liveMu   sync.Mutex
	lastLive map[string]bool
}

// New returns a service; call Run to start it.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 2 * time.Minute
	}
	if cfg.Debounce <= 0 {
		cfg.Debounce = 100 * time.Millisecond
	}
	s := &Service{
		cfg:   cfg,
		log:   cfg.Logger.With("network", cfg.Network),
		inbox: make(chan func(*state), 1024),
		done:  make(chan struct{}),
	}
	st := newState(s)
	st.defs = slices.Clone(cfg.Monitors)
	st.rebuild(cfg.Now())
	return s
}

// Snapshot returns the latest snapshot (never nil; do not modify it).
func (s *Service) Snapshot() *Snapshot { return s.snap.Load() }

// enqueue hands f to the owner; it drops f once the service has stopped.
func (s *Service) enqueue(f func(*state)) {
	select {
	case s.inbox <- f:
	case <-s.done:
	}
}

// SetMonitors replaces the monitors (config reload). Probers of unchanged
// monitors keep running; results of changed ones are forgotten.
func (s *Service) SetMonitors(defs []Definition) {
	defs = slices.Clone(defs)
	s.enqueue(func(st *state) { st.setMonitors(defs) })
}

// HandleReport takes in a member's MonitorReport, published at sent on
// this node's clock.
func (s *Service) HandleReport(from string, r *pb.MonitorReport, sent time.Time) {
	s.enqueue(func(st *state) { st.report(from, r, sent) })
}

// SetLive sets the members that count as vantage points: those online or
// degraded in the agreed view. It is cheap when the set did not change.
func (s *Service) SetLive(live map[string]bool) {
	s.liveMu.Lock()
	same := maps.Equal(s.lastLive, live)
	if !same {
		s.lastLive = live
	}
	s.liveMu.Unlock()
	if same {
		return
	}
	s.enqueue(func(st *state) { st.live = live; st.dirty = true })
}

// Run owns the state until ctx ends: it runs this node's probers, takes in
// results, rebuilds the snapshot on every change, and publishes this node's
// report when a state changes (gathered for Debounce) and every Refresh.
func (s *Service) Run(ctx context.Context) error {
	defer close(s.done)
	st := newState(s)
	st.ctx = ctx
	st.setMonitors(slices.Clone(s.cfg.Monitors))
	defer st.stopProbers()

	refresh := time.NewTimer(jitter.Spread(s.cfg.Refresh))
	defer refresh.Stop()
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	for {
		if st.dirty {
			st.dirty = false
			st.rebuild(s.cfg.Now())
		}
		if st.publishDue {
			st.publishDue = false
			debounce.Reset(s.cfg.Debounce)
		}
		select {
		case <-ctx.Done():
			return nil
		case f := <-s.inbox:
			f(st)
		case <-debounce.C:
			st.publish()
			refresh.Reset(jitter.Spread(s.cfg.Refresh))
		case <-refresh.C:
			st.publish()
			refresh.Reset(jitter.Spread(s.cfg.Refresh))
		}
	}
}
