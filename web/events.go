package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/history"
)

// Limits of /api/events' limit parameter.
const (
	defaultEventLimit = 100
	maxEventLimit     = 1000
)

// EventPage is the body of /api/events.
type EventPage struct {
	// Events are newest first.
	Events []health.Event `json:"events"`
	// NextBefore, when not 0, is the before parameter of the next (older)
	// page; 0 (absent) on the last page.
	NextBefore uint64 `json:"next_before,omitempty"`
}

// eventQuery is /api/events' parsed query.
type eventQuery struct {
	limit    int
	before   uint64 // 0: from the newest
	network  string
	severity health.Severity
}

// badParam is a query parameter error answered with 400.
type badParam struct {
	name, value, want string
}

func (e *badParam) Error() string {
	return fmt.Sprintf("%s: want %s, got %q", e.name, e.want, e.value)
}

func parseEventQuery(q url.Values) (eventQuery, error) {
	eq := eventQuery{limit: defaultEventLimit, network: q.Get("network")}
	if s := q.Get("limit"); q.Has("limit") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxEventLimit {
			return eq, &badParam{"limit", s, fmt.Sprintf("a whole number from 1 to %d", maxEventLimit)}
		}
		eq.limit = n
	}
	if s := q.Get("before"); q.Has("before") {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || n < 1 {
			return eq, &badParam{"before", s, "an event id (a whole number from 1)"}
		}
		eq.before = n
	}
	if s := q.Get("severity"); q.Has("severity") {
		switch sev := health.Severity(s); sev {
		case health.SeverityInfo, health.SeverityWarning, health.SeverityError:
			eq.severity = sev
		default:
			return eq, &badParam{"severity", s, "info, warning or error"}
		}
	}
	return eq, nil
}

func (eq eventQuery) keep(e health.Event) bool {
	return (eq.before == 0 || e.ID < eq.before) &&
		(eq.network == "" || e.Network == eq.network) &&
		(eq.severity == "" || e.Severity == eq.severity)
}

func handleEvents(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		eq, err := parseEventQuery(r.URL.Query())
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		page := EventPage{Events: []health.Event{}}
		if d.Events != nil {
			page.Events = d.Events.List(eq.keep)
		}
		// Older pages, and earlier runs, come from the history store; the
		// newest events may not be written yet, so both are merged.
		if rec, err := d.historyReader(); err == nil {
			stored, err := rec.Store().Events(history.EventQuery{Before: eq.before, Limit: eq.limit + 1, Keep: eq.keep})
			if err != nil {
				writeError(w, http.StatusInternalServerError, err.Error())
				return
			}
			page.Events = mergeEvents(page.Events, stored)
		}
		if len(page.Events) > eq.limit {
			page.Events = page.Events[:eq.limit]
			page.NextBefore = page.Events[eq.limit-1].ID
		}
		writeJSON(w, http.StatusOK, page)
	}
}
