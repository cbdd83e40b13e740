package monitor

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshmon/meshmon/health"
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

// Snapshot is the monitors of a network as this node sees them. It is
// immutable.
type Snapshot struct {
	// Network is the network_id.
	Network string `json:"network"`
	// UpdatedAt is when it was computed.
	UpdatedAt time.Time `json:"updated_at"`
	// Monitors are in config order.
	Monitors []View `json:"monitors"`
}

// Monitor returns the view of the monitor called name.
func (s *Snapshot) Monitor(name string) (View, bool) {
	for _, m := range s.Monitors {
		if m.Name == name {
			return m, true
		}
	}
	return View{}, false
}

// View is one monitor with its verdict and the evidence of each vantage
// point.
type View struct {
	Name     string        `json:"name"`
	Type     string        `json:"type"`
	Target   string        `json:"target"`
	Group    string        `json:"group"`
	Interval time.Duration `json:"interval_ns"`
	// Verdict is the agreed verdict.
	Verdict Verdict `json:"verdict"`
	// Since is when Verdict.Status began, on this node's clock.
	Since time.Time `json:"since"`
	// Vantages has one entry per member that runs the monitor, in config
	// order.
	Vantages []Vantage `json:"vantages"`
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
	same := equalSets(s.lastLive, live)
	if !same {
		s.lastLive = live
	}
	s.liveMu.Unlock()
	if same {
		return
	}
	s.enqueue(func(st *state) { st.live = live; st.dirty = true })
}

func equalSets(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// jitter spreads d by ±10 %.
func jitter(d time.Duration) time.Duration { return d - d/10 + rand.N(d/5+1) }

// Run owns the state until ctx ends: it runs this node's probers, takes in
// results, rebuilds the snapshot on every change, and publishes this node's
// report when a state changes (gathered for Debounce) and every Refresh.
func (s *Service) Run(ctx context.Context) error {
	defer close(s.done)
	st := newState(s)
	st.ctx = ctx
	st.setMonitors(slices.Clone(s.cfg.Monitors))
	defer st.stopProbers()

	refresh := time.NewTimer(jitter(s.cfg.Refresh))
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
			refresh.Reset(jitter(s.cfg.Refresh))
		case <-refresh.C:
			st.publish()
			refresh.Reset(jitter(s.cfg.Refresh))
		}
	}
}

// own is this node's latest result of a monitor it runs.
type own struct {
	Result
	at, since time.Time
}

// state is owned by Run's goroutine.
type state struct {
	s    *Service
	ctx  context.Context
	defs []Definition
	// own are this node's results, by monitor name.
	own map[string]own
	// peers are the other members' latest results: node → name → vantage.
	peers map[string]map[string]Vantage
	live  map[string]bool
	// status and since are each monitor's verdict and when it began.
	status map[string]Status
	since  map[string]time.Time
	// probers run this node's probes, by monitor name; stopped are those
	// cancelled but maybe not yet returned (Run waits for them at the end).
	probers map[string]*prober
	stopped []*prober
	// sentAny is true once a non-empty report went out: an empty one must
	// then follow when this node stops running every monitor.
	sentAny    bool
	dirty      bool
	publishDue bool
}

type prober struct {
	hash   uint32
	cancel context.CancelFunc
	done   chan struct{}
}

func newState(s *Service) *state {
	return &state{
		s:       s,
		own:     map[string]own{},
		peers:   map[string]map[string]Vantage{},
		live:    map[string]bool{},
		status:  map[string]Status{},
		since:   map[string]time.Time{},
		probers: map[string]*prober{},
	}
}

func (st *state) def(name string) (Definition, bool) {
	for _, d := range st.defs {
		if d.Name == name {
			return d, true
		}
	}
	return Definition{}, false
}

// setMonitors applies a new definition list.
func (st *state) setMonitors(defs []Definition) {
	st.defs = defs
	keep := map[string]bool{}
	for _, d := range defs {
		if d.Probe == nil {
			continue
		}
		keep[d.Name] = true
		if p, ok := st.probers[d.Name]; ok && p.hash == d.Hash {
			continue
		}
		st.stopProber(d.Name)
		delete(st.own, d.Name)
		st.startProber(d)
	}
	for name := range st.probers {
		if !keep[name] {
			st.stopProber(name)
		}
	}
	for name := range st.own {
		if !keep[name] {
			delete(st.own, name)
			st.publishDue = true
		}
	}
	for name := range st.status {
		if _, ok := st.def(name); !ok {
			delete(st.status, name)
			delete(st.since, name)
		}
	}
	st.dirty = true
}

