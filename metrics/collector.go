package metrics

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/p2p"
)

// Statuses are the values of meshmon_node_status's status label. Every
// member has one series per status, 1 for its current status and 0 for the
// others, so a query never has to guess which statuses exist.
func Statuses() []health.Status {
	return []health.Status{health.StatusOnline, health.StatusDegraded, health.StatusOffline,
		health.StatusLeft, health.StatusUnknown}
}

// Collector is a prometheus.Collector over Sources. Collect calls the
// snapshot functions and emits const metrics, so nothing is cached between
// scrapes and series of removed networks and members vanish at once. It is
// safe for concurrent use.
type Collector struct {
	src Sources

	nodeStatus, nodeConfirmed, peerRTT           *prometheus.Desc
	members, membersMissingKey, liveObservers    *prometheus.Desc
	sent, received, rejected                     *prometheus.Desc
	duplicates, publishErrors, refutes, pauses   *prometheus.Desc
	gateDropped, gateMessages, clashes           *prometheus.Desc
	memberClashes, strandedPushes, pushFailures  *prometheus.Desc
	syncFailures, dialFailures                   *prometheus.Desc
	gossipRefused                                *prometheus.Desc
	reloadOK, reloadTime                         *prometheus.Desc
	alertsSent, alertLatency, notificationLeader *prometheus.Desc
	alertsSuppressed, alertMarksIgnored          *prometheus.Desc
	buildInfo                                    *prometheus.Desc
	historyOK, historyRecords, historyErrors     *prometheus.Desc
	historyDropped, historySize                  *prometheus.Desc
	historyOpenRetries                           *prometheus.Desc
	mon                                          monitorDescs
}

