package notify

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meshmon/meshmon/health"
)

// Kind is what an alert reports.
type Kind string

// The kinds of alerts; each is named for the status the node moved to.
const (
	// KindOffline: a majority of live observers suspect the node.
	KindOffline Kind = "offline"
	// KindOnline: the node is back online after being offline, degraded or
	// gone (Since and Until give the outage).
	KindOnline Kind = "online"
	// KindDegraded: a minority of live observers cannot reach the node.
	KindDegraded Kind = "degraded"
	// KindLeft: the node announced a graceful leave.
	KindLeft Kind = "left"
)

// Alert is one confirmed consensus transition of one node, to be delivered.
type Alert struct {
	// ID is AlertID(Network, Node, Kind, Boot, At): the same on every member
	// of the cluster for the same transition (see IDBucket).
	ID string
	// Network is the network_id.
	Network string
	// Node is the node_id the alert is about.
	Node string
	// Kind is what happened.
	Kind Kind
	// From is the last confirmed status before the transition; for online
	// alerts, the worst status of the outage (offline rather than the
	// degraded a node passes through as observers see it return).
	From health.Status
	// At is when this node's consensus confirmed the transition (its clock).
	At time.Time
	// Since is when the reported condition began: At for offline, degraded
	// and left; for online, when the outage (the From status) began — zero
	// when it began before this node knew the node.
	Since time.Time
	// Until is when the outage ended, for online alerts (= At); zero for the
	// other kinds.
	Until time.Time
	// Boot is the node's boot_id as last heard (0: unknown).
	Boot uint64
	// Agreeing is how many live observers agree with the new status.
	Agreeing int
	// Live is how many live observers had an opinion.
	Live int
	// Suspecting is how many of them suspect the node.
	Suspecting int
	// LastRTT is the last known ping round trip to the node (0: none).
	LastRTT time.Duration
	// Covers are IDs of earlier undelivered alerts about the same node that
	// this one reports too (set by Dispatch); delivering it delivers them.
	Covers []string

	// Monitor alerts (KindMonitor*): Node is MonitorSubject(Monitor);
	// Live is how many live vantage points have a result and Suspecting
	// how many fail (or warn).
	// Monitor is the monitor's name; Target what it probes (no
	// credentials).
	Monitor, Target string
	// Reason is a warning's reason ("certificate expires in 4d").
	Reason string
	// Evidence says what each vantage point saw (monitor.Evidence).
	Evidence string
}

// Title is the alert's headline: "<node> is offline", "<node> is back
// online", "<node> is degraded" or "<node> left".
func (a Alert) Title() string {
	if a.IsMonitor() {
		return a.monitorTitle()
	}
	switch a.Kind {
	case KindOnline:
		return a.Node + " is back online"
	case KindLeft:
		return a.Node + " left"
	}
	return a.Node + " is " + string(a.Kind)
}

// Duration is how long the outage lasted, for online alerts whose start is
// known; 0 otherwise.
func (a Alert) Duration() time.Duration {
	if a.Since.IsZero() || a.Until.IsZero() || a.Until.Before(a.Since) {
		return 0
	}
	return a.Until.Sub(a.Since)
}

// IDs returns the alert's ID followed by those it covers.
func (a Alert) IDs() []string { return append([]string{a.ID}, a.Covers...) }

// IDBucket is the width of the time bucket in alert IDs.
//
// Every member of a cluster computes the same transition on its own, from the
// same gossip, but at a slightly different local time (report propagation,
// evaluation ticks, its own suspect timer): typically well under a second,
// a few seconds when links are bad. An ID built from the exact time would
// differ between members, and a new leader would resend alerts the old one
// had delivered. Nothing finer is shared: the subject's heartbeat sequence
// numbers as last heard differ between observers just like the times do, and
// per-node transition counters differ for members that joined later.
//
// So the ID holds the network, node, kind, the node's boot_id (it orders
// restarts and separates outages of different runs) and floor(At/IDBucket).
// Two members get the same ID unless their times straddle a bucket border;
// for that case an alert also answers to its alias: the ID of the
// neighbouring bucket within IDBucket/2 of At (Aliases). A Delivered
// message for either ID delivers the alert, as long as the skew stays below
// IDBucket/2 (15 s). Because the Ledger lets each Delivered ID deliver one
// alert only, two real transitions of the same kind within one bucket (a
// flapping node) are not merged into one.
const IDBucket = 30 * time.Second

