package notify

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/p2p/pb"
)

// DefaultRetention is how long a Ledger remembers delivered IDs and keeps
// undelivered alerts: 24 hours.
const DefaultRetention = 24 * time.Hour

// Bounds of a Ledger (LedgerConfig's defaults).
const (
	// DefaultMaxAlerts is how many alerts a ledger holds at most; beyond
	// it the oldest is forgotten and counted.
	DefaultMaxAlerts = 4096
	// DefaultMaxUnknown is how many Delivered marks for alerts this node
	// does not hold yet (its consensus lags the sender's) it keeps.
	DefaultMaxUnknown = 1024
	// MaxAlertIDLen is the longest alert ID a Delivered mark may carry, in
	// bytes; longer marks are malformed (real IDs are far shorter).
	MaxAlertIDLen = 128
	// UnknownTTL is how long a Delivered mark for an alert not held yet is
	// kept: a member's consensus never lags the sender's that much.
	UnknownTTL = 2 * IDBucket
)

// DeliveredID is the alert_id carried by a Delivered gossip message:
// "<cluster short hash>:<alert id>". Alert IDs name the transition, not the
// cluster; one network may have several clusters (webhooks), and an alert
// delivered to one webhook is not delivered to the others.
func DeliveredID(clusterHash, alertID string) string {
	return shortHash(clusterHash) + ":" + alertID
}

// ParseDeliveredID splits a DeliveredID into the cluster's short hash and the
// alert ID. An alert ID longer than MaxAlertIDLen bytes is refused.
func ParseDeliveredID(s string) (shortHash, alertID string, ok bool) {
	h, id, found := strings.Cut(s, ":")
	if !found || len(h) != 16 || id == "" || len(id) > MaxAlertIDLen {
		return "", "", false
	}
	return h, id, true
}

// Delivered returns the gossip body announcing that alertID was delivered to
// the cluster's webhook.
func (c Cluster) Delivered(alertID string) *pb.Delivered {
	return &pb.Delivered{AlertId: DeliveredID(c.Hash, alertID)}
}

// DeliveredAlert returns the alert ID a Delivered message carries when it is
// about this cluster.
func (c Cluster) DeliveredAlert(d *pb.Delivered) (alertID string, ok bool) {
	h, id, ok := ParseDeliveredID(d.GetAlertId())
	if !ok || h != c.ShortHash() {
		return "", false
	}
	return id, true
}

type entryState uint8

const (
	statePending entryState = iota
	stateSending
	stateDone
	stateFailed
	// stateDropped: never to be sent from here (late, or not agreed).
	stateDropped
)

type ledgerEntry struct {
	alert Alert
	state entryState
	added time.Time
	// senders are the members that were the alert's elected sender at
	// some Take while this node held it; a Delivered mark counts from them.
	senders map[string]bool
	// deferred is set once the alert waited for this node's health (it is
	// counted once).
	deferred bool
}

type deliveredRecord struct {
	at time.Time
	// by is the local alert this Delivered ID was matched to; "" while none.
	by string
}

// LedgerConfig bounds a Ledger. Zero values take the defaults.
type LedgerConfig struct {
	// Retention is how long entries are kept (DefaultRetention).
	Retention time.Duration
	// MaxAlerts bounds the alerts held (DefaultMaxAlerts).
	MaxAlerts int
	// MaxUnknown bounds the Delivered marks held for alerts not held yet
	// (DefaultMaxUnknown).
	MaxUnknown int
}

// Ledger tracks one cluster's alerts on this node until they are delivered,
// whoever delivers them. Every member keeps one, leader or not, so a new
// leader knows what is still owed. It is not safe for concurrent use: the
// network's owner goroutine calls it.
//
// A Delivered ID delivers the local alert with the same ID, or else one whose
// Aliases contain it (the sender computed the transition in the neighbouring
// ID bucket). Each Delivered ID delivers at most one alert, and an ID heard
// before the alert was computed here (this node's consensus lagged) is kept
// and applied when Add brings the alert.
//
// It is bounded (LedgerConfig): beyond MaxAlerts alerts or MaxUnknown
// unmatched marks, the oldest are forgotten and counted (Evicted).
type Ledger struct {
	cfg       LedgerConfig
	alerts    map[string]*ledgerEntry
	delivered map[string]*deliveredRecord
	// unknown counts the records of delivered with by == "".
	unknown                       int
	evictedAlerts, evictedUnknown uint64
}

