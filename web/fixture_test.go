package web

import (
	"crypto/ed25519"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/protobuf/proto"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/history"
	"github.com/meshmon/meshmon/monitor"
	"github.com/meshmon/meshmon/p2p"
	"github.com/meshmon/meshmon/p2p/pb"
)

// t0 is the fixtures' wall clock.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// fixture is a node's worth of fake Deps built from real health types.
type fixture struct {
	hist   *history.Recorder
	events *health.EventLog
	view   *health.View
	raw    map[string][]RawMessage
}

// newFixture builds a view of two networks: "prod" (hand-made, every
// status, every optional field) and "solo" (a real health.Engine's first
// view of a one-member network), and an event log with events of both.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	clock := t0
	now := func() time.Time { clock = clock.Add(time.Second); return clock }
	events := health.NewEventLog(1000, now)

	synced := t0.Add(-30 * time.Second)
	prod := &health.NetworkView{
		NetworkID: "prod", Self: "server-01", UpdatedAt: t0.Add(500 * time.Millisecond),
		Nodes: map[string]*health.NodeView{
			"server-01": {NodeID: "server-01", Status: health.StatusOnline, Confirmed: true, AgreedBy: 3, LiveObservers: 3,
				Version: "v0.3.0", PeerID: "12D3KooWLk4RwGp6V2Hb3aZ6b5pyDMa7EJRo6Yb1oKbKB5qS2pEq",
				URL: "https://server-01.example.com:8000", BootID: 1748779100000,
				Observers: map[string]health.ObserverView{
					"server-01": {Opinion: "reachable"},
					"server-02": {Opinion: "reachable", RTTMs: 1.84, Connected: true},
					"server-03": {Opinion: "reachable", RTTMs: 40.2, Connected: true, Relayed: true},
				}},
			"server-02": {NodeID: "server-02", Status: health.StatusDegraded, Confirmed: true, AgreedBy: 1, LiveObservers: 2,
				Version: "v0.3.0", PeerID: "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo", LastHeardMs: 412,
				BootID: 1748779200000,
				Observers: map[string]health.ObserverView{
					"server-01": {Opinion: "reachable", RTTMs: 1.79, Connected: true},
					"server-03": {Opinion: "suspect"},
				},
				IdentityClash: &health.IdentityClash{BootIDs: []uint64{1748779200000, 1748779100001},
					Addrs: []string{"/ip4/192.0.2.7/tcp/4001", "/ip4/198.51.100.9/tcp/4001"},
					Since: t0.Add(-time.Minute), LastSeen: t0}},
			"server-03": {NodeID: "server-03", Status: health.StatusOffline, Confirmed: true, AgreedBy: 2, LiveObservers: 2,
				LastHeardMs: 9120, Observers: map[string]health.ObserverView{
					"server-01": {Opinion: "suspect"}, "server-02": {Opinion: "suspect"},
				}},
			"server-04": {NodeID: "server-04", Status: health.StatusUnknown, KeyMissing: "no pubkeys/server-04.pub",
				LastHeardMs: -1, Observers: map[string]health.ObserverView{}},
			"server-05": {NodeID: "server-05", Status: health.StatusLeft, LastHeardMs: 60000,
				Observers: map[string]health.ObserverView{"server-01": {Opinion: "none"}}},
		},
		Connections: []health.Connection{
			{Src: "server-01", Dst: "server-02", RTTMs: 1.84, Status: "up"},
			{Src: "server-02", Dst: "server-01", RTTMs: 1.79, Status: "up"},
			{Src: "server-01", Dst: "server-03", Status: "down"},
			{Src: "server-03", Dst: "server-01", RTTMs: 40.2, Status: "up", Relayed: true},
			{Src: "server-01", Dst: "server-04", Status: "unknown"},
		},
		Config: &health.ConfigSource{Type: "git", Directory: "prod", Commit: "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
			Ref: "refs/heads/main", SyncedAt: &synced, LastError: "fetch: connection refused",
			HeartbeatMS: 1000, SuspectAfterMS: 3000},
	}
	solo := health.NewEngine(health.EngineConfig{
		NetworkID: "solo", Self: "lonely", Members: []health.Member{{NodeID: "lonely", PeerID: "12D3KooWLk4RwGp6V2Hb3aZ6b5pyDMa7EJRo6Yb1oKbKB5qS2pEq"}},
		Heartbeat: time.Second, SuspectAfter: 3 * time.Second, Version: "dev", Incarnation: func(uint64) uint64 { return 1 },
		Now: func() time.Time { return t0 }, Events: events,
	}, nil).View()

	for i := range 30 {
		e := health.Event{Network: "prod", Node: "server-03", Kind: "status", Severity: health.SeverityError,
			Message: "server-03 is offline", From: health.StatusOnline, To: health.StatusOffline, Confirmed: true}
		if i%3 == 1 {
			e = health.Event{Network: "solo", Kind: "config", Severity: health.SeverityWarning, Message: "url is a placeholder"}
		}
		if i%3 == 2 {
			e = health.Event{Kind: "config", Severity: health.SeverityInfo, Message: "config reloaded"}
		}
		events.Add(e)
	}

	return &fixture{
		hist:   newHistoryFixture(t),
		events: events,
		view:   &health.View{Networks: map[string]*health.NetworkView{"prod": prod, "solo": solo}},
		raw: map[string][]RawMessage{
			"prod": {signedRaw(t, "server-02", 7, heartbeatBody()), signedRaw(t, "server-01", 3, reportBody()),
				signedRaw(t, "server-03", 9, monitorsBody())},
			"solo": {},
		},
	}
}

