package health

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshmon/meshmon/p2p"
	"github.com/meshmon/meshmon/p2p/pb"
)

const testNetwork = "net"

func testEngine(t *testing.T, clock func() time.Time, pub Publisher, members ...string) (*Engine, *EventLog) {
	t.Helper()
	ms := make([]Member, len(members))
	for i, m := range members {
		ms[i] = Member{NodeID: m, URL: "http://" + m + ".example:8080"}
	}
	events := NewEventLog(100, clock)
	e := NewEngine(EngineConfig{
		NetworkID:    testNetwork,
		Self:         members[0],
		Members:      ms,
		Heartbeat:    time.Second,
		SuspectAfter: testSuspectAfter,
		Version:      "v-self",
		Incarnation:  func(atLeast uint64) uint64 { return max(atLeast, 7) },
		Now:          clock,
		Logger:       slog.New(slog.DiscardHandler),
		Events:       events,
	}, pub)
	return e, events
}

// testSeq numbers the test messages: like the validator, the engine keeps
// only a member's newest heartbeat and report.
var testSeq atomic.Uint64

func heartbeatMsg(node string, state pb.State, age time.Duration) p2p.Message {
	return p2p.Message{
		Env: &pb.Envelope{
			Header: &pb.Header{NetworkId: testNetwork, NodeId: node, BootId: 42, Seq: testSeq.Add(1)},
			Body:   &pb.Envelope_Heartbeat{Heartbeat: &pb.Heartbeat{State: state, Version: "v-" + node}},
		},
		Age: age,
	}
}

// reportMsg is node's report; a reachable member is reported as directly
// connected.
func reportMsg(node string, ops map[string]Opinion) p2p.Message {
	r := &pb.Report{}
	for _, k := range slices.Sorted(maps.Keys(ops)) {
		r.Peers = append(r.Peers, &pb.PeerObservation{
			NodeId:       k,
			Reachability: pb.Reachability(ops[k]),
			Connected:    ops[k] == OpinionReachable,
		})
	}
	return p2p.Message{Env: &pb.Envelope{
		Header: &pb.Header{NetworkId: testNetwork, NodeId: node, BootId: 42, Seq: testSeq.Add(1)},
		Body:   &pb.Envelope_Report{Report: r},
	}}
}

// driver runs an engineState the way Run does, minus the goroutine and the
// tickers: every input is followed by an evaluation.
type driver struct {
	t      *testing.T
	s      *engineState
	out    chan *pb.Envelope
	events *EventLog
	seen   uint64 // last event ID returned by newEvents
}

func newDriver(t *testing.T, clock *fakeClock, members ...string) *driver {
	e, events := testEngine(t, clock.Now, nil, members...)
	out := make(chan *pb.Envelope, 256)
	s := newEngineState(e, 7)
	s.out = out
	return &driver{t: t, s: s, out: out, events: events}
}

// step applies an input as Run does (mark dirty, then evaluate).
func (d *driver) step(f func(*engineState)) {
	f(d.s)
	d.s.dirty = true
	d.s.evaluate()
}

// paced lets reportPace pass and evaluates, so that a Report held back by
// the pace goes out.
func (d *driver) paced(clock *fakeClock) {
	clock.Advance(reportPace)
	d.s.evaluate()
}

// soon applies an input as Run does between ticks (mark dirty, then
// evaluateSoon).
func (d *driver) soon(f func(*engineState)) {
	f(d.s)
	d.s.dirty = true
	d.s.evaluateSoon()
}

func (d *driver) msg(m p2p.Message) {
	d.step(func(s *engineState) { s.onMessage(m, s.e.cfg.Now()) })
}
func (d *driver) link(node string, l p2p.Link) {
	d.step(func(s *engineState) { s.onLink(node, l, s.e.cfg.Now()) })
}

// ping records an answered ping of node (evidence), as HandleRTT does.
func (d *driver) ping(node string, rtt time.Duration) {
	d.step(func(s *engineState) { s.answered(node, rtt, s.e.cfg.Now()) })
}

type transition struct {
	node      string
	from, to  Status
	sev       Severity
	confirmed bool
}

