package health

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshmon/meshmon/internal/jitter"
	"github.com/meshmon/meshmon/p2p"
	"github.com/meshmon/meshmon/p2p/pb"
)

// Member is one entry of a network's node_config as the engine sees it.
type Member struct {
	// NodeID is the member's node_id.
	NodeID string
	// PeerID is derived from its public key; "" when the key is missing.
	PeerID peer.ID
	// URL is its HTTP sidecar from config ("" or a placeholder when unset).
	URL string
	// KeyError says why its key could not be loaded ("" when it was).
	KeyError string
}

// Publisher publishes gossip. Publish may block until ctx ends.
type Publisher interface {
	Publish(ctx context.Context, env *pb.Envelope) error
}

// EngineConfig configures an Engine.
type EngineConfig struct {
	// NetworkID is the network_id.
	NetworkID string
	// Self is this node's node_id.
	Self string
	// Members are the network's members in config order (Self included).
	Members []Member
	// Heartbeat is timing.heartbeat: the ping period on each link, and the
	// scale of the evaluation period.
	Heartbeat time.Duration
	// SuspectAfter is the silence after which a member is suspected (timing.suspect_after).
	SuspectAfter time.Duration
	// Version is announced.
	Version string
	// Reachability ("public" or "private") is announced.
	Reachability string
	// Incarnation returns a new incarnation (boot_id) of at least atLeast,
	// larger than every one it returned before, and keeps it across
	// restarts (a counter on disk: see docs/liveness.md). The engine takes
	// one at start and one per refute. Default: an in-memory counter that
	// starts at the wall clock in unix ms.
	Incarnation func(atLeast uint64) uint64
	// ReportRefresh is how often a Report is published when nothing
	// changed (±10 % jitter). Default DefaultTiming().ReportRefresh.
	ReportRefresh time.Duration
	// AnnounceRefresh is how often an announce is published when nothing
	// changed. Default DefaultTiming().AnnounceRefresh.
	AnnounceRefresh time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// CPUTime is the CPU time the process has used so far, false where
	// unknown. It tells a costly rebuild (the process worked) from a stop
	// during one (it hardly ran): only the former moves the pause check's
	// reference. Default: unknown, so a rebuild's wall time counts as its
	// cost.
	CPUTime func() (time.Duration, bool)
	// Logger is narrowed with the network. Default slog.Default().
	Logger *slog.Logger
	// Events receives status transitions. Required.
	Events *EventLog
	// Clusters are announced (Heartbeat.clusters): the salted hashes of the
	// notification clusters this node takes part in, as raw bytes. The
	// engine does not interpret them; see SetClusters.
	Clusters [][]byte
	// OnDelivered, when set, receives every admitted Delivered message:
	// the author's node_id and the message's alert_id. It is called on the
	// engine's goroutine and must not block.
	OnDelivered func(from, alertID string)
	// OnMonitors, when set, receives every member's newest MonitorReport
	// (an older one that arrives late is dropped): the author's node_id,
	// the report, and when the author published it as this node's clock
	// places it (synced messages are older by their age). It is called on
	// the engine's goroutine and must not block.
	OnMonitors func(from string, r *pb.MonitorReport, sent time.Time)
	// OnView, when set, receives every view the engine publishes, in
	// order, so that a consumer sees each status change at the view's
	// time (the alert hold is event-driven). It is called on the engine's
	// goroutine (and once from NewEngine) and must not block.
	OnView func(*NetworkView)
}

// Timing holds the engine's tunables that are not in config.yml, with
// their defaults (the one place to read them).
type Timing struct {
	// ReportRefresh is how often a Report goes out when no opinion
	// changed: a safety net against lost gossip; sync covers joiners.
	// 120 s keeps a 30-member network's refresh under 1 kB/s per node.
	ReportRefresh time.Duration
	// AnnounceRefresh is how often the metadata announce goes out when
	// nothing changed: 10 min.
	AnnounceRefresh time.Duration
	// MaxEvalEvery bounds the evaluation period (a quarter heartbeat,
	// at most this): 100 ms.
	MaxEvalEvery time.Duration
	// PublishWarnEvery rate-limits the WARN log of publish errors, per
	// reason: 1 min.
	PublishWarnEvery time.Duration
}

// DefaultTiming returns the engine's defaults.
func DefaultTiming() Timing {
	return Timing{
		ReportRefresh:    2 * time.Minute,
		AnnounceRefresh:  10 * time.Minute,
		MaxEvalEvery:     100 * time.Millisecond,
		PublishWarnEvery: time.Minute,
	}
}

