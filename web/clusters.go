package web

import (
	"cmp"
	"net/http"
	"slices"
)

// NotificationCluster is one notification cluster as
// /api/notification_cluster shows it: the same JSON as
// notify.ClusterStatus (web cannot import notify, its sibling, so the node
// copies the fields over). It holds no webhook URL.
type NotificationCluster struct {
	// Network is the network_id.
	Network string `json:"network"`
	// Webhook is this node's name for the webhook.
	Webhook string `json:"webhook"`
	// Type is "discord" or "json".
	Type string `json:"type"`
	// Hash is the cluster's short hash, the same on every member.
	Hash string `json:"hash"`
	// Leader is the leader's node_id; "" while waiting.
	Leader string `json:"leader"`
	// Waiting is true while fewer than 2 members are live.
	Waiting bool `json:"waiting"`
	// Members are every network member's role in the cluster.
	Members []NotificationClusterMember `json:"members"`
}

// NotificationClusterMember is one member's role in a cluster.
type NotificationClusterMember struct {
	// NodeID is the member's node_id.
	NodeID string `json:"node_id"`
	// PeerID is its peer ID ("" when its key is missing).
	PeerID string `json:"peer_id"`
	// State is LEADER, FOLLOWER, WAITING_FOR_CONSENSUS, NOT_PARTICIPATING
	// or OFFLINE.
	State string `json:"state"`
}

func handleNotificationClusters(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		out := []NotificationCluster{}
		if d.NotificationClusters != nil {
			out = append(out, d.NotificationClusters()...)
		}
		for i := range out {
			if out[i].Members == nil {
				out[i].Members = []NotificationClusterMember{}
			}
		}
		slices.SortStableFunc(out, func(a, b NotificationCluster) int {
			return cmp.Or(cmp.Compare(a.Network, b.Network), cmp.Compare(a.Hash, b.Hash))
		})
		writeJSON(w, http.StatusOK, map[string]any{"clusters": out})
	}
}