func (st *state) startProber(d Definition) {
	if st.ctx == nil {
		return
	}
	ctx, cancel := context.WithCancel(st.ctx)
	p := &prober{hash: d.Hash, cancel: cancel, done: make(chan struct{})}
	st.probers[d.Name] = p
	go func() {
		defer close(p.done)
		st.s.probeLoop(ctx, d)
	}()
}

// stopProber cancels a prober without waiting: a probe under way may take
// up to its timeout, and the owner must not stall on it.
func (st *state) stopProber(name string) {
	if p, ok := st.probers[name]; ok {
		p.cancel()
		st.stopped = append(st.stopped, p)
		delete(st.probers, name)
	}
}

// stopProbers cancels every prober and waits for all to return.
func (st *state) stopProbers() {
	for name := range st.probers {
		st.stopProber(name)
	}
	for _, p := range st.stopped {
		<-p.done
	}
	st.stopped = nil
}

// firstProbeWithin bounds the delay of a monitor's first probe; the delay
// spreads the monitors of one node and the members of one monitor.
const firstProbeWithin = 5 * time.Second

// phase is the delay of a monitor's first probe on this node.
func (s *Service) phase(d Definition) time.Duration {
	h := fnv.New32a()
	h.Write([]byte(s.cfg.Self + "\x00" + d.Name))
	span := min(d.Interval, firstProbeWithin)
	if span <= 0 {
		return 0
	}
	return time.Duration(h.Sum32()) % span
}

// probeLoop probes d until ctx ends and hands each outcome to the owner.
func (s *Service) probeLoop(ctx context.Context, d Definition) {
	var sk streak
	t := time.NewTimer(s.phase(d))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// The probe bounds itself by the timeout; the slack only guards a
		// probe that does not.
		pctx, cancel := context.WithTimeout(ctx, d.Timeout+time.Second)
		r := d.Probe(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		s.Probes.Add(1)
		if s.cfg.OnProbe != nil {
			s.cfg.OnProbe(d.Name, r)
		}
		rep, changed, wait := sk.next(r, d.Retry, d.Interval)
		if rep.State == r.State {
			// Not a failure being retried: report it (a change, or a
			// fresh latency of the same state).
			at := s.cfg.Now()
			select {
			case s.inbox <- func(st *state) { st.probed(d.Name, d.Hash, rep, changed, at) }:
			case <-ctx.Done():
				return
			}
		}
		t.Reset(wait)
	}
}

// probed takes in this node's reported result of a monitor.
func (st *state) probed(name string, hash uint32, r Result, changed bool, at time.Time) {
	if d, ok := st.def(name); !ok || d.Hash != hash || d.Probe == nil || r.State == "" {
		return // a prober stopped by a reload, or nothing to report yet
	}
	o, had := st.own[name]
	if changed || !had {
		o.since = at
		st.publishDue = true
	}
	o.Result, o.at = r, at
	st.own[name] = o
	st.dirty = true
}

// report takes in a member's report: it replaces everything held of it.
func (st *state) report(from string, r *pb.MonitorReport, sent time.Time) {
	if from == st.s.cfg.Self {
		return
	}
	held := make(map[string]Vantage, len(r.GetResults()))
	for _, res := range r.GetResults() {
		d, ok := st.def(res.GetName())
		switch {
		case !ok:
			st.s.Unknown.Add(1)
			continue
		case d.Hash != res.GetConfigHash():
			st.s.Mismatched.Add(1)
			continue
		}
		held[d.Name] = Vantage{
			Node:    from,
			Has:     true,
			State:   stateOf(res.GetState()),
			Latency: time.Duration(res.GetLatencyUs()) * time.Microsecond,
			Reason:  res.GetReason(),
			At:      sent.Add(-time.Duration(res.GetAgeMs()) * time.Millisecond),
			Since:   sent.Add(-time.Duration(res.GetSinceMs()) * time.Millisecond),
		}
	}
	st.peers[from] = held
	st.dirty = true
}