// Engine owns one network's liveness state: it takes in evidence (pings),
// admitted messages and link changes, runs Consensus, publishes this node's
// reports and announces, and publishes the resulting view. One goroutine
// (Run) owns the state; other goroutines only enqueue inputs or read the
// immutable view.
type Engine struct {
	cfg   EngineConfig
	pub   Publisher
	log   *slog.Logger
	inbox chan func(*engineState)
	view  atomic.Pointer[NetworkView]
	done  chan struct{}

	// Counters, read by metrics.
	HeartbeatsSent atomic.Uint64 // announces (Heartbeat messages) published
	ReportsSent    atomic.Uint64
	DeliveredSent  atomic.Uint64
	MonitorsSent   atomic.Uint64 // MonitorReport messages published
	PublishErrors  atomic.Uint64 // all reasons
	// Refutes counts the times this node jumped its incarnation above a
	// message about itself that it did not send.
	Refutes atomic.Uint64
	// Pauses counts the times this node found it had not run on time.
	Pauses atomic.Uint64
	// Clashes counts the times another host was found publishing with
	// this node's key (more than 3 refutes a minute).
	Clashes atomic.Uint64

	publishErrs publishErrors
	syncFails   syncFailures
	// boot is this node's current incarnation (0 before Run).
	boot atomic.Uint64
	// connected is how many members this node has a connection to.
	connected atomic.Int64

	// heartbeats are the other members' latest announces as of the view.
	heartbeats atomic.Pointer[map[string]*pb.Heartbeat]

	// clashMu protects the following fields.
	clashMu sync.Mutex
	// memberClashes counts, per member, the times it was found running as
	// two hosts with one key.
	memberClashes map[string]uint64
}

// countMemberClash counts an identity clash of member node.
func (e *Engine) countMemberClash(node string) {
	e.clashMu.Lock()
	defer e.clashMu.Unlock()
	if e.memberClashes == nil {
		e.memberClashes = map[string]uint64{}
	}
	e.memberClashes[node]++
}

// MemberClashes returns, per member other than this node (every member of
// the latest view, zeros included), how many times it was found running as
// two hosts with one key: two incarnations publishing at once
// (docs/liveness.md, "Cloned identities").
func (e *Engine) MemberClashes() map[string]uint64 {
	v := e.View()
	e.clashMu.Lock()
	defer e.clashMu.Unlock()
	out := maps.Clone(e.memberClashes)
	if out == nil {
		out = make(map[string]uint64, len(v.Nodes))
	}
	for node := range v.Nodes {
		if node != e.cfg.Self {
			out[node] += 0
		}
	}
	return out
}

// NewEngine returns an engine; call Run to start it.
func NewEngine(cfg EngineConfig, pub Publisher) *Engine {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	d := DefaultTiming()
	if cfg.ReportRefresh <= 0 {
		cfg.ReportRefresh = d.ReportRefresh
	}
	if cfg.AnnounceRefresh <= 0 {
		cfg.AnnounceRefresh = d.AnnounceRefresh
	}
	if cfg.Incarnation == nil {
		cfg.Incarnation = memoryIncarnation(cfg.Now)
	}
	e := &Engine{
		cfg:   cfg,
		pub:   pub,
		log:   cfg.Logger.With("network", cfg.NetworkID),
		inbox: make(chan func(*engineState), 1024),
		done:  make(chan struct{}),
	}
	e.publishErrs.init(e)
	st := newEngineState(e, 0)
	now := cfg.Now()
	own := st.ownObservations(now)
	st.storeView(st.buildView(now, own, st.consensus(now, own)))
	return e
}

// memoryIncarnation is the default EngineConfig.Incarnation: it survives no
// restart, so it starts at the wall clock.
func memoryIncarnation(now func() time.Time) func(uint64) uint64 {
	var mu sync.Mutex
	var last uint64
	return func(atLeast uint64) uint64 {
		mu.Lock()
		defer mu.Unlock()
		last = max(last+1, atLeast, uint64(max(now().UnixMilli(), 1)))
		return last
	}
}

// Boot returns this node's current incarnation on the network (0 before
// Run): the boot_id of its messages.
func (e *Engine) Boot() uint64 { return e.boot.Load() }

// SetPublisher sets where the engine publishes; call it before Run.
func (e *Engine) SetPublisher(p Publisher) { e.pub = p }

// View returns the latest computed view (never nil; do not modify it).
func (e *Engine) View() *NetworkView { return e.view.Load() }