// newEvents returns the status events raised since the last call, oldest first.
func (d *driver) newEvents() []transition {
	var out []transition
	evs := d.events.List(nil)
	slices.Reverse(evs)
	for _, e := range evs {
		if e.ID <= d.seen {
			continue
		}
		d.seen = e.ID
		if e.Kind != "status" || e.Network != testNetwork || !strings.HasPrefix(e.Message, e.Node+" is "+string(e.To)) {
			d.t.Errorf("malformed status event %+v", e)
		}
		out = append(out, transition{e.Node, e.From, e.To, e.Severity, e.Confirmed})
	}
	return out
}

func (d *driver) wantEvents(want ...transition) {
	d.t.Helper()
	if got := d.newEvents(); !slices.Equal(got, want) {
		d.t.Errorf("status events = %+v; want %+v", got, want)
	}
}

// lastReport returns the latest report published since the last call (nil: none).
func (d *driver) lastReport() *pb.Report {
	var r *pb.Report
	for {
		select {
		case env := <-d.out:
			if rep := env.GetReport(); rep != nil {
				if env.GetHeader().GetNodeId() != d.s.e.cfg.Self || env.GetHeader().GetNetworkId() != testNetwork {
					d.t.Errorf("report with header %+v", env.GetHeader())
				}
				r = rep
			}
		default:
			return r
		}
	}
}

func reportOpinions(r *pb.Report) map[string]Opinion {
	out := map[string]Opinion{}
	for _, o := range r.GetPeers() {
		out[o.GetNodeId()] = Opinion(o.GetReachability())
	}
	return out
}

func (d *driver) node(id string) *NodeView {
	d.t.Helper()
	n := d.s.e.View().Nodes[id]
	if n == nil {
		d.t.Fatalf("view has no node %q", id)
	}
	return n
}

func (d *driver) wantNode(id string, status Status, confirmed bool, agreed, live int) {
	d.t.Helper()
	n := d.node(id)
	if n.Status != status || n.Confirmed != confirmed || n.AgreedBy != agreed || n.LiveObservers != live {
		d.t.Errorf("view of %s: status %s confirmed %t agreed_by %d live %d; want %s %t %d %d",
			id, n.Status, n.Confirmed, n.AgreedBy, n.LiveObservers, status, confirmed, agreed, live)
	}
}

func connections(v *NetworkView) map[[2]string]Connection {
	out := map[[2]string]Connection{}
	for _, c := range v.Connections {
		out[[2]string{c.Src, c.Dst}] = c
	}
	return out
}

func TestEngineInitialView(t *testing.T) {
	clock := newFakeClock(t0)
	e, events := testEngine(t, clock.Now, nil, "a", "b", "c")
	v := e.View()
	if v.NetworkID != testNetwork || v.Self != "a" || !v.UpdatedAt.Equal(t0) {
		t.Errorf("view header = %q %q %v; want %q %q %v", v.NetworkID, v.Self, v.UpdatedAt, testNetwork, "a", t0)
	}
	wantA := &NodeView{
		NodeID: "a", Status: StatusOnline, AgreedBy: 1, LiveObservers: 1, Version: "v-self",
		URL: "http://a.example:8080", LastHeardMs: 0,
		Observers: map[string]ObserverView{"a": {Opinion: "reachable"}},
	}
	if got := v.Nodes["a"]; !equalNode(got, wantA) {
		t.Errorf("self = %+v; want %+v", got, wantA)
	}
	for _, id := range []string{"b", "c"} {
		want := &NodeView{
			NodeID: id, Status: StatusUnknown, URL: "http://" + id + ".example:8080", LastHeardMs: -1,
			Observers: map[string]ObserverView{},
		}
		if got := v.Nodes[id]; !equalNode(got, want) {
			t.Errorf("node %s = %+v; want %+v", id, got, want)
		}
	}
	// Nothing is known of any link yet, and an unknown link is not listed.
	if v.Connections == nil || len(v.Connections) != 0 {
		t.Errorf("connections = %+v; want an empty list (every link unknown)", v.Connections)
	}
	if got := events.List(nil); len(got) != 0 {
		t.Errorf("NewEngine raised events %+v; want none", got)
	}
}

func equalNode(a, b *NodeView) bool { return reflect.DeepEqual(a, b) }

