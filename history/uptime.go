package history

import (
	"slices"
	"time"
)

// State is how a status counts towards uptime.
type State string

// The states of a timeline segment.
const (
	// StateUp: online (or a link up).
	StateUp State = "up"
	// StateDegraded: online but a minority of observers suspect it; counts as up.
	StateDegraded State = "degraded"
	// StateDown: offline (or a link down): an outage.
	StateDown State = "down"
	// StateLeft: the member announced a graceful leave; counts neither way.
	StateLeft State = "left"
	// StateNoData: this node was not running, or did not know yet.
	StateNoData State = "no_data"
)

// ClassifyNode maps a node's agreed status to its uptime state.
func ClassifyNode(status string) State {
	switch status {
	case "online":
		return StateUp
	case "degraded":
		return StateDegraded
	case "offline":
		return StateDown
	case "left":
		return StateLeft
	}
	return StateNoData
}

// ClassifyLink maps a link's status to its uptime state.
func ClassifyLink(status string) State {
	switch status {
	case "up":
		return StateUp
	case "down":
		return StateDown
	}
	return StateNoData
}

// Segment is a stretch of time in one state.
type Segment struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	State State     `json:"state"`
	// Status is the recorded status ("" for no data).
	Status string `json:"status,omitempty"`
}

// Outage is a stretch of down time.
type Outage struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// DurationMs is End - Start in milliseconds.
	DurationMs int64 `json:"duration_ms"`
	// StartedBefore: it was already down when the range began.
	StartedBefore bool `json:"started_before_range"`
	// Ongoing: still down at the end of the range.
	Ongoing bool `json:"ongoing"`
	// EndUnknown: this node stopped watching while it was down, so End is
	// the last time it was seen down, not when it came back.
	EndUnknown bool `json:"end_unknown"`
}

// Uptime is what Compute finds over one range.
type Uptime struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Durations in milliseconds per state.
	UpMs       int64 `json:"up_ms"`
	DegradedMs int64 `json:"degraded_ms"`
	DownMs     int64 `json:"down_ms"`
	LeftMs     int64 `json:"left_ms"`
	NoDataMs   int64 `json:"no_data_ms"`
	// Percent is (up + degraded) / (up + degraded + down) × 100; nil when
	// nothing was known in the range (all no data or left).
	Percent  *float64  `json:"percent"`
	Segments []Segment `json:"segments"`
	Outages  []Outage  `json:"outages"`
}

// Compute builds the timeline of one subject over [from, to) from this
// node's sessions and the subject's recorded changes, and sums it up. It is
// a pure function.
//
// Time outside every session is no data: this node was not watching, so it
// counts neither as up nor as down. Each session starts with no data until
// its first change. Sessions are taken in ID order and changes in the given
// order (the order they were recorded); a wall clock that stepped back is
// absorbed by never letting time run backwards (a session or change that
// claims an earlier time starts where the previous one ended), so no stretch
// of time is counted twice. A forward step is a gap: the recorder ends the
// session at the step.
func Compute(sessions []Session, changes []Change, from, to time.Time, classify func(string) State) Uptime {
	u := Uptime{From: from, To: to, Segments: []Segment{}, Outages: []Outage{}}
	if !to.After(from) {
		return u
	}
	ss := slices.Clone(sessions)
	slices.SortStableFunc(ss, func(a, b Session) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	bySession := map[uint64][]Change{}
	for _, c := range changes {
		bySession[c.Session] = append(bySession[c.Session], c)
	}

	var segs []Segment
	emit := func(start, end time.Time, st State, status string) {
		if start.Before(from) {
			start = from
		}
		if end.After(to) {
			end = to
		}
		if !end.After(start) {
			return
		}
		segs = append(segs, Segment{Start: start, End: end, State: st, Status: status})
	}
	var cursor time.Time // end of the time already accounted for
	for _, s := range ss {
		start, end := s.Start, s.End
		if !cursor.IsZero() && start.Before(cursor) {
			start = cursor
		}
		if end.Before(start) {
			end = start
		}
		// The stretch before this session was not watched.
		if !cursor.IsZero() {
			emit(cursor, start, StateNoData, "")
		} else {
			emit(from, start, StateNoData, "")
		}
		st, status, at := StateNoData, "", start
		for _, c := range bySession[s.ID] {
			t := c.Time
			if t.Before(at) {
				t = at
			}
			if t.After(end) {
				t = end
			}
			emit(at, t, st, status)
			st, status, at = classify(c.To), c.To, t
			if st == StateNoData {
				status = ""
			}
		}
		emit(at, end, st, status)
		cursor = end
	}
	if cursor.IsZero() {
		cursor = from
	}
	emit(cursor, to, StateNoData, "")

	// Merge neighbours in the same state and status.
	for _, sg := range segs {
		if n := len(u.Segments); n > 0 && u.Segments[n-1].End.Equal(sg.Start) &&
			u.Segments[n-1].State == sg.State && u.Segments[n-1].Status == sg.Status {
			u.Segments[n-1].End = sg.End
			continue
		}
		u.Segments = append(u.Segments, sg)
	}

	for i, sg := range u.Segments {
		d := sg.End.Sub(sg.Start).Milliseconds()
		switch sg.State {
		case StateUp:
			u.UpMs += d
		case StateDegraded:
			u.DegradedMs += d
		case StateDown:
			u.DownMs += d
		case StateLeft:
			u.LeftMs += d
		default:
			u.NoDataMs += d
		}
		if sg.State != StateDown {
			continue
		}
		if n := len(u.Outages); n > 0 && i > 0 && u.Segments[i-1].State == StateDown {
			o := &u.Outages[n-1]
			o.End = sg.End
			o.DurationMs = o.End.Sub(o.Start).Milliseconds()
		} else {
			u.Outages = append(u.Outages, Outage{Start: sg.Start, End: sg.End,
				DurationMs: sg.End.Sub(sg.Start).Milliseconds(), StartedBefore: sg.Start.Equal(from)})
		}
		o := &u.Outages[len(u.Outages)-1]
		o.Ongoing = sg.End.Equal(to)
		o.EndUnknown = i+1 < len(u.Segments) && u.Segments[i+1].State == StateNoData
	}
	if known := u.UpMs + u.DegradedMs + u.DownMs; known > 0 {
		p := float64(u.UpMs+u.DegradedMs) * 100 / float64(known)
		u.Percent = &p
	}
	return u
}
