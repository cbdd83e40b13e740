package monitor

import "time"

// Result is one probe's outcome.
type Result struct {
	// State is up, warn or down.
	State State
	// Latency is the probe's duration (0: none).
	Latency time.Duration
	// Reason is short and human ("HTTP 503"); empty when up without remark.
	Reason string
}

// minRetryWait bounds how soon a failed probe is retried.
const minRetryWait = 250 * time.Millisecond

// streak follows one monitor's probes on this node and decides what it
// reports: a failure only after retry+1 failed probes in a row, a pass at
// once. It is pure; the prober owns it.
type streak struct {
	// reported is the state this node reports ("" before the first).
	reported State
	// fails counts failed probes in a row.
	fails int
}

// next takes a probe's result and returns what to report now, whether the
// reported state changed, and how long to wait before the next probe: the
// interval, or interval/4 while a failure is retried.
func (s *streak) next(r Result, retry int, interval time.Duration) (report Result, changed bool, wait time.Duration) {
	if r.State != StateDown {
		s.fails = 0
		changed = s.reported != r.State
		s.reported = r.State
		return r, changed, interval
	}
	s.fails++
	if s.fails <= retry {
		// Not yet down: keep reporting what was reported, retry soon.
		return Result{State: s.reported}, false, max(interval/4, minRetryWait)
	}
	changed = s.reported != StateDown
	s.reported = StateDown
	return r, changed, interval
}