// NewLedger returns an empty ledger that forgets entries after retention
// (DefaultRetention when <= 0), with the default bounds.
func NewLedger(retention time.Duration) *Ledger {
	return NewLedgerWith(LedgerConfig{Retention: retention})
}

// NewLedgerWith returns an empty ledger bounded by c.
func NewLedgerWith(c LedgerConfig) *Ledger {
	if c.Retention <= 0 {
		c.Retention = DefaultRetention
	}
	if c.MaxAlerts <= 0 {
		c.MaxAlerts = DefaultMaxAlerts
	}
	if c.MaxUnknown <= 0 {
		c.MaxUnknown = DefaultMaxUnknown
	}
	return &Ledger{cfg: c, alerts: map[string]*ledgerEntry{}, delivered: map[string]*deliveredRecord{}}
}

// Evicted returns how many alerts and unmatched Delivered marks were
// forgotten because the ledger was full.
func (l *Ledger) Evicted() (alerts, unknown uint64) { return l.evictedAlerts, l.evictedUnknown }

// Len returns how many alerts and unmatched Delivered marks are held.
func (l *Ledger) Len() (alerts, unknown int) { return len(l.alerts), l.unknown }

// Add records new alerts as pending and returns those that are: alerts
// already known, or already delivered by another member, are left out.
func (l *Ledger) Add(now time.Time, alerts ...Alert) []Alert {
	var added []Alert
	for _, a := range alerts {
		if _, known := l.alerts[a.ID]; known {
			continue
		}
		e := &ledgerEntry{alert: a, added: now, senders: map[string]bool{}}
		l.alerts[a.ID] = e
		for _, id := range a.Aliases() {
			if r := l.delivered[id]; r != nil && r.by == "" {
				r.by, e.state = a.ID, stateDone
				l.unknown--
				break
			}
		}
		if e.state == statePending {
			added = append(added, a)
		}
		l.evictAlerts()
	}
	return added
}

// evictAlerts forgets the oldest alerts (not being sent) beyond MaxAlerts.
func (l *Ledger) evictAlerts() {
	for len(l.alerts) > l.cfg.MaxAlerts {
		var oldest *ledgerEntry
		for _, e := range l.alerts {
			if e.state == stateSending {
				continue
			}
			if oldest == nil || e.added.Before(oldest.added) ||
				(e.added.Equal(oldest.added) && e.alert.ID < oldest.alert.ID) {
				oldest = e
			}
		}
		if oldest == nil {
			return
		}
		delete(l.alerts, oldest.alert.ID)
		l.evictedAlerts++
	}
}

// evictUnknown forgets the oldest unmatched marks beyond MaxUnknown.
func (l *Ledger) evictUnknown() {
	for l.unknown > l.cfg.MaxUnknown {
		oldID, oldAt := "", time.Time{}
		for id, r := range l.delivered {
			if r.by == "" && (oldID == "" || r.at.Before(oldAt) || (r.at.Equal(oldAt) && id < oldID)) {
				oldID, oldAt = id, r.at
			}
		}
		if oldID == "" {
			return
		}
		delete(l.delivered, oldID)
		l.unknown--
		l.evictedUnknown++
	}
}

// MarkDelivered records that the alert with this ID was delivered to the
// cluster's webhook by this node (after a 2xx); MarkRemote is for another
// member's Delivered message. It reports whether a local alert was matched.
func (l *Ledger) MarkDelivered(now time.Time, id string) bool {
	applied, _ := l.mark(now, id, func(Alert) bool { return true }, func(string) Reason { return "" })
	return applied
}