// Heartbeats returns the latest announce admitted from each other member,
// by node_id, as of the latest view (never nil; do not modify it or the
// messages). A member never heard from has no entry; one that went silent
// keeps its last announce.
func (e *Engine) Heartbeats() map[string]*pb.Heartbeat {
	if m := e.heartbeats.Load(); m != nil {
		return *m
	}
	return map[string]*pb.Heartbeat{}
}

// enqueue hands f to the state owner; it drops f when the engine has stopped.
func (e *Engine) enqueue(f func(*engineState)) {
	select {
	case e.inbox <- f:
	case <-e.done:
	}
}

// HandleMessage implements p2p.Handler.
func (e *Engine) HandleMessage(m p2p.Message) {
	at := e.cfg.Now()
	e.enqueue(func(s *engineState) { s.onMessage(m, at) })
}

// HandleLink implements p2p.Handler.
func (e *Engine) HandleLink(node string, l p2p.Link) {
	at := e.cfg.Now()
	e.enqueue(func(s *engineState) { s.onLink(node, l, at) })
}

// HandleRTT implements p2p.Handler: an answered ping is evidence.
func (e *Engine) HandleRTT(node string, rtt time.Duration) {
	at := e.cfg.Now()
	e.enqueue(func(s *engineState) { s.answered(node, rtt, at) })
}

// HandlePinged implements p2p.Handler: a ping request is evidence.
func (e *Engine) HandlePinged(node string) {
	at := e.cfg.Now()
	e.enqueue(func(s *engineState) { s.evidence(node, at) })
}

// SetMembers replaces the member list (config reload). A member whose key
// changed starts clean: its positions, announce and report are forgotten.
func (e *Engine) SetMembers(members []Member) {
	e.enqueue(func(s *engineState) { s.setMembers(members) })
}

// SetTiming applies a timing change in place: no rejoin, no new position.
// The next announce carries it.
func (e *Engine) SetTiming(heartbeat, suspectAfter time.Duration) {
	e.enqueue(func(s *engineState) {
		if heartbeat > 0 {
			s.heartbeatEvery = heartbeat
		}
		if suspectAfter > 0 {
			s.suspectAfter = suspectAfter
		}
		s.timingChanged = true
		if !s.left {
			s.send(s.announce(pb.State_STATE_RUNNING))
		}
	})
}

// SetClusters replaces the cluster hashes announced (config reload); an
// announce carrying them goes out at once.
func (e *Engine) SetClusters(clusters [][]byte) {
	c := cloneClusters(clusters)
	e.enqueue(func(s *engineState) {
		s.clusters = c
		if !s.left && s.out != nil {
			s.send(s.announce(pb.State_STATE_RUNNING))
		}
	})
}

// PublishDelivered publishes a Delivered message for alertID on the
// network's topic, without waiting for it to go out. It does nothing once
// the engine has stopped.
func (e *Engine) PublishDelivered(alertID string) {
	e.enqueue(func(s *engineState) {
		s.send(&pb.Envelope{
			Header: s.header(p2p.KindDelivered),
			Body:   &pb.Envelope_Delivered{Delivered: &pb.Delivered{AlertId: alertID}},
		})
	})
}

// PublishMonitors publishes this node's MonitorReport on the network's
// topic, without waiting for it to go out. It does nothing once the engine
// has stopped or after Leave.
func (e *Engine) PublishMonitors(r *pb.MonitorReport) {
	e.enqueue(func(s *engineState) {
		if s.left || s.out == nil {
			return
		}
		s.send(&pb.Envelope{
			Header: s.header(p2p.KindMonitor),
			Body:   &pb.Envelope_Monitors{Monitors: r},
		})
	})
}

func cloneClusters(c [][]byte) [][]byte {
	out := make([][]byte, len(c))
	for i, b := range c {
		out[i] = slices.Clone(b)
	}
	return out
}

// errStopped is returned by Leave when the engine is not running.
var errStopped = errors.New("engine stopped")