// TestEngineLifecycleOfAMember drives one member through joining, hanging,
// being confirmed offline, recovering and leaving, checking the view, the
// published reports and the events at each step.
func TestEngineLifecycleOfAMember(t *testing.T) {
	clock := newFakeClock(t0)
	d := newDriver(t, clock, "a", "b", "c")
	running := pb.State_STATE_RUNNING

	// b and c are heard: each is online on this node's word alone.
	d.msg(heartbeatMsg("b", running, 0))
	d.msg(heartbeatMsg("c", running, 0))
	d.wantEvents(
		transition{"a", StatusUnknown, StatusOnline, SeverityInfo, false},
		transition{"b", StatusUnknown, StatusOnline, SeverityInfo, false},
		transition{"c", StatusUnknown, StatusOnline, SeverityInfo, false},
	)
	if r := d.lastReport(); r == nil || !maps.Equal(reportOpinions(r), map[string]Opinion{"b": up, "c": up}) {
		t.Fatalf("published report %v; want b and c reachable", r)
	}
	d.wantNode("c", StatusOnline, false, 1, 1)
	if n := d.node("c"); n.Version != "v-c" || n.BootID != 42 || n.LastHeardMs != 0 {
		t.Errorf("view of c: version %q boot %d last heard %d ms; want v-c, 42, 0", n.Version, n.BootID, n.LastHeardMs)
	}

	// Their reports confirm it; confirmation alone raises no event.
	d.msg(reportMsg("b", map[string]Opinion{"a": up, "c": up}))
	d.msg(reportMsg("c", map[string]Opinion{"a": up, "b": up}))
	d.wantEvents()
	d.wantNode("b", StatusOnline, true, 2, 2)
	d.wantNode("c", StatusOnline, true, 2, 2)
	if r := d.lastReport(); r != nil {
		t.Errorf("published a report %v although no own opinion changed", r)
	}

	// A direct connection to b with a measured RTT shows on the edge.
	d.link("b", p2p.Link{Connected: true})
	d.step(func(s *engineState) { s.rtt["b"] = 12500 * time.Microsecond })
	if c := connections(d.s.e.View())[[2]string{"a", "b"}]; c.Status != "up" || c.RTTMs != 12.5 {
		t.Errorf("edge a→b = %+v; want up, 12.5 ms", c)
	}
	if c := connections(d.s.e.View())[[2]string{"b", "a"}]; c.Status != "up" {
		t.Errorf("edge b→a = %+v; want up (b reports a connection)", c)
	}

	// c hangs: b's pings go on, c goes silent past suspect_after. This node
	// suspects c; b still says reachable. One observer's suspicion is its
	// opinion, not a verdict: c stays online, suspected by a, no event.
	clock.Advance(2 * time.Second)
	d.ping("b", 12500*time.Microsecond)
	clock.Advance(1500 * time.Millisecond) // c last heard 3.5 s ago
	d.s.evaluate()                         // the eval ticker
	if r := d.lastReport(); r == nil || reportOpinions(r)["c"] != sus {
		t.Fatalf("published report %v; want c suspect", r)
	}
	d.wantEvents()
	d.wantNode("c", StatusOnline, true, 1, 2)
	if got := d.node("c").SuspectedBy; !slices.Equal(got, []string{"a"}) {
		t.Errorf("c suspected_by %q; want [a]", got)
	}
	// c is still held online, so its report on b still counts.
	d.wantNode("b", StatusOnline, true, 2, 2)

	// b agrees: 2 of 2, offline.
	d.msg(reportMsg("b", map[string]Opinion{"a": up, "c": sus}))
	d.wantEvents(transition{"c", StatusOnline, StatusOffline, SeverityError, true})
	d.wantNode("c", StatusOffline, true, 2, 2)
	n := d.node("c")
	if n.LastHeardMs != 3500 {
		t.Errorf("c last heard %d ms ago; want 3500", n.LastHeardMs)
	}
	if n.Observers["a"].Opinion != "suspect" || n.Observers["b"].Opinion != "suspect" || len(n.Observers) != 2 {
		t.Errorf("observers of c = %+v; want a and b suspect", n.Observers)
	}
	conns := connections(d.s.e.View())
	for _, pair := range [][2]string{{"c", "a"}, {"c", "b"}, {"a", "c"}, {"b", "c"}} {
		if conns[pair].Status != "down" {
			t.Errorf("edge %s→%s = %+v; want down", pair[0], pair[1], conns[pair])
		}
	}

	// c comes back: this node hears it first; b's remaining suspicion is
	// one observer's opinion, so c is online at once; then b agrees.
	clock.Advance(500 * time.Millisecond)
	d.msg(heartbeatMsg("c", running, 0))
	d.wantEvents(transition{"c", StatusOffline, StatusOnline, SeverityInfo, true})
	d.wantNode("b", StatusOnline, true, 2, 2) // this node hears c: its report counts again
	d.msg(reportMsg("b", map[string]Opinion{"a": up, "c": up}))
	d.wantEvents()
	d.wantNode("c", StatusOnline, true, 2, 2)
	d.wantNode("b", StatusOnline, true, 2, 2) // c's report counts again

	// c leaves gracefully.
	d.msg(heartbeatMsg("c", pb.State_STATE_LEAVING, 0))
	d.wantEvents(transition{"c", StatusOnline, StatusLeft, SeverityInfo, true})
	d.wantNode("c", StatusLeft, true, 2, 2)
}

