package metrics_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/metrics"
	"github.com/meshmon/meshmon/monitor"
	"github.com/meshmon/meshmon/p2p"
)

// fakeView builds a two-network view with every status the model knows.
func fakeView() *health.View {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	obs := func(op string, rtt float64) health.ObserverView {
		return health.ObserverView{Opinion: op, RTTMs: rtt, Connected: rtt > 0}
	}
	return &health.View{Networks: map[string]*health.NetworkView{
		"prod": {
			NetworkID: "prod", Self: "a", UpdatedAt: now,
			Nodes: map[string]*health.NodeView{
				"a": {NodeID: "a", Status: health.StatusOnline, Confirmed: true, AgreedBy: 3, LiveObservers: 3,
					Version: "v1", PeerID: "12D3KooWA", Observers: map[string]health.ObserverView{"a": obs("reachable", 0)}},
				"b": {NodeID: "b", Status: health.StatusOffline, Confirmed: true, AgreedBy: 2, LiveObservers: 2,
					Observers: map[string]health.ObserverView{"a": obs("suspect", 0), "c": obs("suspect", 0)}},
				"c": {NodeID: "c", Status: health.StatusDegraded, Confirmed: true, AgreedBy: 1, LiveObservers: 2,
					Observers: map[string]health.ObserverView{"a": obs("reachable", 1.5)}},
				"d": {NodeID: "d", Status: health.StatusUnknown, KeyMissing: "no public key", LastHeardMs: -1},
			},
			Connections: []health.Connection{
				{Src: "a", Dst: "c", RTTMs: 1.5, Status: "up"},
				{Src: "c", Dst: "a", RTTMs: 2, Status: "up", Relayed: true},
				{Src: "a", Dst: "b", Status: "down"},
				{Src: "a", Dst: "d", Status: "unknown"},
			},
		},
		"lab": {
			NetworkID: "lab", Self: "x", UpdatedAt: now,
			Nodes: map[string]*health.NodeView{
				"x": {NodeID: "x", Status: health.StatusOnline, LiveObservers: 1},
				"y": {NodeID: "y", Status: health.StatusLeft},
			},
		},
	}}
}

// snapshots is a swappable set of snapshots, as a node would serve.
type snapshots struct {
	mu       sync.Mutex
	view     *health.View
	traffic  []metrics.Traffic
	monitors []*monitor.Snapshot
}

func (s *snapshots) Monitors() []*monitor.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.monitors
}

func (s *snapshots) View() *health.View {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.view
}

func (s *snapshots) Traffic() []metrics.Traffic {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.traffic
}

func newSources(t *testing.T) (*snapshots, metrics.Sources) {
	t.Helper()
	snap := &snapshots{
		view:     fakeView(),
		monitors: fakeMonitors(),
		traffic: []metrics.Traffic{
			{Network: "prod",
				Sent:          map[p2p.Kind]uint64{p2p.KindHeartbeat: 10, p2p.KindReport: 2},
				Received:      map[p2p.Kind]uint64{p2p.KindHeartbeat: 30, p2p.KindReport: 6, p2p.KindDelivered: 1},
				Rejected:      map[p2p.RejectReason]uint64{p2p.RejectNotMember: 4, p2p.RejectStale: 1},
				MemberClashes: map[string]uint64{"b": 2, "c": 0}, StrandedPushes: 3, StrandedPushFailures: 1, SyncFailures: 2, DialFailures: 5},
			{Network: "lab"},
		},
	}
	hist := metrics.NewDurationHistogram(nil)
	hist.Observe(300 * time.Millisecond)
	hist.Observe(4 * time.Second)
	return snap, metrics.Sources{
		View:    snap.View,
		Traffic: snap.Traffic,
		Reload: func() metrics.Reload {
			return metrics.Reload{Successful: false, LastSuccess: time.Unix(1700000000, 500e6)}
		},
		Alerts: func() []metrics.AlertDeliveries {
			return []metrics.AlertDeliveries{{Network: "prod",
				Outcomes:     map[string]uint64{metrics.OutcomeDelivered: 2, metrics.OutcomeFailed: 1},
				Latency:      hist.Snapshot(),
				Suppressed:   map[string]uint64{"late": 3, "single_observer": 0},
				MarksIgnored: map[string]uint64{"not_sender": 5}}}
		},
		Leaders: func() []metrics.ClusterLeader {
			return []metrics.ClusterLeader{
				{Network: "prod", Cluster: "0123456789abcdef", Leader: "a", Members: []string{"a", "c"}},
				{Network: "lab", Cluster: "fedcba9876543210", Members: []string{"x"}},
			}
		},
		History: func() metrics.History {
			return metrics.History{OK: false, Records: 7, WriteErrors: 3, Dropped: 1, OpenRetries: 4, SizeBytes: 32768}
		},
		Monitors: snap.Monitors,
		MonitorCounters: func() []metrics.MonitorCounters {
			return []metrics.MonitorCounters{{Network: "prod", Mismatched: 2, Unknown: 1}}
		},
		MonitorProbes: fakeProbes(),
		Version:       "v1.2.3",
		Commit:        "abc1234",
	}
}