// rebuild recomputes every verdict and stores a new snapshot.
func (st *state) rebuild(now time.Time) {
	snap := &Snapshot{Network: st.s.cfg.Network, UpdatedAt: now, Monitors: make([]View, 0, len(st.defs))}
	for _, d := range st.defs {
		v := View{Name: d.Name, Type: d.Type, Target: d.Target, Group: d.Group, Interval: d.Interval,
			Vantages: make([]Vantage, 0, len(d.Runners))}
		for _, node := range d.Runners {
			v.Vantages = append(v.Vantages, st.vantage(d, node))
		}
		v.Verdict = Agree(v.Vantages)
		if old, ok := st.status[d.Name]; !ok || old != v.Verdict.Status {
			if ok {
				st.changed(v, old)
			}
			st.status[d.Name] = v.Verdict.Status
			st.since[d.Name] = now
		}
		v.Since = st.since[d.Name]
		snap.Monitors = append(snap.Monitors, v)
	}
	st.s.snap.Store(snap)
}

// changed logs and raises an event for a verdict that changed from old.
// The first verdict of a monitor at start (from unknown to up) is no news.
func (st *state) changed(v View, old Status) {
	st.s.log.Info("monitor verdict changed", "monitor", v.Name, "from", old, "to", v.Verdict.Status,
		"failing", v.Verdict.Failing, "live", v.Verdict.Live)
	if st.s.cfg.Events == nil || (old == StatusUnknown && v.Verdict.Status == StatusUp) {
		return
	}
	sev := health.SeverityInfo
	switch v.Verdict.Status {
	case StatusDown:
		sev = health.SeverityError
	case StatusDegraded, StatusWarning:
		sev = health.SeverityWarning
	}
	msg := fmt.Sprintf("monitor %s is %s (was %s)", v.Name, v.Verdict.Status, old)
	if v.Verdict.Live > 0 {
		msg += ": " + Evidence(v)
	}
	st.s.cfg.Events.Add(health.Event{Network: st.s.cfg.Network, Kind: "monitor", Severity: sev, Message: msg})
}

// vantage is what node says of monitor d.
func (st *state) vantage(d Definition, node string) Vantage {
	if node == st.s.cfg.Self {
		o, ok := st.own[d.Name]
		if !ok || d.Probe == nil {
			return Vantage{Node: node, Live: true}
		}
		return Vantage{Node: node, Live: true, Has: true, State: o.State, Latency: o.Latency, Reason: o.Reason,
			At: o.at, Since: o.since}
	}
	v, ok := st.peers[node][d.Name]
	if !ok {
		v = Vantage{Node: node}
	}
	v.Live = st.live[node]
	return v
}

// publish hands this node's report to Publish.
func (st *state) publish() {
	if st.s.cfg.Publish == nil || st.ctx == nil {
		return
	}
	now := st.s.cfg.Now()
	r := &pb.MonitorReport{}
	for _, d := range st.defs {
		o, ok := st.own[d.Name]
		if !ok {
			continue
		}
		r.Results = append(r.Results, &pb.MonitorResult{
			Name:       d.Name,
			ConfigHash: d.Hash,
			State:      wireState(o.State),
			LatencyUs:  clampU32(o.Latency / time.Microsecond),
			Reason:     o.Reason,
			AgeMs:      clampU32(now.Sub(o.at) / time.Millisecond),
			SinceMs:    clampU32(now.Sub(o.since) / time.Millisecond),
		})
	}
	if len(r.Results) == 0 && !st.sentAny {
		return
	}
	st.sentAny = len(r.Results) > 0
	st.s.cfg.Publish(r)
	st.s.Published.Add(1)
}

func clampU32(d time.Duration) uint32 {
	return uint32(min(max(int64(d), 0), int64(^uint32(0))))
}

func wireState(s State) pb.MonitorState {
	switch s {
	case StateUp:
		return pb.MonitorState_MONITOR_STATE_UP
	case StateWarn:
		return pb.MonitorState_MONITOR_STATE_WARN
	}
	return pb.MonitorState_MONITOR_STATE_DOWN
}

func stateOf(s pb.MonitorState) State {
	switch s {
	case pb.MonitorState_MONITOR_STATE_UP:
		return StateUp
	case pb.MonitorState_MONITOR_STATE_WARN:
		return StateWarn
	}
	return StateDown
}
