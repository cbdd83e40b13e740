package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"slices"

	"github.com/meshmon/meshmon/p2p/pb"
)

// ClusterHash identifies the notification cluster of the nodes of network
// networkID that deliver to webhookURL: the lowercase hex HMAC-SHA256 of the
// URL keyed with the network id. The network id salts it, so the same webhook
// in two networks forms two clusters and a hash seen in one network's gossip
// says nothing about another's. The URL itself never leaves the node; the
// token in it makes the hash infeasible to invert. Surrounding white space in
// the URL is ignored.
func ClusterHash(networkID, webhookURL string) string {
	return hex.EncodeToString(clusterHashBytes(networkID, webhookURL))
}

func clusterHashBytes(networkID, webhookURL string) []byte {
	w := NewWebhook("", "", webhookURL)
	m := hmac.New(sha256.New, []byte(networkID))
	m.Write([]byte(w.secretURL()))
	return m.Sum(nil)
}

// HeartbeatClusters converts cluster hashes (as returned by ClusterHash) to
// Heartbeat.clusters, sorted. Malformed hashes are skipped.
func HeartbeatClusters(hashes []string) [][]byte {
	sorted := slices.Sorted(slices.Values(hashes))
	out := make([][]byte, 0, len(sorted))
	for _, h := range slices.Compact(sorted) {
		if b, err := hex.DecodeString(h); err == nil && len(b) == sha256.Size {
			out = append(out, b)
		}
	}
	return out
}

// AnnouncedClusters returns the cluster hashes a heartbeat announces, as a
// set of ClusterHash strings. A nil heartbeat announces none.
func AnnouncedClusters(hb *pb.Heartbeat) map[string]bool {
	out := make(map[string]bool, len(hb.GetClusters()))
	for _, b := range hb.GetClusters() {
		if len(b) == sha256.Size {
			out[hex.EncodeToString(b)] = true
		}
	}
	return out
}

// MemberState is a cluster member's role as this node computes it. Its
// string values are the API's and the spec's names.
type MemberState string

// The states of a cluster member (DESIGN.md §7).
const (
	// StateLeader: the live participating member with the smallest peer ID;
	// it sends the cluster's alerts.
	StateLeader MemberState = "LEADER"
	// StateFollower: a live participating member that is not the leader.
	StateFollower MemberState = "FOLLOWER"
	// StateWaiting: fewer than 2 members of the cluster are live, so nobody
	// sends (the spec's ">= 2 alive nodes").
	StateWaiting MemberState = "WAITING_FOR_CONSENSUS"
	// StateNotParticipating: a member of the network that does not announce
	// this cluster's hash (it has not configured this webhook).
	StateNotParticipating MemberState = "NOT_PARTICIPATING"
	// StateOffline: a participating member the consensus does not consider
	// alive (offline, left or unknown).
	StateOffline MemberState = "OFFLINE"
)

// Cluster is one notification cluster this node takes part in.
type Cluster struct {
	// Network is the network_id.
	Network string
	// Webhook is where the cluster's alerts go.
	Webhook Webhook
	// Hash is ClusterHash(Network, webhook URL).
	Hash string
}

// NewCluster returns the cluster of network for webhook w.
func NewCluster(network string, w Webhook) Cluster {
	return Cluster{Network: network, Webhook: w, Hash: ClusterHash(network, w.secretURL())}
}

// ShortHash is the first 16 hex digits of Hash: enough to tell clusters
// apart in the API and in Delivered messages.
func (c Cluster) ShortHash() string { return shortHash(c.Hash) }

func shortHash(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}

// ClusterStatus is one cluster as GET /api/notification_cluster shows it.
// It holds no URL.
type ClusterStatus struct {
	// Network is the network_id.
	Network string `json:"network"`
	// Webhook is this node's name for the webhook.
	Webhook string `json:"webhook"`
	// Type is discord or json.
	Type WebhookType `json:"type"`
	// Hash is the cluster's short hash (Cluster.ShortHash).
	Hash string `json:"hash"`
	// Leader is the leader's node_id; "" while waiting.
	Leader string `json:"leader"`
	// Waiting is true when fewer than 2 members are live.
	Waiting bool `json:"waiting"`
	// Members are every network member's state in this cluster.
	Members []MemberStatus `json:"members"`
}

// Status describes the cluster for the API given an election result.
func (c Cluster) Status(r ElectionResult) ClusterStatus {
	return ClusterStatus{
		Network: c.Network,
		Webhook: c.Webhook.Name,
		Type:    c.Webhook.Type,
		Hash:    c.ShortHash(),
		Leader:  r.Leader,
		Waiting: r.Waiting,
		Members: slices.Clone(r.Members),
	}
}