// MarkRemote records a Delivered mark that member from published for
// this cluster. It counts only from the alert's elected sender, for an
// alert this node holds:
//   - may reports whether from is a held alert's sender now (Dispatch's
//     rule); a member that was its sender at an earlier Take counts too,
//     so a mark crossing a change of leader is not lost;
//   - for an ID that matches no held alert (this node's consensus lags the
//     sender's), mayUnknown vets it (e.g. from is the sender for the
//     subject, and the ID's bucket has begun) and returns "" to keep it,
//     bounded and for UnknownTTL, until the alert arrives.
//
// It returns whether a held alert was delivered and, when the mark was
// refused, why. A duplicate (the same mark by sync and by gossip) returns
// (false, "") and is otherwise ignored.
func (l *Ledger) MarkRemote(now time.Time, id, from string, may func(Alert) bool, mayUnknown func(id string) Reason) (bool, Reason) {
	return l.mark(now, id, func(a Alert) bool {
		return l.alerts[a.ID] != nil && l.alerts[a.ID].senders[from] || may(a)
	}, mayUnknown)
}

func (l *Ledger) mark(now time.Time, id string, may func(Alert) bool, mayUnknown func(string) Reason) (bool, Reason) {
	if r := l.delivered[id]; r != nil {
		return false, ""
	}
	if e := l.alerts[id]; e != nil {
		if !may(e.alert) {
			return false, ReasonNotSender
		}
		l.delivered[id] = &deliveredRecord{at: now, by: id}
		e.state = stateDone
		return true, ""
	}
	var best *ledgerEntry
	refused := false
	for _, e := range l.alerts {
		if e.state == stateDone || !slices.Contains(e.alert.Aliases(), id) {
			continue
		}
		if !may(e.alert) {
			refused = true
			continue
		}
		if best == nil || e.alert.At.Before(best.alert.At) ||
			(e.alert.At.Equal(best.alert.At) && e.alert.ID < best.alert.ID) {
			best = e
		}
	}
	if best == nil {
		if refused {
			return false, ReasonNotSender
		}
		if why := mayUnknown(id); why != "" {
			return false, why
		}
		l.delivered[id] = &deliveredRecord{at: now}
		l.unknown++
		l.evictUnknown()
		return false, ""
	}
	l.delivered[id] = &deliveredRecord{at: now, by: best.alert.ID}
	best.state = stateDone
	return true, ""
}

// MarkSending records that alerts were handed to the Sender, so Take does not
// hand them out again.
func (l *Ledger) MarkSending(ids ...string) { l.set(stateSending, ids) }

// Release returns alerts that were being sent to pending, e.g. when the
// Sender dropped them from a full queue.
func (l *Ledger) Release(ids ...string) {
	for _, id := range ids {
		if e := l.alerts[id]; e != nil && e.state == stateSending {
			e.state = statePending
		}
	}
}

// GiveUp records that delivering these alerts failed for good on this node
// (a 4xx, or retries exhausted): they are not sent again from here. Another
// member that becomes leader still sends them, and a later alert about the
// same node still goes out.
func (l *Ledger) GiveUp(ids ...string) { l.set(stateFailed, ids) }

func (l *Ledger) set(s entryState, ids []string) {
	for _, id := range ids {
		if e := l.alerts[id]; e != nil && e.state != stateDone {
			e.state = s
		}
	}
}

// Pending returns the alerts not yet delivered, handed out or given up,
// oldest first.
func (l *Ledger) Pending() []Alert { return l.inState(statePending) }

// Sending returns the alerts handed to the Sender without an outcome yet.
func (l *Ledger) Sending() []Alert { return l.inState(stateSending) }

func (l *Ledger) inState(s entryState) []Alert {
	var out []Alert
	for _, e := range l.alerts {
		if e.state == s {
			out = append(out, e.alert)
		}
	}
	slices.SortFunc(out, func(a, b Alert) int { return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ID, b.ID)) })
	return out
}

// IsDelivered reports whether the alert with this local ID is delivered.
func (l *Ledger) IsDelivered(id string) bool {
	e := l.alerts[id]
	return e != nil && e.state == stateDone
}