// NewCollector returns a collector over src; src.View is required.
func NewCollector(src Sources) (*Collector, error) {
	if src.View == nil {
		return nil, errors.New("metrics: Sources.View is required")
	}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("meshmon_"+name, help, labels, nil)
	}
	return &Collector{
		src: src,
		mon: newMonitorDescs(d),
		nodeStatus: d("node_status",
			"Agreed status of a member as this node computes it: 1 for the member's current status, 0 for the others.",
			"network", "node", "status"),
		nodeConfirmed: d("node_confirmed",
			"1 when the member's status rests on at least 2 live observers (alerts need it), else 0.",
			"network", "node"),
		peerRTT: d("peer_rtt_seconds",
			"Latest ping round trip from node to peer as node reported it; absent while node has no connection to peer.",
			"network", "node", "peer"),
		members: d("members",
			"Members in the network's node_config.",
			"network"),
		membersMissingKey: d("members_missing_key",
			"Members without a usable public key (they cannot be admitted until pubkeys/<node_id>.pub is added).",
			"network"),
		liveObservers: d("live_observers",
			"Live observers vouching for this node, itself included; below 2 no verdict is confirmed and no alert is sent.",
			"network"),
		sent: d("messages_sent_total",
			"Gossip messages this node published, by kind.",
			"network", "kind"),
		received: d("messages_received_total",
			"Gossip messages the topic validator admitted (this node's own included), by kind.",
			"network", "kind"),
		rejected: d("messages_rejected_total",
			"Gossip messages the topic validator refused, by reason.",
			"network", "reason"),
		duplicates: d("messages_duplicate_total",
			"Gossip messages ignored because this node had admitted them already (by gossip and by sync); not rejections.",
			"network"),
		publishErrors: d("publish_errors_total",
			"Publishes of this node that failed, by reason (no_topic_peer, refused_own, queue_full, other).",
			"network", "reason"),
		refutes: d("refutes_total",
			"Times this node moved to a new incarnation because a newer message signed with its key arrived (a clone, a forgery, or a lost counter).",
			"network"),
		pauses: d("pauses_total",
			"Times this node found it had not run on time (paused, starved, clock jump) and withdrew its silence-based suspicions.",
			"network"),
		clashes: d("identity_clashes_total",
			"Times another host was found publishing with this node's key (more than 3 refutes a minute); this node then stops refuting for a minute.",
			"network"),
		memberClashes: d("member_identity_clashes_total",
			"Times this node found another member running as two hosts with one key: two incarnations of it publishing at once. Each raises an identity error event; the member's reports are then the merge of both hosts'.",
			"network", "node"),
		strandedPushes: d("sync_pushes_total",
			"Messages of this node pushed over /meshmon/sync/1 to a directly connected member that gossip did not reach (GossipSub dropped it from the topic, as when two hosts hold one key).",
			"network"),
		pushFailures: d("sync_push_failures_total",
			"Pushes of sync_pushes_total that failed (the member did not take the stream or did not answer); the member is then left alone for a minute, and a sync warning event names it (at most one per member a minute).",
			"network"),
		syncFailures: d("sync_failures_total",
			"Sync exchanges this node started with a member that joined the topic (/meshmon/sync/1) that failed; each raises a sync warning event (at most one per member a minute), and gossip still brings what comes next.",
			"network"),
		dialFailures: d("dial_failures_total",
			"Dials of members that failed (refused, timed out, no address, a bootstrap url that did not answer or named another key); each is retried with a backoff. Once every dial of a member has failed for 30 s, the log says why at INFO, once a spell.",
			"network"),
		gateDropped: d("gossip_dropped_total",
			"Gossip RPCs dropped before validation by reason: not_member (a peer in no joined network), wrong_topic (a member publishing on a network it is not in), backed_off (a peer disconnected for misbehaving, within its backoff); disconnected counts the peers disconnected.",
			"reason"),
		gossipRefused: d("gossip_refused_total",
			"Gossip messages and RPCs GossipSub itself refused or dropped, by reason: duplicate (a replay within the dedup window), queue_full, throttled, bad_signature, blacklisted, self_origin, validation, ignored, other_topic, junk_frame, oversize_rpc, oversize_control, outbound_dropped, subscription_full.",
			"reason"),
		gateMessages: d("gossip_dropped_messages_total",
			"Messages inside the gossip RPCs dropped before validation."),
		reloadOK: d("config_last_reload_successful",
			"1 when the latest config load succeeded, 0 when it failed and the previous config keeps running."),
		reloadTime: d("config_last_reload_success_timestamp_seconds",
			"Unix time of the latest successful config load (0: never)."),
		alertsSent: d("alerts_sent_total",
			"Alerts this node handed to a webhook, by outcome (delivered, failed, dropped).",
			"network", "outcome"),
		alertLatency: d("alert_delivery_seconds",
			"Latency of delivered alert payloads from their earliest enqueue to the webhook's 2xx.",
			"network"),
		alertsSuppressed: d("alerts_suppressed_total",
			"Alerts this node did not send, by reason: unconfirmed, single_observer (one member's word), not_held (ended before the hold), late (dropped, with an event), local_unhealthy (the sender recovered from a pause; the alert waited), superseded, ledger_full.",
			"network", "reason"),
		alertMarksIgnored: d("alert_marks_ignored_total",
			"Delivered marks of other members that were not counted, by reason: malformed, not_sender (not the alert's elected sender), future (a predicted ID), ledger_full.",
			"network", "reason"),
		notificationLeader: d("notification_leader",
			"1 for the leader of a notification cluster, 0 for its other participating members.",
			"network", "cluster", "node"),
		buildInfo: d("build_info",
			"Always 1; labels give the meshmon version, its commit and the Go version it was built with.",
			"version", "commit", "goversion"),
		historyOK: d("history_store_ok",
			"1 while the history store takes writes; 0 when it is unavailable (e.g. a read-only data dir) or writes fail (e.g. a full disk). Monitoring and alerting go on either way."),
		historyRecords: d("history_records_written_total",
			"Records (events, status changes, RTT rollups, alerts) written to the history store."),
		historyErrors: d("history_write_errors_total",
			"Failed writes of a batch to the history store; each is retried with the next batch."),
		historyDropped: d("history_records_dropped_total",
			"History records given up because the store could not be written for long (or link views that came faster than the recorder took them in)."),
		historyOpenRetries: d("history_open_retries_total",
			"Failed tries to open the history store while it is unavailable (e.g. a read-only or missing data dir); the node retries with backoff up to 5 min."),
		historySize: d("history_store_size_bytes",
			"Size of the history store file."),
	}, nil
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.nodeStatus, c.nodeConfirmed, c.peerRTT, c.members, c.membersMissingKey, c.liveObservers,
		c.sent, c.received, c.rejected, c.duplicates, c.publishErrors, c.refutes, c.pauses, c.gateDropped, c.gateMessages, c.clashes, c.memberClashes, c.strandedPushes, c.pushFailures, c.syncFailures, c.dialFailures, c.gossipRefused, c.reloadOK, c.reloadTime,
		c.alertsSent, c.alertLatency, c.notificationLeader, c.alertsSuppressed, c.alertMarksIgnored, c.buildInfo,
		c.historyOK, c.historyRecords, c.historyErrors, c.historyDropped, c.historySize, c.historyOpenRetries,
	} {
		ch <- d
	}
	for _, d := range c.mon.list() {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ch <- constMetric(c.buildInfo, prometheus.GaugeValue, 1,
		c.src.Version, c.src.Commit, runtime.Version())
	c.collectView(ch)
	if c.src.Traffic != nil {
		c.collectTraffic(ch, c.src.Traffic())
	}
	if c.src.Reload != nil {
		r := c.src.Reload()
		var ts float64
		if !r.LastSuccess.IsZero() {
			ts = float64(r.LastSuccess.UnixNano()) / 1e9
		}
		ch <- constMetric(c.reloadOK, prometheus.GaugeValue, boolValue(r.Successful))
		ch <- constMetric(c.reloadTime, prometheus.GaugeValue, ts)
	}
	if c.src.Alerts != nil {
		c.collectAlerts(ch, c.src.Alerts())
	}
	if c.src.Leaders != nil {
		c.collectLeaders(ch, c.src.Leaders())
	}
	if c.src.Gate != nil {
		counts, msgs := c.src.Gate()
		for _, r := range p2p.GateReasons() {
			ch <- constMetric(c.gateDropped, prometheus.CounterValue, float64(counts[r]), r)
		}
		ch <- constMetric(c.gateMessages, prometheus.CounterValue, float64(msgs))
	}
	if c.src.GossipRefused != nil {
		counts := c.src.GossipRefused()
		for _, r := range p2p.GossipRefusedReasons() {
			ch <- constMetric(c.gossipRefused, prometheus.CounterValue, float64(counts[r]), r)
		}
	}
	if c.src.History != nil {
		h := c.src.History()
		ch <- constMetric(c.historyOK, prometheus.GaugeValue, boolValue(h.OK))
		ch <- constMetric(c.historyRecords, prometheus.CounterValue, float64(h.Records))
		ch <- constMetric(c.historyErrors, prometheus.CounterValue, float64(h.WriteErrors))
		ch <- constMetric(c.historyDropped, prometheus.CounterValue, float64(h.Dropped))
		ch <- constMetric(c.historySize, prometheus.GaugeValue, float64(h.SizeBytes))
		ch <- constMetric(c.historyOpenRetries, prometheus.CounterValue, float64(h.OpenRetries))
	}
	var known map[monitorKey]bool
	if c.src.Monitors != nil {
		known = c.collectMonitors(ch, c.src.Monitors())
	}
	if c.src.MonitorCounters != nil {
		c.collectMonitorCounters(ch, c.src.MonitorCounters())
	}
	if c.src.MonitorProbes != nil {
		c.collectMonitorProbes(ch, c.src.MonitorProbes, known)
	}
}

