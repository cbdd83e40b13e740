package health

// Status is the agreed liveness of one member of a network.
type Status string

// The statuses a member can have; see DESIGN.md §6.
const (
	// StatusUnknown: nothing has been heard from the member yet.
	StatusUnknown Status = "unknown"
	// StatusOnline: alive, and no live observer suspects it.
	StatusOnline Status = "online"
	// StatusDegraded: alive, but a minority of live observers suspect it.
	StatusDegraded Status = "degraded"
	// StatusOffline: a majority of live observers suspect it.
	StatusOffline Status = "offline"
	// StatusLeft: its last heartbeat announced a graceful leave.
	StatusLeft Status = "left"
)

// Opinion is what one observer thinks of one member.
type Opinion uint8

// The opinions an observer can hold.
const (
	// OpinionNone: the observer has never heard from the member (no evidence either way).
	OpinionNone Opinion = iota
	// OpinionReachable: the observer heard the member recently.
	OpinionReachable
	// OpinionSuspect: the observer heard the member before but not within suspect_after,
	// or lost every connection to it and could not redial.
	OpinionSuspect
)

// String returns "none", "reachable" or "suspect".
func (o Opinion) String() string {
	switch o {
	case OpinionReachable:
		return "reachable"
	case OpinionSuspect:
		return "suspect"
	default:
		return "none"
	}
}