// AlertID returns the deterministic ID of a transition:
// "<network>/<node>/<kind>/<boot>/<bucket>", with network and node path
// escaped and bucket = floor(at / IDBucket) in unix time.
//
// When the same node makes the same kind of transition again within one
// bucket (a flapping node: offline, online, offline in 30 s), Transitions
// appends "~2", "~3", … so the later transition is not taken for the earlier,
// already delivered one. Members that saw the same flap number it alike.
func AlertID(network, node string, kind Kind, boot uint64, at time.Time) string {
	return alertID(idPrefix(network, node, kind, boot), bucketOf(at), 1)
}

func alertID(prefix string, bucket int64, ordinal int) string {
	id := prefix + strconv.FormatInt(bucket, 10)
	if ordinal > 1 {
		id += "~" + strconv.Itoa(ordinal)
	}
	return id
}

func idPrefix(network, node string, kind Kind, boot uint64) string {
	return url.PathEscape(network) + "/" + url.PathEscape(node) + "/" + string(kind) + "/" +
		strconv.FormatUint(boot, 10) + "/"
}

func bucketOf(t time.Time) int64 {
	ms, w := t.UnixMilli(), IDBucket.Milliseconds()
	b := ms / w
	if ms%w < 0 {
		b--
	}
	return b
}