// MaxRTTMeshMembers is the largest network whose every edge is exported
// as meshmon_peer_rtt_seconds: 100 members. A full mesh of N members is
// N(N-1) series (999,000 at 1,000 members), which no scrape should carry;
// in a larger network each node exports only its own edges (node = this
// node), so scraping every node still gives every edge, N-1 series each.
const MaxRTTMeshMembers = 100

func (c *Collector) collectView(ch chan<- prometheus.Metric) {
	v := c.src.View()
	if v == nil {
		return
	}
	for id, nv := range v.Networks {
		if nv == nil {
			continue
		}
		missing := 0
		for nodeID, n := range nv.Nodes {
			if n == nil {
				continue
			}
			for _, s := range Statuses() {
				ch <- constMetric(c.nodeStatus, prometheus.GaugeValue,
					boolValue(n.Status == s), id, nodeID, string(s))
			}
			ch <- constMetric(c.nodeConfirmed, prometheus.GaugeValue,
				boolValue(n.Confirmed), id, nodeID)
			if n.KeyMissing != "" {
				missing++
			}
		}
		ch <- constMetric(c.members, prometheus.GaugeValue, float64(len(nv.Nodes)), id)
		ch <- constMetric(c.membersMissingKey, prometheus.GaugeValue, float64(missing), id)
		live := 0
		if self := nv.Nodes[nv.Self]; self != nil {
			live = self.LiveObservers
		}
		ch <- constMetric(c.liveObservers, prometheus.GaugeValue, float64(live), id)
		ownOnly := len(nv.Nodes) > MaxRTTMeshMembers
		seen := map[[2]string]bool{}
		for _, e := range nv.Connections {
			k := [2]string{e.Src, e.Dst}
			if e.Status != "up" || e.RTTMs <= 0 || seen[k] || (ownOnly && e.Src != nv.Self) {
				continue
			}
			seen[k] = true
			ch <- constMetric(c.peerRTT, prometheus.GaugeValue, e.RTTMs/1000, id, e.Src, e.Dst)
		}
	}
}

