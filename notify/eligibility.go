package notify

import (
	"time"

	"github.com/meshmon/meshmon/health"
)

// Reason says why an alert was not sent, or why a Delivered mark was not
// counted. Its values label meshmon_alerts_suppressed_total and
// meshmon_alert_marks_ignored_total.
type Reason string

// Why an alert is not sent (Eligible, Tracker, Ledger).
const (
	// ReasonUnconfirmed: fewer than 2 live observers had an opinion; the
	// status is this node's own view.
	ReasonUnconfirmed Reason = "unconfirmed"
	// ReasonSingleObserver: a degraded or offline status that fewer than 2
	// live observers claim (one member's word).
	ReasonSingleObserver Reason = "single_observer"
	// ReasonNotHeld: a status that ended before it had held for the hold
	// (a blip, or one of several short spells).
	ReasonNotHeld Reason = "not_held"
	// ReasonLate: the transition is older than the late bound (LateAfter);
	// it is dropped, never presented as news, and an event says so.
	ReasonLate Reason = "late"
	// ReasonLocalUnhealthy: this node, the sender, recovers from a pause or
	// cannot publish; the alert waits (counted once per alert).
	ReasonLocalUnhealthy Reason = "local_unhealthy"
	// ReasonSuperseded: a later alert about the same node was delivered.
	ReasonSuperseded Reason = "superseded"
	// ReasonLedgerFull: the ledger was full and forgot its oldest entry.
	ReasonLedgerFull Reason = "ledger_full"
)

// Why a Delivered mark is not counted (Ledger.MarkRemote and the node).
const (
	// ReasonMalformed: the alert_id is not "<cluster>:<alert id>", or longer
	// than MaxAlertIDLen.
	ReasonMalformed Reason = "malformed"
	// ReasonNotSender: the author is not the elected sender of that alert.
	ReasonNotSender Reason = "not_sender"
	// ReasonFuture: the mark names a transition in an ID bucket that has
	// not begun yet (a forged, predicted ID).
	ReasonFuture Reason = "future"
)

// SuppressReasons are the reasons of meshmon_alerts_suppressed_total, in
// export order.
func SuppressReasons() []Reason {
	return []Reason{ReasonUnconfirmed, ReasonSingleObserver, ReasonNotHeld, ReasonLate,
		ReasonLocalUnhealthy, ReasonSuperseded, ReasonLedgerFull}
}

// MarkReasons are the reasons of meshmon_alert_marks_ignored_total, in
// export order.
func MarkReasons() []Reason {
	return []Reason{ReasonMalformed, ReasonNotSender, ReasonFuture, ReasonLedgerFull}
}

// LateAfter is the default late bound for a hold: a transition more than
// 2 × hold + 30 s old when it would be sent is dropped. Hold + a
// suspect_after of resync after a pause stays well within it; what goes
// beyond it (a cluster that waited, a member that only now became the
// sender of an alert only its own tracker produced) is no longer news.
func LateAfter(hold time.Duration) time.Duration { return 2*max(hold, 0) + 30*time.Second }

// Held reports whether a status that began at start lasted at least hold
// without a break: until end when it ended (end not zero), else until now.
// Statuses are tracked from every view with the view's time, so two spells
// with a short break between them are two spells, each judged alone.
func Held(start, end, now time.Time, hold time.Duration) bool {
	if end.IsZero() {
		end = now
	}
	return !end.Before(start) && end.Sub(start) >= hold
}

// Agreed reports whether a verdict is an agreed status that may raise an
// alert, and the reason when not. Unconfirmed verdicts (fewer than 2 live
// observers) never are; degraded and offline need at least 2 suspecting
// observers, offline a majority of them. One member's word is an opinion,
// not a status (docs/liveness.md).
func Agreed(status health.Status, live, suspecting int) (bool, Reason) {
	if live < 2 {
		return false, ReasonUnconfirmed
	}
	switch status {
	case health.StatusOffline:
		if suspecting < 2 {
			return false, ReasonSingleObserver
		}
		if 2*suspecting <= live {
			return false, ReasonUnconfirmed
		}
	case health.StatusDegraded:
		if suspecting < 2 {
			return false, ReasonSingleObserver
		}
	}
	return true, ""
}

// LocalReady reports whether this node may send alerts given its own
// health: it must be healthy, and have been so for resync (the time its
// held statuses need to reflect the re-synced view). A zero Since means the
// engine does not report local health; that counts as healthy.
func LocalReady(l health.LocalHealth, now time.Time, resync time.Duration) bool {
	if l.Since.IsZero() {
		return true
	}
	return l.Healthy && now.Sub(l.Since) >= resync
}

// EligibilityInput is everything Eligible looks at.
type EligibilityInput struct {
	// Alert is the pending alert; At is when its status began.
	Alert Alert
	// Self is this node's node_id.
	Self string
	// Sender is the alert's elected sender (Dispatch's rule); "" while the
	// cluster waits.
	Sender string
	// Local is this node's own health (NetworkView.Local).
	Local health.LocalHealth
	// Now is the current time.
	Now time.Time
	// Hold is the tracker's hold; a recovered node waits it out too.
	Hold time.Duration
	// LateAfter is the late bound (0: LateAfter(Hold)).
	LateAfter time.Duration
}

// Eligibility is Eligible's decision.
type Eligibility struct {
	// Send is true when this node must send the alert now.
	Send bool
	// Reason says why not (empty when Send, or when another member sends).
	Reason Reason
	// Final is true when the alert must be dropped: it will never be sent
	// by this node, whatever happens next.
	Final bool
}

// Eligible decides whether this node sends a pending alert now. It is pure.
//
// An alert is sent only when all hold:
//   - it reports an agreed status (Agreed): never one member's word;
//   - it is news: its transition is at most LateAfter old, else it is
//     dropped (Final, ReasonLate);
//   - this node is its elected sender (the leader, or the runner-up for
//     alerts about the leader);
//   - this node's own health is good and has been for Hold (LocalReady): a
//     sender that resumes from a pause waits until it has re-synced.
//
// That the status held continuously for the hold is the Tracker's part
// (Held): it only makes alerts of statuses that did.
func Eligible(in EligibilityInput) Eligibility {
	a := in.Alert
	if ok, why := Agreed(statusOf(a.Kind), a.Live, a.Suspecting); !ok {
		return Eligibility{Reason: why, Final: true}
	}
	late := in.LateAfter
	if late <= 0 {
		late = LateAfter(in.Hold)
	}
	if in.Now.Sub(a.At) > late {
		return Eligibility{Reason: ReasonLate, Final: true}
	}
	if in.Sender == "" || in.Sender != in.Self {
		return Eligibility{}
	}
	if !LocalReady(in.Local, in.Now, in.Hold) {
		return Eligibility{Reason: ReasonLocalUnhealthy}
	}
	return Eligibility{Send: true}
}

// statusOf is the status an alert of kind k reports.
func statusOf(k Kind) health.Status {
	if rule, ok := monitorKindRule(k); ok {
		k = rule
	}
	switch k {
	case KindOffline:
		return health.StatusOffline
	case KindDegraded:
		return health.StatusDegraded
	case KindLeft:
		return health.StatusLeft
	}
	return health.StatusOnline
}