// Take returns what this node must send now (Plan over the pending
// alerts, with DefaultSettle) and marks them, and the alerts they cover, as
// being sent. upSince is Tracker.UpSince.
func (l *Ledger) Take(self string, el ElectionResult, upSince map[string]time.Time) []Alert {
	return l.TakeWith(self, el, upSince, TakeOptions{})
}

// TakeOptions tunes Ledger.TakeWith and Ledger.Plan. The zero value is
// Take's behaviour.
type TakeOptions struct {
	// Settle is DispatchInput.Settle (0: DefaultSettle).
	Settle time.Duration
	// Now is the current time, for the late bound (zero: nothing is late).
	Now time.Time
	// Hold is the tracker's hold (EligibilityInput.Hold).
	Hold time.Duration
	// LateAfter is the late bound (0: LateAfter(Hold)).
	LateAfter time.Duration
	// Local is this node's own health (zero: not reported, healthy).
	Local health.LocalHealth
}

// TakeWith is Take with options.
func (l *Ledger) TakeWith(self string, el ElectionResult, upSince map[string]time.Time, o TakeOptions) []Alert {
	return l.Plan(self, el, upSince, o).Send
}

// Plan decides (PlanDispatch) what to do with the pending alerts and
// applies it: the alerts to send, and those they cover, are marked as
// being sent; dropped ones are never sent from here. Each pending alert
// remembers its current sender, for MarkRemote. An alert that waits for
// this node's health is reported in Deferred once.
func (l *Ledger) Plan(self string, el ElectionResult, upSince map[string]time.Time, o TakeOptions) PlanResult {
	in := PlanInput{
		Dispatch: DispatchInput{Self: self, Election: el, Pending: l.Pending(), UpSince: upSince, Settle: o.Settle},
		Now:      o.Now, Hold: o.Hold, LateAfter: o.LateAfter, Local: o.Local,
	}
	for _, a := range in.Dispatch.Pending {
		if s := senderOf(in.Dispatch, a); s != "" {
			l.alerts[a.ID].senders[s] = true
		}
	}
	res := PlanDispatch(in)
	for _, a := range res.Send {
		l.MarkSending(a.IDs()...)
	}
	for _, d := range res.Dropped {
		if e := l.alerts[d.Alert.ID]; e != nil && e.state == statePending {
			e.state = stateDropped
		}
	}
	deferred := res.Deferred[:0]
	for _, a := range res.Deferred {
		if e := l.alerts[a.ID]; e != nil && !e.deferred {
			e.deferred = true
			deferred = append(deferred, a)
		}
	}
	res.Deferred = deferred
	return res
}

// Supersede marks as delivered every pending alert about a node for which a
// later alert is delivered, and returns their IDs. The delivered alert told
// the node's newer state, and Dispatch would have folded the earlier ones
// into it had this node held them when it was sent: a member that saw a
// transient step the sender did not (online → degraded → offline, where
// the sender saw online → offline) must not send that step on its own
// should it become the leader later.
func (l *Ledger) Supersede() []string {
	latest := map[string]time.Time{}
	for _, e := range l.alerts {
		if e.state == stateDone && e.alert.At.After(latest[e.alert.Node]) {
			latest[e.alert.Node] = e.alert.At
		}
	}
	var out []string
	for id, e := range l.alerts {
		if e.state == statePending && e.alert.At.Before(latest[e.alert.Node]) {
			e.state = stateDone
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Expire forgets alerts and delivered IDs older than the retention, and
// Delivered marks that matched no alert within UnknownTTL.
func (l *Ledger) Expire(now time.Time) {
	cut := now.Add(-l.cfg.Retention)
	for id, e := range l.alerts {
		if e.added.Before(cut) && e.state != stateSending {
			delete(l.alerts, id)
		}
	}
	for id, r := range l.delivered {
		switch {
		case r.by == "" && now.Sub(r.at) > UnknownTTL:
			delete(l.delivered, id)
			l.unknown--
		case r.by != "" && r.at.Before(cut):
			delete(l.delivered, id)
		}
	}
}
