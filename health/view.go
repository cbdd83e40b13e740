package health

import "time"

// View is what /api/view serves: every network's agreed state as this node
// sees it. Field names are upstream's and stable.
type View struct {
	Networks map[string]*NetworkView `json:"networks"`
}

// NetworkView is one network's agreed state.
type NetworkView struct {
	// NetworkID is the network_id.
	NetworkID string `json:"network_id"`
	// Self is this node's node_id in the network.
	Self string `json:"self"`
	// Nodes are the members by node_id.
	Nodes map[string]*NodeView `json:"nodes"`
	// Connections are the directed edges between members.
	Connections []Connection `json:"connections"`
	// UpdatedAt is when this view was computed.
	UpdatedAt time.Time `json:"updated_at"`
	// Config says where the network's config comes from and which version
	// of it is running. Set by the node; absent in an engine's own view.
	Config *ConfigSource `json:"config,omitempty"`
	// Local is this node's own health as an observer on this network.
	Local LocalHealth `json:"local"`
}

// LocalHealth is this node's own health as an observer and publisher
// (docs/liveness.md, "Local awareness"). While it is not healthy, this
// node's suspicions are withdrawn or its reports do not go out, and it
// sends no alert.
type LocalHealth struct {
	// Healthy is false while this node recovers from a pause (it was
	// stopped, starved, or its clock jumped), while its latest publish
	// failed, or while it is connected to members but hears none.
	Healthy bool `json:"healthy"`
	// Reason says why it is not healthy ("" when it is).
	Reason string `json:"reason,omitempty"`
	// Since is when the current state began (zero: since start).
	Since time.Time `json:"since"`
	// ReturnedAt is when this node last came back from a pause long enough
	// (at least suspect_after) for the other members to see it offline;
	// absent when it never did. They count it as up only since then.
	ReturnedAt *time.Time `json:"returned_at,omitempty"`
}

// ConfigSource describes the running config of one network.
type ConfigSource struct {
	// Type is "local" or "git".
	Type string `json:"type"`
	// Directory is the network's directory under config/networks.
	Directory string `json:"directory"`
	// Commit is the git commit running (git mode only).
	Commit string `json:"commit,omitempty"`
	// Ref is the git ref followed, e.g. refs/heads/main (git mode only).
	Ref string `json:"ref,omitempty"`
	// SyncedAt is when the repository was last fetched successfully (git mode).
	SyncedAt *time.Time `json:"synced_at,omitempty"`
	// LastError is the latest sync or reload problem, empty when none.
	LastError string `json:"last_error,omitempty"`
	// HeartbeatMS and SuspectAfterMS are the network's timing.
	HeartbeatMS    int64 `json:"heartbeat_ms"`
	SuspectAfterMS int64 `json:"suspect_after_ms"`
}

// NodeView is one member's agreed status and the evidence for it.
type NodeView struct {
	NodeID string `json:"node_id"`
	// Status is online, degraded, offline, left or unknown.
	Status Status `json:"status"`
	// Confirmed is false when the status rests on fewer than 2 observers.
	Confirmed bool `json:"confirmed"`
	// AgreedBy is how many live observers agree with Status, of LiveObservers.
	AgreedBy      int `json:"agreed_by"`
	LiveObservers int `json:"live_observers"`
	// Version is the meshmon version the member announced.
	Version string `json:"version"`
	// PeerID is the member's libp2p peer ID ("" when its key is missing).
	PeerID string `json:"peer_id"`
	// URL is the member's HTTP sidecar from config.
	URL string `json:"url,omitempty"`
	// KeyMissing says why the member's public key could not be loaded.
	KeyMissing string `json:"key_missing,omitempty"`
	// LastHeardMs is how long ago this node last had evidence of the member (-1: never).
	LastHeardMs int64 `json:"last_heard_ms"`
	// Reachability is how the member says it is reached: "public" (dialled
	// directly) or "private" (behind NAT, through relays); empty: unknown.
	Reachability string `json:"reachability,omitempty"`
	// BootID is the member's current incarnation (a counter kept on disk
	// that grows with every start and join).
	BootID uint64 `json:"boot_id,omitempty"`
	// SuspectedBy lists the live observers that suspect the member while
	// its status is online: one observer's opinion, not a verdict (a
	// status needs at least 2 suspecting observers).
	SuspectedBy []string `json:"suspected_by,omitempty"`
	// Observers is what each live observer says of the member.
	Observers map[string]ObserverView `json:"observers"`
	// IdentityClash is set while the member runs as two hosts with one
	// key (two incarnations publishing at once). Its reports are then the
	// merge of both hosts' (docs/liveness.md, "Cloned identities").
	IdentityClash *IdentityClash `json:"identity_clash,omitempty"`
}

// ObserverView is one observer's evidence about a member.
type ObserverView struct {
	// Opinion is reachable, suspect or none.
	Opinion string `json:"opinion"`
	// RTTMs is the observer's latest ping RTT to the member in ms (0: none).
	RTTMs float64 `json:"rtt_ms"`
	// Connected tells whether the observer has a live connection to the member.
	Connected bool `json:"connected"`
	// Relayed tells whether that connection goes through a relay.
	Relayed bool `json:"relayed"`
}

// Connection is a directed edge: Src's view of Dst.
type Connection struct {
	Src string `json:"src"`
	Dst string `json:"dst"`
	// RTTMs is Src's latest ping RTT to Dst in ms (0: none).
	RTTMs float64 `json:"rtt_ms"`
	// Status is up, down or unknown.
	Status string `json:"status"`
	// Relayed tells whether the link goes through a relay.
	Relayed bool `json:"relayed,omitempty"`
}