func heartbeatBody() *pb.Envelope {
	return &pb.Envelope{Body: &pb.Envelope_Heartbeat{Heartbeat: &pb.Heartbeat{State: pb.State_STATE_RUNNING, Version: "v0.3.0"}}}
}

func reportBody() *pb.Envelope {
	return &pb.Envelope{Body: &pb.Envelope_Report{Report: &pb.Report{Peers: []*pb.PeerObservation{
		{NodeId: "server-02", Reachability: pb.Reachability_REACHABILITY_REACHABLE, RttUs: 1840, Connected: true},
	}}}}
}

func monitorsBody() *pb.Envelope {
	return &pb.Envelope{Body: &pb.Envelope_Monitors{Monitors: &pb.MonitorReport{Results: []*pb.MonitorResult{
		{Name: "shop", ConfigHash: 0x9f2c4e01, State: pb.MonitorState_MONITOR_STATE_DOWN, LatencyUs: 5000000,
			Reason: "HTTP 503", AgeMs: 1200, SinceMs: 1200000},
	}}}}
}

// signedRaw signs env as pubsub's StrictSign does, with a key derived from
// node, and decodes it as the node would serve it.
func signedRaw(t testing.TB, node string, seq uint64, env *pb.Envelope) RawMessage {
	t.Helper()
	b := signedMessage(t, node, seq, env)
	m, err := DecodeRaw(b, t0.Add(time.Duration(seq)*time.Second))
	if err != nil {
		t.Fatalf("DecodeRaw: %v", err)
	}
	return m
}