// TestEngineFastPath checks the disconnect fast path: a failed redial makes
// the member suspect at once, a heartbeat sent before the failure does not
// clear that, and a later one does.
func TestEngineFastPath(t *testing.T) {
	clock := newFakeClock(t0)
	d := newDriver(t, clock, "a", "b", "c")
	running := pb.State_STATE_RUNNING
	d.msg(heartbeatMsg("b", running, 0))
	d.msg(heartbeatMsg("c", running, 0))
	d.msg(reportMsg("b", map[string]Opinion{"a": up, "c": up}))
	d.msg(reportMsg("c", map[string]Opinion{"a": up, "b": up}))
	d.link("c", p2p.Link{Connected: true})
	d.newEvents()
	d.lastReport()

	clock.Advance(100 * time.Millisecond)
	d.link("c", p2p.Link{DialFailed: true})
	if r := d.lastReport(); r == nil || reportOpinions(r)["c"] != sus {
		t.Fatalf("after a failed redial, published %v; want c suspect", r)
	}
	// This node's word alone: c stays online, suspected by a.
	d.wantEvents()
	d.wantNode("c", StatusOnline, true, 1, 2)
	if c := connections(d.s.e.View())[[2]string{"a", "c"}]; c.Status != "down" {
		t.Errorf("edge a→c = %+v; want down", c)
	}
	// b's probe is refused too: offline at once.
	d.msg(reportMsg("b", map[string]Opinion{"a": up, "c": sus}))
	d.wantEvents(transition{"c", StatusOnline, StatusOffline, SeverityError, true})

	// A message arriving within the grace was in flight before the failure.
	clock.Advance(100 * time.Millisecond)
	d.msg(heartbeatMsg("c", running, 0))
	d.wantEvents()
	d.wantNode("c", StatusOffline, true, 2, 2)
	if r := d.lastReport(); r != nil && reportOpinions(r)["c"] != sus {
		t.Errorf("published %v within the grace; want c still suspect", r)
	}

	// One sent later (relayed by b's gossip) shows c is back.
	clock.Advance(time.Second)
	d.msg(heartbeatMsg("c", running, 0))
	d.msg(reportMsg("b", map[string]Opinion{"a": up, "c": up}))
	d.wantEvents(transition{"c", StatusOffline, StatusOnline, SeverityInfo, true})

	// A new connection clears the failure evidence.
	d.link("c", p2p.Link{Connected: true})
	if _, ok := d.s.downSince["c"]; ok {
		t.Error("downSince[c] kept after reconnecting")
	}

	// A failed dial to a member never heard from is no evidence.
	d2 := newDriver(t, newFakeClock(t0), "a", "b")
	d2.link("b", p2p.Link{DialFailed: true})
	if _, ok := d2.s.downSince["b"]; ok {
		t.Error("downSince set for a member never heard")
	}
	d2.wantNode("b", StatusUnknown, false, 0, 0)
}

