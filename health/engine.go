package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

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
	// Heartbeat is the heartbeat period (timing.heartbeat).
	Heartbeat time.Duration
	// SuspectAfter is the silence after which a member is suspected (timing.suspect_after).
	SuspectAfter time.Duration
	// Version is announced in heartbeats.
	Version string
	// Reachability ("public" or "private") is announced in heartbeats.
	Reachability string
	// BootID orders this process's messages after those of earlier runs (process start, unix ms).
	BootID uint64
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger is narrowed with the network. Default slog.Default().
	Logger *slog.Logger
	// Events receives status transitions. Required.
	Events *EventLog
	// Clusters are announced in every heartbeat (Heartbeat.clusters): the
	// salted hashes of the notification clusters this node takes part in,
	// as raw bytes. The engine does not interpret them; see SetClusters.
	Clusters [][]byte
	// OnDelivered, when set, receives every admitted Delivered message:
	// the author's node_id and the message's alert_id. It is called on the
	// engine's goroutine and must not block.
	OnDelivered func(from, alertID string)
	// OnView, when set, receives every view the engine publishes, in
	// order, so that a consumer sees each status change at the view's
	// time (the alert hold is event-driven). It is called on the engine's
	// goroutine (and once from NewEngine) and must not block.
	OnView func(*NetworkView)
}

// refreshEvery is how many heartbeats pass between two refresh Reports.
const refreshEvery = 10

// Engine owns one network's liveness state: it publishes this node's
// heartbeats and reports, takes in admitted messages and link changes, runs
// Consensus and publishes the resulting view. One goroutine (Run) owns the
// state; other goroutines only enqueue inputs or read the immutable view.
type Engine struct {
	cfg   EngineConfig
	pub   Publisher
	log   *slog.Logger
	inbox chan func(*engineState)
	view  atomic.Pointer[NetworkView]
	done  chan struct{}

	// Counters, read by metrics.
	HeartbeatsSent atomic.Uint64
	ReportsSent    atomic.Uint64
	DeliveredSent  atomic.Uint64
	PublishErrors  atomic.Uint64

	// heartbeats are the other members' latest heartbeats as of the view.
	heartbeats atomic.Pointer[map[string]*pb.Heartbeat]
}

// NewEngine returns an engine; call Run to start it.
func NewEngine(cfg EngineConfig, pub Publisher) *Engine {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	e := &Engine{
		cfg:   cfg,
		pub:   pub,
		log:   cfg.Logger.With("network", cfg.NetworkID),
		inbox: make(chan func(*engineState), 1024),
		done:  make(chan struct{}),
	}
	st := newEngineState(e)
	st.storeView(st.buildView(cfg.Now(), st.consensus(cfg.Now())))
	return e
}

// SetPublisher sets where the engine publishes; call it before Run.
func (e *Engine) SetPublisher(p Publisher) { e.pub = p }

// View returns the latest computed view (never nil; do not modify it).
func (e *Engine) View() *NetworkView { return e.view.Load() }

// Heartbeats returns the latest heartbeat admitted from each other member,
// by node_id, as of the latest view (never nil; do not modify it or the
// heartbeats). A member never heard from has no entry; one that went
// silent keeps its last heartbeat.
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
	e.enqueue(func(s *engineState) { s.onMessage(m) })
}

// HandleLink implements p2p.Handler.
func (e *Engine) HandleLink(node string, l p2p.Link) {
	e.enqueue(func(s *engineState) { s.onLink(node, l) })
}

// HandleRTT implements p2p.Handler.
func (e *Engine) HandleRTT(node string, rtt time.Duration) {
	e.enqueue(func(s *engineState) { s.rtt[node] = rtt })
}

// SetMembers replaces the member list (config reload).
func (e *Engine) SetMembers(members []Member) {
	e.enqueue(func(s *engineState) { s.members = slices.Clone(members) })
}