func signedMessage(t testing.TB, node string, seq uint64, env *pb.Envelope) []byte {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, node)
	priv, err := p2p.PrivKey(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	env.Header = &pb.Header{NetworkId: "prod", NodeId: node, BootId: 1748779200000, Seq: seq, SentUnixMs: t0.UnixMilli()}
	data, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := p2p.PeerIDFromPublicKey(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	topic := p2p.TopicName("prod")
	msg := &pubsubpb.Message{From: []byte(pid), Data: data, Seqno: []byte{0, 0, 0, 0, 0, 0, 0, byte(seq)}, Topic: &topic}
	unsigned, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	msg.Signature, err = priv.Sign(append([]byte(pubsub.SignPrefix), unsigned...))
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// full returns Deps with every optional function set.
func (f *fixture) full() Deps {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "meshmon_test_gauge", Help: "A test gauge."}))
	return Deps{
		Version: "v0.3.0",
		P2P: func() p2p.P2PInfo {
			return p2p.P2PInfo{PeerID: "12D3KooWLk4RwGp6V2Hb3aZ6b5pyDMa7EJRo6Yb1oKbKB5qS2pEq",
				Addrs:     []string{"/ip4/127.0.0.1/tcp/4001", "/ip4/127.0.0.1/udp/4001/quic-v1"},
				Bandwidth: &p2p.Bandwidth{TotalIn: 10, TotalOut: 20, GossipIn: 5, GossipOut: 6, GossipRateIn: 1.5, GossipRateOut: 2.5}}
		},
		View:    func() *health.View { return f.view },
		Events:  f.events,
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		NotificationClusters: func() []NotificationCluster {
			return []NotificationCluster{
				{Network: "solo", Webhook: "lab", Type: "json", Hash: "00aa", Waiting: true,
					Members: []NotificationClusterMember{{NodeID: "lonely", PeerID: "12D3KooWLk4RwGp6V2Hb3aZ6b5pyDMa7EJRo6Yb1oKbKB5qS2pEq", State: "WAITING_FOR_CONSENSUS"}}},
				{Network: "prod", Webhook: "ops", Type: "discord", Hash: "9f2c4e01b7a3d865", Leader: "server-01",
					Members: []NotificationClusterMember{
						{NodeID: "server-01", PeerID: "12D3KooWLk4RwGp6V2Hb3aZ6b5pyDMa7EJRo6Yb1oKbKB5qS2pEq", State: "LEADER"},
						{NodeID: "server-02", PeerID: "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo", State: "FOLLOWER"},
						{NodeID: "server-03", State: "OFFLINE"},
						{NodeID: "server-04", State: "NOT_PARTICIPATING"},
					}},
			}
		},
		Raw: func(network string) ([]RawMessage, bool) {
			m, ok := f.raw[network]
			return m, ok
		},
		StreamInterval: 20 * time.Millisecond,
		History:        f.hist,
		StatusPage:     true,
		Now:            func() time.Time { return t0.Add(time.Hour) },
		Monitors:       func() []*monitor.Snapshot { return fixtureMonitors() },
	}
}

// fixtureMonitors are the monitors of prod (every verdict, every vantage
// state, a vantage without a result and one not live) and solo (none).
func fixtureMonitors() []*monitor.Snapshot {
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	up := func(node string, ms float64) monitor.Vantage {
		return monitor.Vantage{Node: node, Live: true, Has: true, State: monitor.StateUp,
			Latency: time.Duration(ms * float64(time.Millisecond)), At: at(59 * time.Minute), Since: at(-time.Hour)}
	}
	down := func(node, reason string) monitor.Vantage {
		return monitor.Vantage{Node: node, Live: true, Has: true, State: monitor.StateDown, Latency: 5 * time.Second,
			Reason: reason, At: at(59 * time.Minute), Since: at(40 * time.Minute)}
	}
	warn := monitor.Vantage{Node: "server-02", Live: true, Has: true, State: monitor.StateWarn, Latency: 30 * time.Millisecond,
		Reason: "certificate expires in 5 days", At: at(59 * time.Minute), Since: at(-time.Hour)}
	view := func(name, typ, target, group string, vs ...monitor.Vantage) monitor.View {
		v := monitor.View{Name: name, Type: typ, Target: target, Group: group, Interval: time.Minute, Vantages: vs}
		v.Verdict = monitor.Agree(vs)
		v.Since = at(40 * time.Minute)
		return v
	}
	return []*monitor.Snapshot{
		{Network: "prod", UpdatedAt: at(59 * time.Minute), Monitors: []monitor.View{
			view("shop", "https", "https://shop.example.com/health", "web",
				up("server-01", 182.4), up("server-02", 201.7), down("server-03", "HTTP 503")),
			view("db", "tcp", "db.internal:5432", "backend",
				down("server-01", "connection refused"), down("server-02", "connection refused"),
				monitor.Vantage{Node: "server-04"}),
			view("cert", "tls", "shop.example.com:443", "web", up("server-01", 25), warn),
			view("status page", "http", "http://status.example.com/", "web", up("server-01", 12), up("server-02", 14)),
			view("new", "dns", "example.com", "default", monitor.Vantage{Node: "server-01", Live: true}),
		}},
		{Network: "solo", UpdatedAt: at(59 * time.Minute), Monitors: []monitor.View{}},
	}
}

