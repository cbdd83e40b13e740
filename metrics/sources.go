package metrics

import (
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/monitor"
	"github.com/meshmon/meshmon/p2p"
)

// Sources are the read-only snapshots a Collector turns into metrics on
// every scrape. Each function may be called from several scrapes at once, so
// it must be safe for concurrent use and must not block for long; what it
// returns is only read, never modified, by the collector. Every function
// except View may be nil: its metrics are then simply not exported.
type Sources struct {
	// View returns the agreed state of every network (the same snapshot
	// /api/view serves). Required. It feeds meshmon_node_status,
	// meshmon_node_confirmed, meshmon_peer_rtt_seconds, meshmon_members,
	// meshmon_members_missing_key and meshmon_live_observers.
	View func() *health.View
	// Traffic returns the gossip message counters of every joined network
	// (meshmon_messages_{sent,received,rejected}_total).
	Traffic func() []Traffic
	// Reload returns the outcome of the latest config load
	// (meshmon_config_last_reload_*).
	Reload func() Reload
	// Alerts returns the alert delivery counters of every network
	// (meshmon_alerts_sent_total, meshmon_alert_delivery_seconds).
	Alerts func() []AlertDeliveries
	// Leaders returns the election of every notification cluster this node
	// takes part in (meshmon_notification_leader).
	Leaders func() []ClusterLeader
	// Gate returns the host's gossip gate counters: RPCs dropped before
	// validation by reason (p2p.GateReasons), and the publishes inside them
	// (meshmon_gossip_dropped_total, meshmon_gossip_dropped_messages_total).
	Gate func() (map[string]uint64, uint64)
	// GossipRefused returns GossipSub's own refusals by reason
	// (p2p.GossipRefusedReasons; meshmon_gossip_refused_total).
	GossipRefused func() map[string]uint64
	// History returns the history store's counters
	// (meshmon_history_store_ok, meshmon_history_*_total,
	// meshmon_history_store_size_bytes).
	History func() History
	// Monitors returns every network's monitor snapshot
	// (meshmon_monitor_up, meshmon_monitor_status,
	// meshmon_monitor_vantage_latency_seconds).
	Monitors func() []*monitor.Snapshot
	// MonitorCounters returns every network's monitor service counters
	// (meshmon_monitor_results_ignored_total).
	MonitorCounters func() []MonitorCounters
	// MonitorProbes records the probes this node runs
	// (meshmon_monitor_probe_duration_seconds, meshmon_monitor_probes_total).
	MonitorProbes *MonitorProbes
	// Version and Commit label meshmon_build_info (version.Version and
	// version.Commit); the Go version is added by the collector.
	Version, Commit string
}

// Traffic are one network's gossip message counters since the network was
// joined. Counters restart from zero when a network is left and joined
// again; Prometheus' rate() handles that as a counter reset.
type Traffic struct {
	// Network is the network_id.
	Network string
	// Sent counts messages this node published, by kind (health.Engine's
	// HeartbeatsSent and ReportsSent, and notify's Delivered messages). A
	// kind without an entry is exported as 0.
	Sent map[p2p.Kind]uint64
	// Received counts messages the topic validator admitted, by kind
	// (p2p.Validator.Accepted). A kind without an entry is exported as 0.
	Received map[p2p.Kind]uint64
	// Rejected counts messages the topic validator refused, by reason
	// (p2p.Validator.Rejected). A reason without an entry is exported as 0.
	Rejected map[p2p.RejectReason]uint64
	// Duplicates counts messages ignored because they were admitted
	// already (the same message by gossip and by sync): not rejections.
	Duplicates uint64
	// PublishErrors counts failed publishes by reason
	// (health.Engine.PublishErrorsBy; every reason of
	// health.PublishErrorReasons is exported, zeros included).
	PublishErrors map[string]uint64
	// Refutes counts the times this node jumped its incarnation above a
	// message about itself that it did not send (health.Engine.Refutes).
	Refutes uint64
	// Pauses counts the times this node found it had not run on time and
	// withdrew its suspicions (health.Engine.Pauses).
	Pauses uint64
	// Clashes counts the times another host was found publishing with
	// this node's key (health.Engine.Clashes).
	Clashes uint64
	// MemberClashes counts, per other member, the times it was found
	// running as two hosts with one key (health.Engine.MemberClashes).
	MemberClashes map[string]uint64
	// StrandedPushes counts this node's messages pushed by sync to a
	// directly connected member that gossip did not reach
	// (p2p.Network.StrandedPushes).
	StrandedPushes uint64
	// StrandedPushFailures counts those pushes that failed
	// (p2p.Network.StrandedPushFailures).
	StrandedPushFailures uint64
	// SyncFailures counts the failed sync exchanges this node started
	// with members that joined the topic (p2p.Network.SyncFailures).
	SyncFailures uint64
	// DialFailures counts the failed dials of members
	// (p2p.Network.DialFailures).
	DialFailures uint64
}