// SetClusters replaces the cluster hashes announced in heartbeats (config
// reload); the next heartbeat carries them.
func (e *Engine) SetClusters(clusters [][]byte) {
	c := cloneClusters(clusters)
	e.enqueue(func(s *engineState) { s.clusters = c })
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

func cloneClusters(c [][]byte) [][]byte {
	out := make([][]byte, len(c))
	for i, b := range c {
		out[i] = slices.Clone(b)
	}
	return out
}

// errStopped is returned by Leave when the engine is not running.
var errStopped = errors.New("engine stopped")

// Leave publishes a leaving heartbeat so peers show this node as left rather
// than offline. Call it before cancelling Run.
func (e *Engine) Leave(ctx context.Context) error {
	res := make(chan *pb.Envelope, 1)
	select {
	case e.inbox <- func(s *engineState) { res <- s.heartbeat(pb.State_STATE_LEAVING) }:
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

// Run owns the engine state until ctx ends. It publishes a heartbeat every
// Heartbeat, re-evaluates consensus several times per heartbeat, and never
// blocks on the network: publishing happens on its own goroutine.
func (e *Engine) Run(ctx context.Context) error {
	defer close(e.done)
	s := newEngineState(e)
	out := make(chan *pb.Envelope, 32)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.publishLoop(ctx, out)
	}()
	defer wg.Wait()
	s.out = out

	hb := time.NewTicker(e.cfg.Heartbeat)
	defer hb.Stop()
	evalEvery := min(e.cfg.Heartbeat/4, 100*time.Millisecond)
	eval := time.NewTicker(evalEvery)
	defer eval.Stop()

	s.send(s.heartbeat(pb.State_STATE_RUNNING))
	beats := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case f := <-e.inbox:
			f(s)
			s.dirty = true
		case <-hb.C:
			if s.left {
				continue
			}
			s.send(s.heartbeat(pb.State_STATE_RUNNING))
			beats++
			if beats%refreshEvery == 0 {
				s.send(s.report())
			}
		case <-eval.C:
			s.evaluate()
		}
	}
}

func (e *Engine) publishLoop(ctx context.Context, out <-chan *pb.Envelope) {
	for {
		select {
		case <-ctx.Done():
			return
		case env := <-out:
			pctx, cancel := context.WithTimeout(ctx, e.cfg.Heartbeat)
			err := e.pub.Publish(pctx, env)
			cancel()
			if err != nil {
				e.PublishErrors.Add(1)
				e.log.Debug("publish failed", "err", err)
				continue
			}
			switch env.GetBody().(type) {
			case *pb.Envelope_Heartbeat:
				e.HeartbeatsSent.Add(1)
			case *pb.Envelope_Report:
				e.ReportsSent.Add(1)
			case *pb.Envelope_Delivered:
				e.DeliveredSent.Add(1)
			}
		}
	}
}

// engineState is owned by Run's goroutine.
type engineState struct {
	e       *Engine
	out     chan<- *pb.Envelope
	members []Member
	// clusters are announced in heartbeats.
	clusters [][]byte
	seq      [3]uint64
	dirty    bool
	// left is set once this node announced that it leaves: no running
	// heartbeat may follow, or peers would take it back as running.
	left bool

	lastHeard  map[string]time.Time
	heartbeat0 map[string]*pb.Heartbeat
	boot       map[string]uint64
	leaving    map[string]bool
	// timingSeen is the timing each member last announced, to warn once
	// per change when it differs from this node's.
	timingSeen map[string][2]uint32
	reports    map[string]map[string]*pb.PeerObservation
	// hbAt and reportAt are the (boot_id, seq) of the heartbeat and report
	// held per member: gossip and sync deliver concurrently, so an older
	// message can arrive after a newer one and must not replace it.
	hbAt, reportAt map[string]p2p.Position

	rtt       map[string]time.Duration
	link      map[string]p2p.Link
	downSince map[string]time.Time

	published map[string]publishedObs // own observations last published
	status    map[string]Status
}

type publishedObs struct {
	op        Opinion
	connected bool
	relayed   bool
}

func newEngineState(e *Engine) *engineState {
	return &engineState{
		e:          e,
		members:    slices.Clone(e.cfg.Members),
		clusters:   cloneClusters(e.cfg.Clusters),
		lastHeard:  map[string]time.Time{},
		heartbeat0: map[string]*pb.Heartbeat{},
		boot:       map[string]uint64{},
		leaving:    map[string]bool{},
		timingSeen: map[string][2]uint32{},
		reports:    map[string]map[string]*pb.PeerObservation{},
		hbAt:       map[string]p2p.Position{},
		reportAt:   map[string]p2p.Position{},
		rtt:        map[string]time.Duration{},
		link:       map[string]p2p.Link{},
		downSince:  map[string]time.Time{},
		published:  map[string]publishedObs{},
		status:     map[string]Status{},
	}
}

