package node

import (
	"cmp"
	"slices"
	"sync/atomic"

	"github.com/meshmon/meshmon/metrics"
	"github.com/meshmon/meshmon/notify"
	"github.com/meshmon/meshmon/web"
)

// alertSnapshot is what readers see of a network's clusters.
type alertSnapshot struct {
	clusters []notify.ClusterStatus
	leaders  []metrics.ClusterLeader
}

// alertCounts are a network's alerts not sent and Delivered marks not
// counted, by reason: meshmon_alerts_suppressed_total and
// meshmon_alert_marks_ignored_total. The maps are made once with every
// reason and never written after; the counters are atomic.
type alertCounts struct {
	suppressed map[notify.Reason]*atomic.Uint64
	ignored    map[notify.Reason]*atomic.Uint64
}

func newAlertCounts() alertCounts {
	c := alertCounts{suppressed: map[notify.Reason]*atomic.Uint64{}, ignored: map[notify.Reason]*atomic.Uint64{}}
	for _, r := range notify.SuppressReasons() {
		c.suppressed[r] = new(atomic.Uint64)
	}
	for _, r := range notify.MarkReasons() {
		c.ignored[r] = new(atomic.Uint64)
	}
	return c
}

func (c alertCounts) suppress(r notify.Reason)            { c.suppressN(r, 1) }
func (c alertCounts) ignore(r notify.Reason)              { c.ignoreN(r, 1) }
func (c alertCounts) suppressN(r notify.Reason, n uint64) { addTo(c.suppressed, r, n) }
func (c alertCounts) ignoreN(r notify.Reason, n uint64)   { addTo(c.ignored, r, n) }

func addTo(m map[notify.Reason]*atomic.Uint64, r notify.Reason, n uint64) {
	if v := m[r]; v != nil && n > 0 {
		v.Add(n)
	}
}

func snapshotOf(m map[notify.Reason]*atomic.Uint64) map[string]uint64 {
	out := make(map[string]uint64, len(m))
	for r, v := range m {
		out[string(r)] = v.Load()
	}
	return out
}

// publish stores the clusters' state for readers.
func (a *alertRuntime) publish() {
	s := &alertSnapshot{}
	for _, cl := range a.clusters {
		st := cl.c.Status(cl.el)
		if st.Members == nil {
			st.Members = []notify.MemberStatus{}
		}
		s.clusters = append(s.clusters, st)
		l := metrics.ClusterLeader{Network: a.network, Cluster: cl.c.ShortHash(), Leader: cl.el.Leader}
		for _, m := range cl.el.Members {
			if m.State != notify.StateNotParticipating {
				l.Members = append(l.Members, m.NodeID)
			}
		}
		s.leaders = append(s.leaders, l)
	}
	a.snap.Store(s)
}

// published returns the latest published state (never nil).
func (a *alertRuntime) published() *alertSnapshot {
	if s := a.snap.Load(); s != nil {
		return s
	}
	return &alertSnapshot{}
}

// alertRuntimes returns the alert loops of every joined network.
func (n *Node) alertRuntimes() []*alertRuntime {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*alertRuntime, 0, len(n.nets))
	for _, r := range n.nets {
		if r.alerts != nil {
			out = append(out, r.alerts)
		}
	}
	return out
}

// NotificationClusters returns every notification cluster this node takes
// part in, as GET /api/notification_cluster shows them, ordered by network
// and cluster hash. They hold no webhook URL.
func (n *Node) NotificationClusters() []notify.ClusterStatus {
	var out []notify.ClusterStatus
	for _, a := range n.alertRuntimes() {
		out = append(out, a.published().clusters...)
	}
	slices.SortFunc(out, func(x, y notify.ClusterStatus) int {
		return cmp.Or(cmp.Compare(x.Network, y.Network), cmp.Compare(x.Hash, y.Hash))
	})
	return out
}

// webNotificationClusters is NotificationClusters for web.Deps.
func (n *Node) webNotificationClusters() []web.NotificationCluster {
	cs := n.NotificationClusters()
	out := make([]web.NotificationCluster, len(cs))
	for i, c := range cs {
		out[i] = web.NotificationCluster{
			Network: c.Network, Webhook: c.Webhook, Type: string(c.Type), Hash: c.Hash,
			Leader: c.Leader, Waiting: c.Waiting, Members: make([]web.NotificationClusterMember, len(c.Members)),
		}
		for j, m := range c.Members {
			out[i].Members[j] = web.NotificationClusterMember{NodeID: m.NodeID, PeerID: m.PeerID, State: string(m.State)}
		}
	}
	return out
}

// AlertDeliveries returns every network's alert delivery counters and
// latency, and its alerts suppressed and marks ignored by reason, for
// metrics.Sources.Alerts. Counters restart when a network is joined again.
func (n *Node) AlertDeliveries() []metrics.AlertDeliveries {
	rs := n.alertRuntimes()
	out := make([]metrics.AlertDeliveries, 0, len(rs))
	for _, a := range rs {
		out = append(out, metrics.AlertDeliveries{
			Network: a.network,
			Outcomes: map[string]uint64{
				metrics.OutcomeDelivered: a.delivered.Load(),
				metrics.OutcomeFailed:    a.failed.Load(),
				metrics.OutcomeDropped:   a.dropped.Load(),
			},
			Latency:      a.latency.Snapshot(),
			Suppressed:   snapshotOf(a.counts.suppressed),
			MarksIgnored: snapshotOf(a.counts.ignored),
		})
	}
	slices.SortFunc(out, func(x, y metrics.AlertDeliveries) int { return cmp.Compare(x.Network, y.Network) })
	return out
}

// NotificationLeaders returns the election of every notification cluster
// this node takes part in, for metrics.Sources.Leaders.
func (n *Node) NotificationLeaders() []metrics.ClusterLeader {
	var out []metrics.ClusterLeader
	for _, a := range n.alertRuntimes() {
		out = append(out, a.published().leaders...)
	}
	slices.SortFunc(out, func(x, y metrics.ClusterLeader) int {
		return cmp.Or(cmp.Compare(x.Network, y.Network), cmp.Compare(x.Cluster, y.Cluster))
	})
	return out
}