func (c *Collector) collectTraffic(ch chan<- prometheus.Metric, ts []Traffic) {
	for _, t := range dedupe(ts, func(t Traffic) string { return t.Network }) {
		for _, k := range messageKinds {
			ch <- constMetric(c.sent, prometheus.CounterValue, float64(t.Sent[k]), t.Network, k.String())
			ch <- constMetric(c.received, prometheus.CounterValue, float64(t.Received[k]), t.Network, k.String())
		}
		for _, r := range p2p.RejectReasons() {
			ch <- constMetric(c.rejected, prometheus.CounterValue, float64(t.Rejected[r]), t.Network, r.String())
		}
		ch <- constMetric(c.duplicates, prometheus.CounterValue, float64(t.Duplicates), t.Network)
		for _, r := range health.PublishErrorReasons() {
			ch <- constMetric(c.publishErrors, prometheus.CounterValue, float64(t.PublishErrors[r]), t.Network, r)
		}
		ch <- constMetric(c.refutes, prometheus.CounterValue, float64(t.Refutes), t.Network)
		ch <- constMetric(c.pauses, prometheus.CounterValue, float64(t.Pauses), t.Network)
		ch <- constMetric(c.clashes, prometheus.CounterValue, float64(t.Clashes), t.Network)
		ch <- constMetric(c.strandedPushes, prometheus.CounterValue, float64(t.StrandedPushes), t.Network)
		ch <- constMetric(c.pushFailures, prometheus.CounterValue, float64(t.StrandedPushFailures), t.Network)
		ch <- constMetric(c.syncFailures, prometheus.CounterValue, float64(t.SyncFailures), t.Network)
		ch <- constMetric(c.dialFailures, prometheus.CounterValue, float64(t.DialFailures), t.Network)
		for _, node := range slices.Sorted(maps.Keys(t.MemberClashes)) {
			ch <- constMetric(c.memberClashes, prometheus.CounterValue, float64(t.MemberClashes[node]), t.Network, node)
		}
	}
}

func (c *Collector) collectAlerts(ch chan<- prometheus.Metric, as []AlertDeliveries) {
	for _, a := range dedupe(as, func(a AlertDeliveries) string { return a.Network }) {
		outcomes := []string{OutcomeDelivered, OutcomeFailed, OutcomeDropped}
		for o := range a.Outcomes {
			if !slices.Contains(outcomes, o) {
				outcomes = append(outcomes, o)
			}
		}
		for _, o := range outcomes {
			ch <- constMetric(c.alertsSent, prometheus.CounterValue, float64(a.Outcomes[o]), a.Network, o)
		}
		for _, r := range slices.Sorted(maps.Keys(a.Suppressed)) {
			ch <- constMetric(c.alertsSuppressed, prometheus.CounterValue, float64(a.Suppressed[r]), a.Network, r)
		}
		for _, r := range slices.Sorted(maps.Keys(a.MarksIgnored)) {
			ch <- constMetric(c.alertMarksIgnored, prometheus.CounterValue, float64(a.MarksIgnored[r]), a.Network, r)
		}
		buckets := a.Latency.Buckets
		if buckets == nil {
			buckets = map[float64]uint64{}
			for _, b := range AlertDeliveryBuckets() {
				buckets[b] = 0
			}
		}
		m, err := prometheus.NewConstHistogram(c.alertLatency, a.Latency.Count, a.Latency.Sum, buckets, a.Network)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(c.alertLatency, err)
			continue
		}
		ch <- m
	}
}

func (c *Collector) collectLeaders(ch chan<- prometheus.Metric, ls []ClusterLeader) {
	seen := map[[3]string]bool{}
	for _, l := range ls {
		nodes := l.Members
		if l.Leader != "" && !slices.Contains(nodes, l.Leader) {
			nodes = append(slices.Clone(nodes), l.Leader)
		}
		for _, n := range nodes {
			k := [3]string{l.Network, l.Cluster, n}
			if seen[k] {
				continue
			}
			seen[k] = true
			ch <- constMetric(c.notificationLeader, prometheus.GaugeValue,
				boolValue(n == l.Leader), l.Network, l.Cluster, n)
		}
	}
}

// dedupe keeps the first entry per key, sorted by key: two entries for one
// network would make the scrape fail with a duplicate series.
func dedupe[T any](in []T, key func(T) string) []T {
	out := make([]T, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, x := range in {
		if k := key(x); !seen[k] {
			seen[k] = true
			out = append(out, x)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Register registers a Collector over src, the Go runtime collector and the
// process collector on reg (never the global default registry).
func Register(reg prometheus.Registerer, src Sources) error {
	c, err := NewCollector(src)
	if err != nil {
		return err
	}
	for _, col := range []prometheus.Collector{
		c,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(col); err != nil {
			return fmt.Errorf("metrics: register: %w", err)
		}
	}
	return nil
}

// Handler serves g's metrics in the Prometheus exposition formats, with the
// few third-party families that break Prometheus' naming conventions renamed
// (see conventionalNames) so that `promtool check metrics` is clean. A
// collector that fails does not fail the scrape: the other metrics are
// still served.
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(conventionalNames{g}, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// constMetric is prometheus.NewConstMetric that reports a bad label value
// (e.g. invalid UTF-8) as an invalid metric instead of panicking.
func constMetric(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}