// Leave publishes a leaving announce so peers show this node as left rather
// than offline. Call it before cancelling Run.
func (e *Engine) Leave(ctx context.Context) error {
	res := make(chan *pb.Envelope, 1)
	select {
	case e.inbox <- func(s *engineState) { res <- s.announce(pb.State_STATE_LEAVING) }:
	case <-e.done:
		return errStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	var env *pb.Envelope
	select {
	case env = <-res:
	case <-e.done:
		return errStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	return e.pub.Publish(ctx, env)
}

// evalEvery is the evaluation period for a heartbeat.
func evalEvery(heartbeat time.Duration) time.Duration {
	return min(heartbeat/4, DefaultTiming().MaxEvalEvery)
}

// minSoonGap is the least time between an evaluation and the next one
// that an input brings forward (Run's soon).
const minSoonGap = 10 * time.Millisecond

// soonWait is how long after now an input's evaluation waits, when the
// last evaluation ended at last and took cost: at least minSoonGap, and
// ten times the cost, after the last one, so evaluations brought forward
// take at most about a tenth of a core however large the network.
func soonWait(last, now time.Time, cost time.Duration) time.Duration {
	return max(max(minSoonGap, 10*cost)-now.Sub(last), 0)
}

// Run owns the engine state until ctx ends. It announces this node,
// re-evaluates opinions and consensus several times per heartbeat,
// publishes a Report whenever an opinion changes and as a slow refresh, and
// never blocks on the network: publishing happens on its own goroutine.
func (e *Engine) Run(ctx context.Context) error {
	defer close(e.done)
	s := newEngineState(e, e.cfg.Incarnation(0))
	e.boot.Store(s.boot)
	out := make(chan *pb.Envelope, 64)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.publishLoop(ctx, out)
	}()
	defer wg.Wait()
	s.out = out

	tick := evalEvery(s.heartbeatEvery)
	eval := time.NewTicker(tick)
	defer eval.Stop()
	report := time.NewTimer(jitter.Spread(e.cfg.ReportRefresh))
	defer report.Stop()
	announce := time.NewTicker(e.cfg.AnnounceRefresh)
	defer announce.Stop()

	// soon evaluates right after an input that may change a verdict,
	// rather than at the next tick: a crash seen by one member reaches the
	// others' views in a round trip, not in two ticks. It is spaced by
	// soonGap, so a burst of inputs costs a bounded share of a core.
	soon := time.NewTimer(time.Hour)
	soon.Stop()
	defer soon.Stop()
	var soonArmed bool
	var evaluated time.Time // when the last evaluation ended
	var cost time.Duration  // how long it took
	timed := func(f func()) {
		start := time.Now()
		f()
		evaluated = time.Now()
		cost = evaluated.Sub(start)
	}

	s.lastTick = e.cfg.Now()
	s.started = s.lastTick
	s.send(s.announce(pb.State_STATE_RUNNING))
	for {
		select {
		case <-ctx.Done():
			return nil
		case f := <-e.inbox:
			s.checkPause(e.cfg.Now(), tick)
			f(s)
			if s.evidenceOnly {
				// Evidence that changes no opinion only refreshes RTTs
				// and ages: the view is rebuilt for it at most once per
				// viewRefresh, not on every ping (linear cost per member).
				s.evidenceOnly = false
				s.viewStale = true
			} else {
				s.dirty = true
				if !soonArmed {
					soonArmed = true
					soon.Reset(soonWait(evaluated, time.Now(), cost))
				}
			}
		case <-soon.C:
			soonArmed = false
			// After a pause of this process the soon timer may fire
			// before the tick: its lateness must be seen first, or
			// every member would look silent.
			s.checkPause(e.cfg.Now(), tick)
			timed(s.evaluateSoon)
		case <-eval.C:
			now := e.cfg.Now()
			s.checkPause(now, tick)
			s.lastTick = now
			if s.timingChanged {
				s.timingChanged = false
				tick = evalEvery(s.heartbeatEvery)
				eval.Reset(tick)
			}
			timed(s.evaluate)
		case <-report.C:
			now := e.cfg.Now()
			s.checkPause(now, tick)
			if !s.left && !s.aware.Recovering(now, s.suspectAfter) {
				s.send(s.report())
			}
			report.Reset(jitter.Spread(e.cfg.ReportRefresh))
		case <-announce.C:
			s.checkPause(e.cfg.Now(), tick)
			if !s.left {
				s.send(s.announce(pb.State_STATE_RUNNING))
			}
		}
	}
}

func (e *Engine) publishLoop(ctx context.Context, out <-chan *pb.Envelope) {
	for {
		select {
		case <-ctx.Done():
			return
		case env := <-out:
			pctx, cancel := context.WithTimeout(ctx, max(e.cfg.Heartbeat, time.Second))
			err := e.pub.Publish(pctx, env)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				e.publishErrs.failed(classifyPublishError(err), err)
				continue
			}
			e.publishErrs.succeeded()
			switch env.GetBody().(type) {
			case *pb.Envelope_Heartbeat:
				e.HeartbeatsSent.Add(1)
			case *pb.Envelope_Report:
				e.ReportsSent.Add(1)
			case *pb.Envelope_Delivered:
				e.DeliveredSent.Add(1)
			case *pb.Envelope_Monitors:
				e.MonitorsSent.Add(1)
			}
		}
	}
}