func TestEngineMessages(t *testing.T) {
	clock := newFakeClock(t0)
	d := newDriver(t, clock, "a", "b", "c")

	// Age backdates the heartbeat.
	d.msg(heartbeatMsg("b", pb.State_STATE_RUNNING, 2*time.Second))
	if got := d.node("b").LastHeardMs; got != 2000 {
		t.Errorf("b last heard %d ms ago; want 2000", got)
	}
	// An older heartbeat (learnt through sync) does not move last heard back.
	d.msg(heartbeatMsg("b", pb.State_STATE_RUNNING, 10*time.Second))
	if got := d.s.lastHeard["b"]; !got.Equal(t0.Add(-2 * time.Second)) {
		t.Errorf("lastHeard[b] = %v; want %v", got, t0.Add(-2*time.Second))
	}
	// This node's own messages, as gossip delivers them back at the
	// positions it gave them, are ignored.
	own := heartbeatMsg("a", pb.State_STATE_LEAVING, 0)
	own.Env.Header = d.s.header(p2p.KindHeartbeat)
	d.msg(own)
	ownReport := reportMsg("a", map[string]Opinion{"b": sus})
	ownReport.Env.Header = d.s.header(p2p.KindReport)
	d.msg(ownReport)
	if d.s.boot != 7 || d.s.e.Refutes.Load() != 0 {
		t.Errorf("own messages moved the incarnation to %d (%d refutes); want 7, none", d.s.boot, d.s.e.Refutes.Load())
	}
	if _, ok := d.s.lastHeard["a"]; ok {
		t.Error("own heartbeat recorded")
	}
	if _, ok := d.s.reports["a"]; ok {
		t.Error("own report recorded")
	}
	d.wantNode("a", StatusOnline, false, 1, 1)
	// A new report replaces the observer's previous one entirely.
	d.msg(heartbeatMsg("c", pb.State_STATE_RUNNING, 0))
	d.msg(reportMsg("b", map[string]Opinion{"c": sus, "a": up}))
	d.wantNode("c", StatusOnline, true, 1, 2)
	if got := d.node("c").SuspectedBy; !slices.Equal(got, []string{"b"}) {
		t.Errorf("c suspected_by %q; want [b]", got)
	}
	d.msg(reportMsg("b", map[string]Opinion{"a": up}))
	d.wantNode("c", StatusOnline, false, 1, 1)
}

// recordingPublisher records what the engine publishes; it is safe for
// concurrent use.
type recordingPublisher struct {
	mu   sync.Mutex
	envs []*pb.Envelope
	err  error
}

func (p *recordingPublisher) Publish(ctx context.Context, env *pb.Envelope) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.envs = append(p.envs, env)
	return p.err
}

func (p *recordingPublisher) heartbeats(state pb.State) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, e := range p.envs {
		if hb := e.GetHeartbeat(); hb != nil && hb.GetState() == state {
			n++
		}
	}
	return n
}

// waitFor polls cond until it holds, failing the test after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	poll := time.NewTicker(time.Millisecond)
	defer poll.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		case <-poll.C:
		}
	}
}