func (s *engineState) send(env *pb.Envelope) {
	select {
	case s.out <- env:
	default:
		s.e.PublishErrors.Add(1)
	}
}

func (s *engineState) header(k p2p.Kind) *pb.Header {
	s.seq[k]++
	return &pb.Header{
		NetworkId:  s.e.cfg.NetworkID,
		NodeId:     s.e.cfg.Self,
		BootId:     s.e.cfg.BootID,
		Seq:        s.seq[k],
		SentUnixMs: s.e.cfg.Now().UnixMilli(),
	}
}

func (s *engineState) heartbeat(state pb.State) *pb.Envelope {
	if state == pb.State_STATE_LEAVING {
		s.left = true
	}
	return &pb.Envelope{
		Header: s.header(p2p.KindHeartbeat),
		Body: &pb.Envelope_Heartbeat{Heartbeat: &pb.Heartbeat{
			State: state, Version: s.e.cfg.Version, Clusters: s.clusters, Reachability: s.e.cfg.Reachability,
			HeartbeatMs:    uint32(s.e.cfg.Heartbeat.Milliseconds()),
			SuspectAfterMs: uint32(s.e.cfg.SuspectAfter.Milliseconds()),
		}},
	}
}

// ownObservations computes this node's observation of every other member.
func (s *engineState) ownObservations(now time.Time) map[string]*pb.PeerObservation {
	out := make(map[string]*pb.PeerObservation, len(s.members))
	for _, m := range s.members {
		if m.NodeID == s.e.cfg.Self {
			continue
		}
		op := OwnOpinion(s.lastHeard[m.NodeID], s.downSince[m.NodeID], now, s.e.cfg.SuspectAfter)
		l := s.link[m.NodeID]
		o := &pb.PeerObservation{
			NodeId:       m.NodeID,
			Reachability: pb.Reachability(op),
			Connected:    l.Connected,
			Relayed:      l.Relayed,
		}
		if l.Connected {
			o.RttUs = uint32(min(s.rtt[m.NodeID].Microseconds(), 1<<31))
		}
		if t := s.lastHeard[m.NodeID]; !t.IsZero() {
			o.LastHeardMs = uint32(min(max(now.Sub(t).Milliseconds(), 0), 1<<31))
		}
		out[m.NodeID] = o
	}
	return out
}

func (s *engineState) report() *pb.Envelope {
	now := s.e.cfg.Now()
	obs := s.ownObservations(now)
	r := &pb.Report{Peers: make([]*pb.PeerObservation, 0, len(obs))}
	for _, k := range slices.Sorted(maps.Keys(obs)) {
		o := obs[k]
		r.Peers = append(r.Peers, o)
		s.published[k] = publishedObs{Opinion(o.Reachability), o.Connected, o.Relayed}
	}
	return &pb.Envelope{Header: s.header(p2p.KindReport), Body: &pb.Envelope_Report{Report: r}}
}

func (s *engineState) onMessage(m p2p.Message) {
	h := m.Env.GetHeader()
	node := h.GetNodeId()
	if node == s.e.cfg.Self {
		return
	}
	now := s.e.cfg.Now()
	switch b := m.Env.GetBody().(type) {
	case *pb.Envelope_Heartbeat:
		at := now.Add(-m.Age)
		if at.After(s.lastHeard[node]) {
			s.lastHeard[node] = at
		}
		if !newer(s.hbAt, node, h) {
			return
		}
		s.heartbeat0[node] = b.Heartbeat
		s.boot[node] = h.GetBootId()
		s.leaving[node] = b.Heartbeat.GetState() == pb.State_STATE_LEAVING
		s.checkTiming(node, b.Heartbeat)
	case *pb.Envelope_Report:
		if !newer(s.reportAt, node, h) {
			return
		}
		obs := make(map[string]*pb.PeerObservation, len(b.Report.GetPeers()))
		for _, o := range b.Report.GetPeers() {
			obs[o.GetNodeId()] = o
		}
		s.reports[node] = obs
	case *pb.Envelope_Delivered:
		if s.e.cfg.OnDelivered != nil {
			s.e.cfg.OnDelivered(node, b.Delivered.GetAlertId())
		}
	}
}

// newer records h's (boot_id, seq) for node in held and reports whether it
// is newer than the one held before.
func newer(held map[string]p2p.Position, node string, h *pb.Header) bool {
	p := p2p.PositionOf(h)
	if q, ok := held[node]; ok && !p.After(q) {
		return false
	}
	held[node] = p
	return true
}

