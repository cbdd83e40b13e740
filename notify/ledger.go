package notify

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/meshmon/meshmon/p2p/pb"
)

// DefaultRetention is how long a Ledger remembers delivered IDs and keeps
// undelivered alerts: 24 hours.
const DefaultRetention = 24 * time.Hour

// DeliveredID is the alert_id carried by a Delivered gossip message:
// "<cluster short hash>:<alert id>". Alert IDs name the transition, not the
// cluster; one network may have several clusters (webhooks), and an alert
// delivered to one webhook is not delivered to the others.
func DeliveredID(clusterHash, alertID string) string {
	return shortHash(clusterHash) + ":" + alertID
}

// ParseDeliveredID splits a DeliveredID into the cluster's short hash and the
// alert ID.
func ParseDeliveredID(s string) (shortHash, alertID string, ok bool) {
	h, id, found := strings.Cut(s, ":")
	if !found || len(h) != 16 || id == "" {
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
)

type ledgerEntry struct {
	alert Alert
	state entryState
	added time.Time
}

type deliveredRecord struct {
	at time.Time
	// by is the local alert this Delivered ID was matched to; "" while none.
	by string
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
type Ledger struct {
	retention time.Duration
	alerts    map[string]*ledgerEntry
	delivered map[string]*deliveredRecord
}

// NewLedger returns an empty ledger that forgets entries after retention
// (DefaultRetention when <= 0).
func NewLedger(retention time.Duration) *Ledger {
	if retention <= 0 {
		retention = DefaultRetention
	}
	return &Ledger{retention: retention, alerts: map[string]*ledgerEntry{}, delivered: map[string]*deliveredRecord{}}
}

// Add records new alerts as pending and returns those that are: alerts
// already known, or already delivered by another member, are left out.
func (l *Ledger) Add(now time.Time, alerts ...Alert) []Alert {
	var added []Alert
	for _, a := range alerts {
		if _, known := l.alerts[a.ID]; known {
			continue
		}
		e := &ledgerEntry{alert: a, added: now}
		l.alerts[a.ID] = e
		for _, id := range a.Aliases() {
			if r := l.delivered[id]; r != nil && r.by == "" {
				r.by, e.state = a.ID, stateDone
				break
			}
		}
		if e.state == statePending {
			added = append(added, a)
		}
	}
	return added
}

// MarkDelivered records that the alert with this ID was delivered to the
// cluster's webhook, by this node (after a 2xx) or by another member (a
// Delivered message). It reports whether a local alert was matched.
func (l *Ledger) MarkDelivered(now time.Time, id string) bool {
	if r := l.delivered[id]; r != nil {
		return false
	}
	r := &deliveredRecord{at: now}
	l.delivered[id] = r
	if e := l.alerts[id]; e != nil {
		r.by, e.state = id, stateDone
		return true
	}
	var best *ledgerEntry
	for _, e := range l.alerts {
		if e.state == stateDone || !slices.Contains(e.alert.Aliases(), id) {
			continue
		}
		if best == nil || e.alert.At.Before(best.alert.At) ||
			(e.alert.At.Equal(best.alert.At) && e.alert.ID < best.alert.ID) {
			best = e
		}
	}
	if best == nil {
		return false
	}
	r.by, best.state = best.alert.ID, stateDone
	return true
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

// Take returns what this node must send now (Dispatch over the pending
// alerts, with DefaultSettle) and marks them, and the alerts they cover, as
// being sent. upSince is Tracker.UpSince.
func (l *Ledger) Take(self string, el ElectionResult, upSince map[string]time.Time) []Alert {
	return l.TakeWith(self, el, upSince, TakeOptions{})
}

// TakeOptions tunes Ledger.TakeWith. The zero value is Take's behaviour.
type TakeOptions struct {
	// Settle is DispatchInput.Settle (0: DefaultSettle).
	Settle time.Duration
}

// TakeWith is Take with options.
func (l *Ledger) TakeWith(self string, el ElectionResult, upSince map[string]time.Time, o TakeOptions) []Alert {
	send := Dispatch(DispatchInput{Self: self, Election: el, Pending: l.Pending(), UpSince: upSince, Settle: o.Settle})
	for _, a := range send {
		l.MarkSending(a.IDs()...)
	}
	return send
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

// Expire forgets alerts and delivered IDs older than the retention.
func (l *Ledger) Expire(now time.Time) {
	cut := now.Add(-l.retention)
	for id, e := range l.alerts {
		if e.added.Before(cut) && e.state != stateSending {
			delete(l.alerts, id)
		}
	}
	for id, r := range l.delivered {
		if r.at.Before(cut) {
			delete(l.delivered, id)
		}
	}
}