// TestEngineRun runs the real loop: it publishes heartbeats, takes in
// messages from other goroutines, leaves gracefully and stops without
// leaking goroutines (TestMain checks).
func TestEngineRun(t *testing.T) {
	pub := &recordingPublisher{}
	e, events := testEngine(t, time.Now, pub, "a", "b")
	e.cfg.Heartbeat = 20 * time.Millisecond

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- e.Run(ctx) }()

	waitFor(t, "a heartbeat", func() bool { return e.HeartbeatsSent.Load() >= 1 })
	if pub.heartbeats(pb.State_STATE_RUNNING) == 0 {
		t.Error("no running heartbeat published")
	}

	e.HandleMessage(heartbeatMsg("b", pb.State_STATE_RUNNING, 0))
	waitFor(t, "b online in the view", func() bool { return e.View().Nodes["b"].Status == StatusOnline })
	waitFor(t, "a report", func() bool { return e.ReportsSent.Load() >= 1 })
	if got := events.List(func(ev Event) bool { return ev.Node == "b" && ev.To == StatusOnline }); len(got) != 1 {
		t.Errorf("events for b online = %+v; want one", got)
	}

	if err := e.Leave(ctx); err != nil {
		t.Fatalf("Leave = %v; want nil", err)
	}
	if pub.heartbeats(pb.State_STATE_LEAVING) != 1 {
		t.Error("Leave published no leaving heartbeat")
	}

	cancel()
	select {
	case err := <-runErr:
		if err != nil {
			t.Errorf("Run = %v; want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}

	// After Run: inputs are dropped without blocking, Leave reports the stop.
	for range 2000 { // more than the inbox holds
		e.HandleMessage(heartbeatMsg("b", pb.State_STATE_RUNNING, 0))
	}
	if err := e.Leave(context.Background()); !errors.Is(err, errStopped) {
		t.Errorf("Leave after Run = %v; want %v", err, errStopped)
	}
}

func TestEngineRunPublishErrors(t *testing.T) {
	pub := &recordingPublisher{err: errors.New("no peers")}
	e, _ := testEngine(t, time.Now, pub, "a", "b")
	e.cfg.Heartbeat = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- e.Run(ctx) }()
	waitFor(t, "a publish error", func() bool { return e.PublishErrors.Load() >= 1 })
	cancel()
	if err := <-runErr; err != nil {
		t.Errorf("Run = %v; want nil", err)
	}
	if got := e.HeartbeatsSent.Load(); got != 0 {
		t.Errorf("HeartbeatsSent = %d after only failed publishes; want 0", got)
	}
}

// TestEngineNotificationHooks covers what notification clusters need of the
// engine: clusters announced in every heartbeat (and replaced by
// SetClusters), peers' latest heartbeats exposed with the view, Delivered
// messages handed to OnDelivered and published with their own sequence.
func TestEngineNotificationHooks(t *testing.T) {
	pub := &recordingPublisher{}
	e, _ := testEngine(t, time.Now, pub, "a", "b")
	e.cfg.Heartbeat = 20 * time.Millisecond
	c1, c2 := []byte("cluster-one"), []byte("cluster-two")
	e.cfg.Clusters = [][]byte{c1}
	type delivered struct{ from, id string }
	got := make(chan delivered, 4)
	e.cfg.OnDelivered = func(from, id string) { got <- delivered{from, id} }

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- e.Run(ctx) }()

	hbClusters := func() [][]byte {
		pub.mu.Lock()
		defer pub.mu.Unlock()
		for i := len(pub.envs) - 1; i >= 0; i-- {
			if hb := pub.envs[i].GetHeartbeat(); hb != nil {
				return hb.GetClusters()
			}
		}
		return nil
	}
	waitFor(t, "a heartbeat announcing cluster one", func() bool {
		c := hbClusters()
		return len(c) == 1 && string(c[0]) == string(c1)
	})
	e.SetClusters([][]byte{c2})
	waitFor(t, "a heartbeat announcing cluster two", func() bool {
		c := hbClusters()
		return len(c) == 1 && string(c[0]) == string(c2)
	})

	hb := heartbeatMsg("b", pb.State_STATE_RUNNING, 0)
	hb.Env.GetHeartbeat().Clusters = [][]byte{c1}
	e.HandleMessage(hb)
	waitFor(t, "b's heartbeat exposed", func() bool {
		h := e.Heartbeats()["b"]
		return h != nil && len(h.GetClusters()) == 1 && string(h.GetClusters()[0]) == string(c1)
	})
	if _, ok := e.Heartbeats()["a"]; ok {
		t.Error("Heartbeats lists this node itself")
	}

	e.HandleMessage(p2p.Message{Env: &pb.Envelope{
		Header: &pb.Header{NetworkId: testNetwork, NodeId: "b", BootId: 42, Seq: 1},
		Body:   &pb.Envelope_Delivered{Delivered: &pb.Delivered{AlertId: "h:x"}},
	}})
	select {
	case d := <-got:
		if d != (delivered{"b", "h:x"}) {
			t.Errorf("OnDelivered(%q, %q); want (b, h:x)", d.from, d.id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OnDelivered not called")
	}

	e.PublishDelivered("h:1")
	e.PublishDelivered("h:2")
	waitFor(t, "two Delivered published", func() bool { return e.DeliveredSent.Load() == 2 })
	pub.mu.Lock()
	var seqs []uint64
	var ids []string
	for _, env := range pub.envs {
		if d := env.GetDelivered(); d != nil {
			seqs = append(seqs, env.GetHeader().GetSeq())
			ids = append(ids, d.GetAlertId())
		}
	}
	pub.mu.Unlock()
	if !slices.Equal(seqs, []uint64{1, 2}) || !slices.Equal(ids, []string{"h:1", "h:2"}) {
		t.Errorf("Delivered published with seqs %v ids %v; want [1 2] [h:1 h:2]", seqs, ids)
	}

	cancel()
	if err := <-runErr; err != nil {
		t.Errorf("Run = %v; want nil", err)
	}
}

// TestEngineStaleLink: a link whose pings go unanswered is reported as not
// connected (its edge goes down, its RTT is dropped) while heartbeats that
// arrive by other paths keep the member reachable; answered pings bring the
// edge back.
func TestEngineStaleLink(t *testing.T) {
	clock := newFakeClock(t0)
	d := newDriver(t, clock, "a", "b", "c")
	running := pb.State_STATE_RUNNING
	d.msg(heartbeatMsg("b", running, 0))
	d.msg(heartbeatMsg("c", running, 0))
	d.link("c", p2p.Link{Connected: true})
	d.step(func(s *engineState) { s.rtt["c"] = 3 * time.Millisecond })
	d.lastReport()

	d.link("c", p2p.Link{Connected: true, Stale: true})
	d.paced(clock)
	r := d.lastReport()
	var obs *pb.PeerObservation
	for _, o := range r.GetPeers() {
		if o.GetNodeId() == "c" {
			obs = o
		}
	}
	if obs == nil || obs.GetConnected() || obs.GetRttUs() != 0 || Opinion(obs.GetReachability()) != up {
		t.Fatalf("a's observation of c with a stale link = %v; want reachable, not connected, no RTT", obs)
	}
	if c := connections(d.s.e.View())[[2]string{"a", "c"}]; c.Status != "down" {
		t.Errorf("edge a→c = %+v; want down while the link is stale", c)
	}
	d.link("c", p2p.Link{Connected: true})
	if c := connections(d.s.e.View())[[2]string{"a", "c"}]; c.Status != "up" {
		t.Errorf("edge a→c = %+v; want up once pings are answered", c)
	}
}

// TestEngineKeepsNewestMessages: gossip and sync deliver concurrently, so a
// member's older report or heartbeat can arrive after its newer one; it must
// not replace it. A new boot is newer whatever its seq.
func TestEngineKeepsNewestMessages(t *testing.T) {
	clock := newFakeClock(time.Unix(1_800_000_000, 0))
	d := newDriver(t, clock, "a", "b", "c")
	older := reportMsg("b", map[string]Opinion{"c": OpinionSuspect})
	newer := reportMsg("b", map[string]Opinion{"c": OpinionReachable})
	d.msg(newer)
	d.msg(older)
	d.step(func(s *engineState) {
		if got := Opinion(s.reports["b"]["c"].GetReachability()); got != OpinionReachable {
			t.Errorf("b's report on c = %v after an older one arrived late; want reachable", got)
		}
	})
	hbNew := heartbeatMsg("b", pb.State_STATE_LEAVING, 0)
	hbOld := heartbeatMsg("b", pb.State_STATE_RUNNING, 0)
	hbOld.Env.Header.Seq = hbNew.Env.Header.Seq - 1
	d.msg(hbNew)
	d.msg(hbOld)
	d.step(func(s *engineState) {
		if !s.leaving["b"] {
			t.Error("an older running heartbeat undid b's newer leaving one")
		}
	})
	reboot := heartbeatMsg("b", pb.State_STATE_RUNNING, 0)
	reboot.Env.Header.BootId, reboot.Env.Header.Seq = 43, 1
	d.msg(reboot)
	d.step(func(s *engineState) {
		if s.leaving["b"] {
			t.Error("b's heartbeat from a new boot was not taken")
		}
	})
}

// TestEngineWarnsOnTimingMismatch: a member announcing another timing than
// this node's raises one warning event per change, none when they agree.
func TestEngineWarnsOnTimingMismatch(t *testing.T) {
	clock := newFakeClock(time.Unix(1_800_000_000, 0))
	d := newDriver(t, clock, "a", "b", "c")
	own := uint32(testSuspectAfter.Milliseconds())
	hb := func(node string, heartbeatMS, suspectMS uint32) p2p.Message {
		m := heartbeatMsg(node, pb.State_STATE_RUNNING, 0)
		m.Env.GetHeartbeat().HeartbeatMs, m.Env.GetHeartbeat().SuspectAfterMs = heartbeatMS, suspectMS
		return m
	}
	warnings := func() []Event {
		return d.events.List(func(e Event) bool { return e.Kind == "config" && e.Severity == SeverityWarning })
	}
	d.msg(hb("b", 1000, own)) // the same timing
	d.msg(hb("c", 0, 0))      // an older node that does not say
	if w := warnings(); len(w) != 0 {
		t.Fatalf("warnings = %v; want none while timings agree", w)
	}
	d.msg(hb("b", 2000, 6000))
	d.msg(hb("b", 2000, 6000)) // the same again: no second warning
	w := warnings()
	if len(w) != 1 || w[0].Node != "b" || !strings.Contains(w[0].Message, "heartbeat 2s, suspect_after 6s") {
		t.Fatalf("warnings = %+v; want one about b's 2s/6s", w)
	}
	d.msg(hb("b", 3000, 9000))
	if got := len(warnings()); got != 2 {
		t.Fatalf("warnings after b changed again = %d; want 2", got)
	}
}

// TestEvaluateSoon: an evaluation brought forward by an input (Run's soon)
// turns the verdict at once, but leaves the publication of this node's
// good news to the tick, so members heard in a burst make one report.
func TestEvaluateSoon(t *testing.T) {
	clock := newFakeClock(t0)
	d := newDriver(t, clock, "a", "b", "c", "d")
	running := pb.State_STATE_RUNNING
	for _, m := range []string{"b", "c"} {
		d.ping(m, time.Millisecond)
		d.msg(reportMsg(m, map[string]Opinion{"a": up, "b": up, "c": up}))
	}
	d.lastReport()

	// Good news between ticks: d is heard for the first time.
	d.soon(func(s *engineState) { s.onMessage(heartbeatMsg("d", running, 0), clock.Now()) })
	if r := d.lastReport(); r != nil {
		t.Fatalf("published %v between ticks for a member first heard; want it left to the tick", r)
	}
	d.s.evaluate()
	if r := d.lastReport(); r == nil || reportOpinions(r)["d"] != up {
		t.Fatalf("the tick published %v; want d reachable", r)
	}
	d.newEvents()

	// c hangs: this node suspects it at a tick; b's report that it does
	// too turns c offline in the evaluation brought forward.
	clock.Advance(2 * time.Second)
	d.ping("b", time.Millisecond)
	d.msg(heartbeatMsg("d", running, 0))
	clock.Advance(1500 * time.Millisecond)
	d.s.evaluate()
	d.newEvents()
	d.soon(func(s *engineState) {
		s.onMessage(reportMsg("b", map[string]Opinion{"a": up, "c": sus, "d": up}), clock.Now())
	})
	d.wantEvents(transition{"c", StatusOnline, StatusOffline, SeverityError, true})
}

// TestSoonWait: an input's evaluation waits at least minSoonGap, and ten
// times the last evaluation's cost, after the last evaluation ended.
func TestSoonWait(t *testing.T) {
	last := time.Unix(1_800_000_000, 0)
	for _, c := range []struct {
		name  string
		since time.Duration
		cost  time.Duration
		want  time.Duration
	}{
		{"right after a cheap one", 0, 50 * time.Microsecond, minSoonGap},
		{"a while after", time.Second, 50 * time.Microsecond, 0},
		{"part of the gap gone", 4 * time.Millisecond, time.Microsecond, minSoonGap - 4*time.Millisecond},
		{"a costly evaluation", 5 * time.Millisecond, 3 * time.Millisecond, 25 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := soonWait(last, last.Add(c.since), c.cost); got != c.want {
				t.Errorf("soonWait = %v; want %v", got, c.want)
			}
		})
	}
}

// TestEvaluateSeesAPauseBeforeItJudges: an evaluation whose clock shows the
// process did not run for a while (stopped between the loop's check and the
// evaluation, as a throttled cgroup does) counts the pause first, so it
// withdraws silence-based suspicions rather than publish them.
func TestEvaluateSeesAPauseBeforeItJudges(t *testing.T) {
	clock := newFakeClock(t0)
	d := newDriver(t, clock, "a", "b", "c")
	d.ping("b", time.Millisecond)
	d.ping("c", time.Millisecond)
	d.msg(reportMsg("b", map[string]Opinion{"a": up, "c": up}))
	d.lastReport()
	d.newEvents()
	d.s.lastTick = clock.Now()

	clock.Advance(11 * time.Second) // no tick ran: the process was stopped
	d.link("b", p2p.Link{Connected: true})
	if r := d.lastReport(); r != nil && slices.ContainsFunc(r.Peers, func(o *pb.PeerObservation) bool {
		return o.GetReachability() == pb.Reachability_REACHABILITY_SUSPECT
	}) {
		t.Errorf("published %v after a stop; want no suspicion", r)
	}
	d.wantEvents()
	if got := d.s.e.Pauses.Load(); got != 1 {
		t.Errorf("Pauses = %d; want the stop counted once", got)
	}
}