func (s *engineState) onLink(node string, l p2p.Link) {
	now := s.e.cfg.Now()
	if l.DialFailed {
		if !s.lastHeard[node].IsZero() {
			s.downSince[node] = now
		}
		l = p2p.Link{}
	}
	if l.Stale {
		// Connected on paper, but pings go unanswered: the link is down.
		l = p2p.Link{Stale: true}
	}
	if l.Connected {
		delete(s.downSince, node)
	}
	s.link[node] = l
	s.evaluate()
}

func (s *engineState) memberIDs() []string {
	ids := make([]string, len(s.members))
	for i, m := range s.members {
		ids[i] = m.NodeID
	}
	return ids
}

func (s *engineState) consensus(now time.Time) map[string]Verdict {
	own := s.ownObservations(now)
	in := ConsensusInput{
		Self:         s.e.cfg.Self,
		Members:      s.memberIDs(),
		Now:          now,
		SuspectAfter: s.e.cfg.SuspectAfter,
		LastHeard:    s.lastHeard,
		Leaving:      s.leaving,
		Own:          make(map[string]Opinion, len(own)),
		Reports:      make(map[string]map[string]Opinion, len(s.reports)),
	}
	for k, o := range own {
		in.Own[k] = Opinion(o.GetReachability())
	}
	for obs, r := range s.reports {
		m := make(map[string]Opinion, len(r))
		for k, o := range r {
			m[k] = Opinion(o.GetReachability())
		}
		in.Reports[obs] = m
	}
	return Consensus(in)
}

// evaluate publishes a report if this node's opinions changed, recomputes
// consensus, raises events for transitions and stores a new view.
func (s *engineState) evaluate() {
	now := s.e.cfg.Now()
	changed := false
	for k, o := range s.ownObservations(now) {
		if s.published[k] != (publishedObs{Opinion(o.Reachability), o.Connected, o.Relayed}) {
			changed = true
			break
		}
	}
	if changed {
		s.send(s.report())
		s.dirty = true
	}
	if !s.dirty {
		// Time alone can change freshness; consensus is cheap enough to
		// recompute, but skip rebuilding an unchanged view.
		s.dirty = s.timeSensitive(now)
	}
	if !s.dirty {
		return
	}
	s.dirty = false
	verdicts := s.consensus(now)
	for _, m := range s.members {
		v := verdicts[m.NodeID]
		old, seen := s.status[m.NodeID]
		if !seen {
			old = StatusUnknown
		}
		if v.Status != old {
			s.status[m.NodeID] = v.Status
			s.transition(m.NodeID, old, v)
		}
	}
	s.storeView(s.buildView(now, verdicts))
}

// storeView publishes nv together with the heartbeats it was built from.
func (s *engineState) storeView(nv *NetworkView) {
	hbs := maps.Clone(s.heartbeat0)
	s.e.heartbeats.Store(&hbs)
	s.e.view.Store(nv)
	if s.e.cfg.OnView != nil {
		s.e.cfg.OnView(nv)
	}
}

// timeSensitive reports whether some heartbeat crossed the suspect_after
// boundary since the last evaluation window.
func (s *engineState) timeSensitive(now time.Time) bool {
	window := min(s.e.cfg.Heartbeat/4, 100*time.Millisecond) * 2
	for _, t := range s.lastHeard {
		age := now.Sub(t)
		if age > s.e.cfg.SuspectAfter && age <= s.e.cfg.SuspectAfter+window {
			return true
		}
	}
	return false
}

func (s *engineState) transition(node string, from Status, v Verdict) {
	sev := SeverityInfo
	switch v.Status {
	case StatusOffline:
		sev = SeverityError
	case StatusDegraded:
		sev = SeverityWarning
	}
	msg := node + " is " + string(v.Status)
	s.e.cfg.Events.Add(Event{
		Network: s.e.cfg.NetworkID, Node: node, Kind: "status", Severity: sev,
		Message: msg, From: from, To: v.Status, Confirmed: v.Confirmed,
	})
	s.e.log.Info("status changed", "node", node, "from", string(from), "to", string(v.Status),
		"agreed_by", v.Agreeing(), "live_observers", v.Live, "confirmed", v.Confirmed)
}