// ValidatorTraffic fills the Received and Rejected counters of a network
// from its topic validator; the caller adds Sent.
func ValidatorTraffic(network string, v *p2p.Validator) Traffic {
	t := Traffic{
		Network:  network,
		Received: make(map[p2p.Kind]uint64, len(messageKinds)),
		Rejected: v.Rejected(),
		// Duplicates are not refusals: counted apart.
		Duplicates: v.Duplicates(),
	}
	for _, k := range messageKinds {
		t.Received[k] = v.Accepted(k)
	}
	return t
}

// messageKinds are the gossip kinds every network exports, zeros included.
var messageKinds = [...]p2p.Kind{p2p.KindHeartbeat, p2p.KindReport, p2p.KindDelivered, p2p.KindMonitor}

// Reload is the outcome of the latest config load.
type Reload struct {
	// Successful is false when the latest reload failed and the previous
	// config keeps running.
	Successful bool
	// LastSuccess is when a config was last loaded and applied; zero when
	// never (exported as 0).
	LastSuccess time.Time
}

// The outcomes of an alert delivery, as meshmon_alerts_sent_total labels them.
const (
	// OutcomeDelivered: the webhook answered 2xx.
	OutcomeDelivered = "delivered"
	// OutcomeFailed: the delivery was given up (retries exhausted, or an
	// answer retrying cannot fix such as 404).
	OutcomeFailed = "failed"
	// OutcomeDropped: the alert was dropped from a full send queue.
	OutcomeDropped = "dropped"
)

// AlertDeliveries are one network's alert delivery counters, summed over
// the notification clusters (webhooks) this node sends for.
type AlertDeliveries struct {
	// Network is the network_id.
	Network string
	// Outcomes counts alerts by outcome (OutcomeDelivered, OutcomeFailed,
	// OutcomeDropped). Those three are always exported, 0 when missing.
	Outcomes map[string]uint64
	// Latency is the distribution of delivered payloads' latency, from the
	// earliest enqueue of their alerts to the 2xx (a DurationHistogram's
	// Snapshot).
	Latency HistogramSnapshot
	// Suppressed counts alerts not sent, by reason
	// (meshmon_alerts_suppressed_total): every reason the node knows is
	// present, 0 when none.
	Suppressed map[string]uint64
	// MarksIgnored counts Delivered marks of other members not counted, by
	// reason (meshmon_alert_marks_ignored_total).
	MarksIgnored map[string]uint64
}

// ClusterLeader is the election of one notification cluster.
type ClusterLeader struct {
	// Network is the network_id.
	Network string
	// Cluster is the cluster's short hash (notify.Cluster.ShortHash): the
	// same on every member, unlike the local webhook name.
	Cluster string
	// Leader is the leader's node_id; "" while the cluster waits for
	// consensus (fewer than 2 live members).
	Leader string
	// Members are the node_ids of the cluster's participating members; each
	// gets a series, 1 for the leader and 0 for the others.
	Members []string
}

// History is the state of the node's history store.
type History struct {
	// OK is false while the store is unavailable or its writes fail;
	// monitoring and alerting go on either way.
	OK bool
	// Records counts records written; WriteErrors failed batch writes;
	// Dropped records given up while the store could not be written.
	Records, WriteErrors, Dropped uint64
	// OpenRetries counts failed tries to open an unavailable store.
	OpenRetries uint64
	// SizeBytes is the store file's size (0 without a store).
	SizeBytes int64
}