// newHistoryFixture is a real history store (in a temp dir) holding two
// sessions of this node, an hour apart from a day before: server-01 online,
// server-03 offline since t0+30m, links up and down, RTT rollups and
// alerts. Its recorder does not run: the store is read as a stopped node
// left it.
func newHistoryFixture(t testing.TB) *history.Recorder {
	t.Helper()
	store, _, err := history.Open(t.TempDir(), t0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	node := func(n string) history.Subject { return history.NodeSubject("prod", n) }
	link := func(a, b string) history.Subject { return history.LinkSubject("prod", a, b) }
	change := func(sub history.Subject, session uint64, d time.Duration, from, to string) history.Change {
		return history.Change{Subject: sub, Session: session, Time: at(d), From: from, To: to, AgreedBy: 2, LiveObservers: 2, Confirmed: true}
	}
	b := &history.Batch{
		Sessions: []history.Session{{ID: 1, Start: at(-48 * time.Hour), End: at(-47 * time.Hour)},
			{ID: 2, Start: at(-2 * time.Hour), End: at(time.Hour)}},
		Changes: []history.Change{
			change(node("server-01"), 1, -48*time.Hour, "unknown", "online"),
			change(node("server-01"), 2, -2*time.Hour, "online", "online"),
			change(node("server-03"), 2, -2*time.Hour, "unknown", "online"),
			change(node("server-03"), 2, 30*time.Minute, "online", "offline"),
			change(link("server-01", "server-03"), 2, -2*time.Hour, "", "up"),
			change(link("server-01", "server-03"), 2, 30*time.Minute, "up", "down"),
			change(link("server-01", "server-02"), 2, -2*time.Hour, "", "up"),
		},
		Alerts: []history.Alert{
			{Time: at(30 * time.Minute), Network: "prod", Node: "server-03", Outcome: history.AlertSent, Reason: "delivered to ops"},
			{Time: at(20 * time.Minute), Network: "prod", Node: "server-02", Outcome: history.AlertSuppressed, Reason: "degraded is not alerted"},
		},
	}
	for i := range 3 {
		start := at(time.Duration(10+i) * time.Minute)
		b.Minutes = append(b.Minutes,
			history.RTTSample{Subject: link("server-01", "server-02"), Rollup: history.Rollup{Start: start, Min: 1.5, Mean: 1.8, Max: 2.4, Count: 60}},
			history.RTTSample{Subject: node("server-02"), Rollup: history.Rollup{Start: start, Min: 1.7, Mean: 1.8, Max: 1.9, Count: 60}},
			// A link this node does not ping: hours only.
			history.RTTSample{Subject: link("server-02", "server-01"), Rollup: history.Rollup{Start: start, Min: 1.5, Mean: 2, Max: 2.5, Count: 60}, HourOnly: true})
	}
	// Monitor shop: up from the second session's start, down at t0+35m
	// (server-01 and server-03 failing), degraded at t0+40m; latency of
	// two vantage points at t0+10m…12m.
	mc := func(d time.Duration, from, to string, failing ...string) history.MonitorChange {
		return history.MonitorChange{Network: "prod", Monitor: "shop", Session: 2, Time: at(d), From: from, To: to,
			Live: 3, Failing: failing}
	}
	b.Monitors = []history.MonitorChange{
		mc(-2*time.Hour, "unknown", "up"),
		mc(35*time.Minute, "up", "down", "server-01", "server-03"),
		mc(40*time.Minute, "down", "degraded", "server-03"),
	}
	for i := range 3 {
		start := at(time.Duration(10+i) * time.Minute)
		for j, node := range []string{"server-01", "server-02"} {
			ms := float64(180 + 20*j + i)
			b.Minutes = append(b.Minutes, history.RTTSample{Subject: history.VantageSubject("prod", "shop", node),
				Rollup: history.Rollup{Start: start, Min: ms - 5, Mean: ms, Max: ms + 5, Count: 1}})
		}
	}
	if err := store.Write(b); err != nil {
		t.Fatal(err)
	}
	return history.NewRecorder(history.RecorderConfig{Store: store})
}

// minimal returns Deps with only the required fields.
func (f *fixture) minimal() Deps {
	d := f.full()
	return Deps{Version: "", P2P: func() p2p.P2PInfo { return p2p.P2PInfo{PeerID: "12D3KooWLk4RwGp6V2Hb3aZ6b5pyDMa7EJRo6Yb1oKbKB5qS2pEq"} },
		View: d.View, Events: d.Events, StreamInterval: d.StreamInterval}
}

// serve starts an httptest server over NewServer(d).
func serve(t *testing.T, d Deps) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(NewServer(d))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v[0])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp
}