func newRegistry(t *testing.T, src metrics.Sources) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	if err := metrics.Register(reg, src); err != nil {
		t.Fatalf("Register: %v", err)
	}
	return reg
}

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: status %d: %s", resp.StatusCode, b)
	}
	return string(b)
}

// promtool returns the path of promtool; CI installs it (Debian's
// prometheus package), so a missing promtool fails the test.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found: install Debian's prometheus package (apt-get install prometheus); .ci/run does")
	}
	return p
}

func checkMetrics(t *testing.T, exposition string) {
	t.Helper()
	cmd := exec.Command(promtool(t), "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestScrapeIsCleanForPromtool(t *testing.T) {
	_, src := newSources(t)
	reg := newRegistry(t, src)
	body := scrape(t, metrics.Handler(reg))
	checkMetrics(t, body)
	for _, want := range []string{
		"go_goroutines ",
		"process_cpu_seconds_total ",
		`meshmon_build_info{commit="abc1234",goversion="go`,
		`meshmon_node_status{network="prod",node="b",status="offline"} 1`,
		`meshmon_node_status{network="prod",node="b",status="online"} 0`,
		`meshmon_node_status{network="lab",node="y",status="left"} 1`,
		`meshmon_node_confirmed{network="prod",node="c"} 1`,
		`meshmon_node_confirmed{network="lab",node="x"} 0`,
		`meshmon_peer_rtt_seconds{network="prod",node="a",peer="c"} 0.0015`,
		`meshmon_peer_rtt_seconds{network="prod",node="c",peer="a"} 0.002`,
		`meshmon_members{network="prod"} 4`,
		`meshmon_members_missing_key{network="prod"} 1`,
		`meshmon_members_missing_key{network="lab"} 0`,
		`meshmon_live_observers{network="prod"} 3`,
		`meshmon_live_observers{network="lab"} 1`,
		`meshmon_messages_sent_total{kind="heartbeat",network="prod"} 10`,
		`meshmon_messages_sent_total{kind="delivered",network="lab"} 0`,
		`meshmon_messages_received_total{kind="report",network="prod"} 6`,
		`meshmon_messages_rejected_total{network="prod",reason="not_member"} 4`,
		`meshmon_messages_rejected_total{network="lab",reason="bad_signature"} 0`,
		`meshmon_member_identity_clashes_total{network="prod",node="b"} 2`,
		`meshmon_member_identity_clashes_total{network="prod",node="c"} 0`,
		`meshmon_sync_pushes_total{network="prod"} 3`,
		`meshmon_sync_pushes_total{network="lab"} 0`,
		`meshmon_sync_push_failures_total{network="prod"} 1`,
		`meshmon_sync_push_failures_total{network="lab"} 0`,
		`meshmon_sync_failures_total{network="prod"} 2`,
		`meshmon_sync_failures_total{network="lab"} 0`,
		`meshmon_dial_failures_total{network="prod"} 5`,
		`meshmon_dial_failures_total{network="lab"} 0`,
		"meshmon_config_last_reload_successful 0",
		"meshmon_config_last_reload_success_timestamp_seconds 1.7000000005e+09",
		`meshmon_alerts_sent_total{network="prod",outcome="delivered"} 2`,
		`meshmon_alerts_sent_total{network="prod",outcome="dropped"} 0`,
		`meshmon_alerts_suppressed_total{network="prod",reason="late"} 3`,
		`meshmon_alerts_suppressed_total{network="prod",reason="single_observer"} 0`,
		`meshmon_alert_marks_ignored_total{network="prod",reason="not_sender"} 5`,
		`meshmon_alert_delivery_seconds_bucket{network="prod",le="0.5"} 1`,
		`meshmon_alert_delivery_seconds_bucket{network="prod",le="5"} 2`,
		`meshmon_alert_delivery_seconds_count{network="prod"} 2`,
		`meshmon_notification_leader{cluster="0123456789abcdef",network="prod",node="a"} 1`,
		`meshmon_notification_leader{cluster="0123456789abcdef",network="prod",node="c"} 0`,
		`meshmon_notification_leader{cluster="fedcba9876543210",network="lab",node="x"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	for _, absent := range []string{
		`peer="b"`, // a down edge has no RTT
		`peer="d"`, // nor an unknown one
	} {
		if strings.Contains(body, absent) {
			t.Errorf("scrape has %q; want it absent", absent)
		}
	}
}

// TestRemovedLabelSetsDisappear: a member or network missing from the next
// snapshot has no series in the next scrape, and counters follow the source.
func TestRemovedLabelSetsDisappear(t *testing.T) {
	snap, src := newSources(t)
	reg := newRegistry(t, src)
	h := metrics.Handler(reg)
	before := scrape(t, h)
	if !strings.Contains(before, `network="lab"`) || !strings.Contains(before, `node="d"`) {
		t.Fatalf("first scrape lacks the lab network or member d:\n%s", before)
	}

	v := fakeView()
	delete(v.Networks, "lab")
	delete(v.Networks["prod"].Nodes, "d")
	v.Networks["prod"].Nodes["b"].Status = health.StatusOnline
	snap.mu.Lock()
	snap.view = v
	snap.traffic = []metrics.Traffic{{Network: "prod",
		Rejected: map[p2p.RejectReason]uint64{p2p.RejectNotMember: 9}}}
	snap.mu.Unlock()

	after := scrape(t, h)
	for _, gone := range []string{`meshmon_node_status{network="prod",node="d"`, `meshmon_members{network="lab"}`,
		`meshmon_messages_sent_total{kind="heartbeat",network="lab"}`, `meshmon_node_status{network="lab"`} {
		if strings.Contains(after, gone) {
			t.Errorf("scrape after removal still has %q", gone)
		}
	}
	for _, want := range []string{
		`meshmon_node_status{network="prod",node="b",status="online"} 1`,
		`meshmon_members{network="prod"} 3`,
		`meshmon_messages_rejected_total{network="prod",reason="not_member"} 9`,
	} {
		if !strings.Contains(after, want) {
			t.Errorf("scrape after change lacks %q", want)
		}
	}
	checkMetrics(t, after)
}

// TestOptionalSourcesMayBeNil: with only View, the scrape still works and
// lacks the optional families.
func TestOptionalSourcesMayBeNil(t *testing.T) {
	reg := newRegistry(t, metrics.Sources{View: fakeView})
	body := scrape(t, metrics.Handler(reg))
	checkMetrics(t, body)
	for _, absent := range []string{"meshmon_messages_", "meshmon_alert", "meshmon_config_", "meshmon_notification_leader"} {
		if strings.Contains(body, absent) {
			t.Errorf("scrape has %s without a source", absent)
		}
	}
	if _, err := metrics.NewCollector(metrics.Sources{}); err == nil {
		t.Errorf("NewCollector without View = nil error; want an error")
	}
}

// TestWithLibp2pMetrics: libp2p's own metrics share the registry without a
// clash, and the whole scrape of a host that has connected to another stays
// clean (libp2p's few unconventional names are served renamed).
func TestWithLibp2pMetrics(t *testing.T) {
	_, src := newSources(t)
	reg := newRegistry(t, src)
	newHost := func(reg prometheus.Registerer) *p2p.Host {
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		h, err := p2p.NewHost(p2p.HostConfig{Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Registerer: reg,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatalf("NewHost: %v", err)
		}
		t.Cleanup(func() { h.Close() })
		return h
	}
	a, b := newHost(reg), newHost(prometheus.NewRegistry())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bi := peer.AddrInfo{ID: b.ID(), Addrs: b.Libp2p().Addrs()}
	if err := a.Libp2p().Connect(ctx, bi); err != nil {
		t.Fatalf("connect: %v", err)
	}
	// Identify runs right after the connection; wait for its metrics.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var body string
	for body = scrape(t, metrics.Handler(reg)); !strings.Contains(body, "libp2p_identify_"); body = scrape(t, metrics.Handler(reg)) {
		select {
		case <-ctx.Done():
			t.Fatalf("no libp2p_identify_ metric within 10s:\n%s", body)
		case <-tick.C:
		}
	}
	checkMetrics(t, body)
	for _, want := range []string{"libp2p_swarm_", "libp2p_identify_addrs ", "meshmon_build_info"} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

func TestDurationHistogram(t *testing.T) {
	h := metrics.NewDurationHistogram([]float64{1, 0.5})
	for _, d := range []time.Duration{100 * time.Millisecond, 500 * time.Millisecond, 700 * time.Millisecond, 3 * time.Second} {
		h.Observe(d)
	}
	s := h.Snapshot()
	if s.Count != 4 {
		t.Errorf("Count = %d; want 4", s.Count)
	}
	if s.Sum < 4.29 || s.Sum > 4.31 {
		t.Errorf("Sum = %v; want 4.3", s.Sum)
	}
	for le, want := range map[float64]uint64{0.5: 2, 1: 3} {
		if got := s.Buckets[le]; got != want {
			t.Errorf("Buckets[%v] = %d; want %d", le, got, want)
		}
	}
}

func TestHistoryStoreMetrics(t *testing.T) {
	_, src := newSources(t)
	body := scrape(t, metrics.Handler(newRegistry(t, src)))
	for _, want := range []string{
		"meshmon_history_store_ok 0",
		"meshmon_history_records_written_total 7",
		"meshmon_history_write_errors_total 3",
		"meshmon_history_records_dropped_total 1",
		"meshmon_history_open_retries_total 4",
		"meshmon_history_store_size_bytes 32768",
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("scrape lacks %q", want)
		}
	}
}
