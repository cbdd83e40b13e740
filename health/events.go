package health

import (
	"sync"
	"time"
)

// Severity grades an event.
type Severity string

// The severities of events.
const (
	SeverityInfo    Severity = "info"
	SeverityWarning Severity = "warning"
	SeverityError   Severity = "error"
)

// Event is something a user should know about: a status transition, a config
// problem, a member without a key.
type Event struct {
	// ID increases with every event on this node, and across its restarts
	// when it keeps history (EventLog.SkipTo).
	ID uint64 `json:"id"`
	// Time is when the event was raised (this node's clock).
	Time time.Time `json:"time"`
	// Network is the network_id, "" for node-wide events.
	Network string `json:"network,omitempty"`
	// Node is the member concerned, if any.
	Node string `json:"node,omitempty"`
	// Kind is "status", "config", "key", "git", "delivery", "identity",
	// "publish", "sync", "history" or "monitor".
	Kind string `json:"kind"`
	// Severity is info, warning or error.
	Severity Severity `json:"severity"`
	// Message says what happened, for people.
	Message string `json:"message"`
	// From and To are the old and new status of a status event.
	From Status `json:"from,omitempty"`
	To   Status `json:"to,omitempty"`
	// Confirmed tells whether a status event rests on a confirmed verdict.
	Confirmed bool `json:"confirmed,omitempty"`
}

// EventLog keeps the latest events of a node in a bounded ring and lets
// readers follow new ones. It is safe for concurrent use; Add never blocks.
type EventLog struct {
	now func() time.Time

	// mu protects the following fields.
	mu     sync.Mutex
	ring   []Event
	start  int
	n      int
	nextID uint64
	subs   map[chan Event]struct{}
}

// NewEventLog keeps up to capacity events (default 1000 when <= 0).
func NewEventLog(capacity int, now func() time.Time) *EventLog {
	if capacity <= 0 {
		capacity = 1000
	}
	if now == nil {
		now = time.Now
	}
	return &EventLog{now: now, ring: make([]Event, capacity), nextID: 1, subs: map[chan Event]struct{}{}}
}

// Add records e (setting its ID and, when zero, its Time) and passes it to
// followers; a follower that is not keeping up misses it.
func (l *EventLog) Add(e Event) Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	e.ID = l.nextID
	l.nextID++
	if e.Time.IsZero() {
		e.Time = l.now()
	}
	idx := (l.start + l.n) % len(l.ring)
	l.ring[idx] = e
	if l.n < len(l.ring) {
		l.n++
	} else {
		l.start = (l.start + 1) % len(l.ring)
	}
	for ch := range l.subs {
		select {
		case ch <- e:
		default:
		}
	}
	return e
}

// SkipTo makes the next event's id at least next; ids never go down. A
// node calls it at start with the first id its history store reserved for
// this run, so that ids stay unique across restarts and a browser resuming
// its event stream with an id from the previous run gets every new event.
func (l *EventLog) SkipTo(next uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nextID = max(l.nextID, next)
}

// List returns events newest first that match keep (nil keeps all).
func (l *EventLog) List(keep func(Event) bool) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Event, 0, l.n)
	for i := l.n - 1; i >= 0; i-- {
		e := l.ring[(l.start+i)%len(l.ring)]
		if keep == nil || keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// Follow returns a channel of new events and a function to stop following.
func (l *EventLog) Follow(buffer int) (<-chan Event, func()) {
	ch := make(chan Event, buffer)
	l.mu.Lock()
	l.subs[ch] = struct{}{}
	l.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			l.mu.Lock()
			delete(l.subs, ch)
			l.mu.Unlock()
		})
	}
}