// Aliases returns the IDs under which other members may know this alert:
// its own ID and that of the neighbouring bucket within IDBucket/2 of At.
func (a Alert) Aliases() []string {
	out := []string{a.ID}
	prefix, _, ordinal, ok := parseID(a.ID)
	if !ok {
		return out
	}
	for _, b := range []int64{bucketOf(a.At.Add(-IDBucket / 2)), bucketOf(a.At.Add(IDBucket / 2))} {
		if id := alertID(prefix, b, ordinal); !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// Known is the last confirmed status of a node, as Transitions remembers it.
type Known struct {
	// Status is the last confirmed status.
	Status health.Status
	// Since is when this node saw it begin; zero when it was already so when
	// this node first learnt of it.
	Since time.Time
	// Recent are the IDs of this node's alerts in the current and previous
	// ID buckets, so that a flapping node's repeated transitions of one kind
	// within a bucket get distinct IDs.
	Recent []string
	// Outage is set while a node moves between statuses other than online
	// (offline → degraded as it comes back): the worst of them so far and
	// since when. Nil when the node has had a single status since it was
	// last online (Status and Since say it all).
	Outage *Outage
}

// Outage is the worst status of a node since it was last online.
type Outage struct {
	// Worst is the most severe status: left, then offline, then degraded.
	Worst health.Status
	// Since is when Worst began; zero when it began before this node knew.
	Since time.Time
}

// severity ranks the statuses an outage may pass through.
func severity(s health.Status) int {
	switch s {
	case health.StatusDegraded:
		return 1
	case health.StatusOffline:
		return 2
	case health.StatusLeft:
		return 3
	}
	return 0
}

// outageOf returns k's outage: its Outage, or its own status since Since.
func outageOf(k Known) Outage {
	if k.Outage != nil {
		return *k.Outage
	}
	return Outage{Worst: k.Status, Since: k.Since}
}

// TransitionInput is everything Transitions looks at.
type TransitionInput struct {
	// Network is the network_id.
	Network string
	// Prev is each node's last confirmed status (from the previous call).
	Prev map[string]Known
	// Verdicts are the current consensus verdicts by node_id.
	Verdicts map[string]health.Verdict
	// Boots are the nodes' boot_ids as last heard (optional).
	Boots map[string]uint64
	// LastRTT is the last known ping RTT to each node (optional).
	LastRTT map[string]time.Duration
	// Now is the current time.
	Now time.Time
	// At, when it has an entry for a node, is when its new status began
	// (the tracker's exact start of a held status); default Now.
	At map[string]time.Time
}

// Transitions returns the alerts for the confirmed transitions between Prev
// and Verdicts, sorted by node, and the Known map to pass as Prev next time.
//
// Only confirmed verdicts count: an unconfirmed one (fewer than 2 live
// observers) neither alerts nor changes what is known, so when confirmation
// returns the comparison is with the last confirmed status and an outage that
// ended meanwhile is still reported as "was offline from … to …". A node's
// first confirmed status (From unknown) is learnt without an alert, so a
// restarting node does not re-announce every outage; "unknown" verdicts are
// ignored. Any other change of confirmed status alerts, with the new status
// as the Kind.
func Transitions(in TransitionInput) ([]Alert, map[string]Known) {
	next := make(map[string]Known, max(len(in.Prev), len(in.Verdicts)))
	for n, k := range in.Prev {
		next[n] = k
	}
	var out []Alert
	for _, node := range slices.Sorted(maps.Keys(in.Verdicts)) {
		v := in.Verdicts[node]
		if !v.Confirmed || v.Status == health.StatusUnknown {
			continue
		}
		prev, seen := in.Prev[node]
		if !seen || prev.Status == health.StatusUnknown {
			next[node] = Known{Status: v.Status}
			continue
		}
		if prev.Status == v.Status {
			continue
		}
		at := in.Now
		if t, ok := in.At[node]; ok {
			at = t
		}
		nk := Known{Status: v.Status, Since: at}
		if v.Status != health.StatusOnline && prev.Status != health.StatusOnline {
			o := outageOf(prev)
			if severity(v.Status) > severity(o.Worst) {
				o = Outage{Worst: v.Status, Since: at}
			}
			nk.Outage = &o
		}
		next[node] = nk
		kind := kindOf(v.Status)
		a := Alert{
			Network:    in.Network,
			Node:       node,
			Kind:       kind,
			From:       prev.Status,
			At:         at,
			Since:      at,
			Boot:       in.Boots[node],
			Agreeing:   v.Agreeing(),
			Live:       v.Live,
			Suspecting: v.Suspecting,
			LastRTT:    in.LastRTT[node],
		}
		if kind == KindOnline {
			o := outageOf(prev)
			a.From, a.Since, a.Until = o.Worst, o.Since, at
		}
		a.ID, next[node] = nextID(a, prev.Recent, next[node])
		out = append(out, a)
	}
	return out, next
}

// nextID numbers a's transition within its bucket against the node's recent
// IDs and returns the ID and k with Recent updated (older buckets dropped).
func nextID(a Alert, recent []string, k Known) (string, Known) {
	prefix, bucket := idPrefix(a.Network, a.Node, a.Kind, a.Boot), bucketOf(a.At)
	ordinal := 1
	k.Recent = make([]string, 0, len(recent)+1)
	for _, id := range recent {
		p, b, o, ok := parseID(id)
		if !ok || b < bucket-1 {
			continue
		}
		k.Recent = append(k.Recent, id)
		if p == prefix && b == bucket && o >= ordinal {
			ordinal = o + 1
		}
	}
	id := alertID(prefix, bucket, ordinal)
	k.Recent = append(k.Recent, id)
	return id, k
}

func kindOf(s health.Status) Kind {
	switch s {
	case health.StatusOffline:
		return KindOffline
	case health.StatusOnline:
		return KindOnline
	case health.StatusDegraded:
		return KindDegraded
	case health.StatusLeft:
		return KindLeft
	}
	return ""
}

// parseID splits an alert ID into its prefix (network/node/kind/boot/),
// bucket and ordinal (1 when absent).
func parseID(id string) (prefix string, bucket int64, ordinal int, ok bool) {
	i := strings.LastIndexByte(id, '/')
	if i < 0 {
		return "", 0, 0, false
	}
	rest, ordinal := id[i+1:], 1
	if j := strings.IndexByte(rest, '~'); j >= 0 {
		o, err := strconv.Atoi(rest[j+1:])
		if err != nil || o < 2 {
			return "", 0, 0, false
		}
		rest, ordinal = rest[:j], o
	}
	b, err := strconv.ParseInt(rest, 10, 64)
	if err != nil {
		return "", 0, 0, false
	}
	return id[:i+1], b, ordinal, true
}

// ParseAlertID returns the node an alert ID is about and the start of its
// ID bucket.
func ParseAlertID(id string) (node string, bucketStart time.Time, ok bool) {
	prefix, bucket, _, ok := parseID(id)
	if !ok {
		return "", time.Time{}, false
	}
	parts := strings.Split(prefix, "/")
	if len(parts) != 5 {
		return "", time.Time{}, false
	}
	node, err := url.PathUnescape(parts[1])
	if err != nil || node == "" {
		return "", time.Time{}, false
	}
	return node, time.UnixMilli(bucket * IDBucket.Milliseconds()), true
}