// checkTiming warns, once per change, when a member announces a timing
// other than this node's: their copies of config.yml disagree, so they
// suspect at different speeds.
func (s *engineState) checkTiming(node string, hb *pb.Heartbeat) {
	got := [2]uint32{hb.GetHeartbeatMs(), hb.GetSuspectAfterMs()}
	if got[0] == 0 || got == s.timingSeen[node] {
		return
	}
	s.timingSeen[node] = got
	own := [2]uint32{uint32(s.e.cfg.Heartbeat.Milliseconds()), uint32(s.e.cfg.SuspectAfter.Milliseconds())}
	if got == own {
		return
	}
	ms := func(v uint32) string { return (time.Duration(v) * time.Millisecond).String() }
	msg := fmt.Sprintf("%s uses timing heartbeat %s, suspect_after %s; this node uses %s, %s: make timing the same in every copy of config.yml",
		node, ms(got[0]), ms(got[1]), ms(own[0]), ms(own[1]))
	s.e.cfg.Events.Add(Event{Network: s.e.cfg.NetworkID, Node: node, Kind: "config", Severity: SeverityWarning, Message: msg})
	s.e.log.Warn("timing differs between members", "node", node,
		"heartbeat", ms(got[0]), "suspect_after", ms(got[1]), "own_heartbeat", ms(own[0]), "own_suspect_after", ms(own[1]))
}

func (s *engineState) buildView(now time.Time, verdicts map[string]Verdict) *NetworkView {
	nv := &NetworkView{
		NetworkID: s.e.cfg.NetworkID,
		Self:      s.e.cfg.Self,
		Nodes:     make(map[string]*NodeView, len(s.members)),
		// An empty list, not null, for a network of one.
		Connections: []Connection{},
		UpdatedAt:   now,
	}
	own := s.ownObservations(now)
	obsOf := func(observer, subject string) *pb.PeerObservation {
		if observer == s.e.cfg.Self {
			return own[subject]
		}
		return s.reports[observer][subject]
	}
	for _, m := range s.members {
		v := verdicts[m.NodeID]
		n := &NodeView{
			NodeID:        m.NodeID,
			Status:        v.Status,
			Confirmed:     v.Confirmed,
			AgreedBy:      v.Agreeing(),
			LiveObservers: v.Live,
			PeerID:        m.PeerID.String(),
			URL:           m.URL,
			KeyMissing:    m.KeyError,
			LastHeardMs:   -1,
			BootID:        s.boot[m.NodeID],
			Observers:     make(map[string]ObserverView, len(v.Observers)),
		}
		if m.PeerID == "" {
			n.PeerID = ""
		}
		if m.NodeID == s.e.cfg.Self {
			n.Version = s.e.cfg.Version
			n.Reachability = s.e.cfg.Reachability
			n.LastHeardMs = 0
			n.BootID = s.e.cfg.BootID
		} else {
			if hb := s.heartbeat0[m.NodeID]; hb != nil {
				n.Version = hb.GetVersion()
				n.Reachability = hb.GetReachability()
			}
			if t := s.lastHeard[m.NodeID]; !t.IsZero() {
				n.LastHeardMs = max(now.Sub(t).Milliseconds(), 0)
			}
		}
		for o, op := range v.Observers {
			ov := ObserverView{Opinion: op.String()}
			if ob := obsOf(o, m.NodeID); ob != nil {
				ov.RTTMs = float64(ob.GetRttUs()) / 1000
				ov.Connected = ob.GetConnected()
				ov.Relayed = ob.GetRelayed()
			}
			n.Observers[o] = ov
		}
		nv.Nodes[m.NodeID] = n
	}
	for _, a := range s.members {
		for _, b := range s.members {
			if a.NodeID == b.NodeID {
				continue
			}
			c := Connection{Src: a.NodeID, Dst: b.NodeID, Status: "unknown"}
			ob := obsOf(a.NodeID, b.NodeID)
			switch {
			case verdicts[a.NodeID].Status == StatusOffline:
				c.Status = "down"
			case ob == nil:
			case ob.GetConnected():
				c.Status = "up"
				c.RTTMs = float64(ob.GetRttUs()) / 1000
				c.Relayed = ob.GetRelayed()
			case ob.GetReachability() != pb.Reachability_REACHABILITY_NONE:
				c.Status = "down"
			}
			nv.Connections = append(nv.Connections, c)
		}
	}
	return nv
}
