package monitor

import (
	"testing"
	"time"
)

func TestStreak(t *testing.T) {
	const interval = 60 * time.Second
	up := Result{State: StateUp, Latency: time.Millisecond}
	warn := Result{State: StateWarn, Reason: "certificate expires in 4d"}
	down := Result{State: StateDown, Reason: "HTTP 503"}
	type step struct {
		in      Result
		state   State // reported state after it
		changed bool
		wait    time.Duration
	}
	tests := []struct {
		name  string
		retry int
		steps []step
	}{
		{"first pass is reported", 1, []step{{up, StateUp, true, interval}, {up, StateUp, false, interval}}},
		{"retry 0: one failure is down", 0, []step{{up, StateUp, true, interval}, {down, StateDown, true, interval}}},
		{"retry 1: down after two failures, retried at interval/4", 1, []step{
			{up, StateUp, true, interval},
			{down, StateUp, false, 15 * time.Second},
			{down, StateDown, true, interval},
			{down, StateDown, false, interval},
			{up, StateUp, true, interval},
		}},
		{"a pass between failures resets the count", 2, []step{
			{up, StateUp, true, interval},
			{down, StateUp, false, 15 * time.Second},
			{down, StateUp, false, 15 * time.Second},
			{up, StateUp, false, interval},
			{down, StateUp, false, 15 * time.Second},
		}},
		{"failing from the start reports nothing until down", 1, []step{
			{down, "", false, 15 * time.Second},
			{down, StateDown, true, interval},
		}},
		{"warn is a state of its own", 1, []step{{up, StateUp, true, interval}, {warn, StateWarn, true, interval}, {warn, StateWarn, false, interval}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s streak
			for i, st := range tt.steps {
				rep, changed, wait := s.next(st.in, tt.retry, interval)
				if rep.State != st.state || changed != st.changed || wait != st.wait {
					t.Fatalf("step %d (%s): got %q changed=%v wait=%v, want %q changed=%v wait=%v",
						i, st.in.State, rep.State, changed, wait, st.state, st.changed, st.wait)
				}
				if st.changed && rep != st.in {
					t.Errorf("step %d: a change reports the probe's own result %+v, got %+v", i, st.in, rep)
				}
			}
		})
	}
	var s streak
	if _, _, wait := s.next(down, 3, time.Second); wait != minRetryWait {
		t.Errorf("retry wait at a 1s interval = %v, want the floor %v", wait, minRetryWait)
	}
}
