package health

import (
	"testing"
	"time"
)

func TestLag(t *testing.T) {
	const tick = 100 * time.Millisecond
	tests := []struct {
		name             string
		mono, wall, beat time.Duration
		want             bool
	}{
		{"on time", tick, tick, time.Second, false},
		{"busy machine: 400 ms late", 500 * time.Millisecond, 500 * time.Millisecond, time.Second, false},
		{"exactly a heartbeat late", tick + time.Second, tick + time.Second, time.Second, false},
		{"SIGSTOP for 10 s", 10 * time.Second, 10 * time.Second, time.Second, true},
		{"stall of 2.5 s", 2500 * time.Millisecond, 2500 * time.Millisecond, time.Second, true},
		{"short heartbeat: 500 ms floor", 700 * time.Millisecond, 700 * time.Millisecond, 100 * time.Millisecond, true},
		{"short heartbeat: under the floor", 550 * time.Millisecond, 550 * time.Millisecond, 100 * time.Millisecond, false},
		{"wall clock stepped forward 1 h", tick, tick + time.Hour, time.Second, true},
		{"wall clock stepped back 1 h", tick, tick - time.Hour, time.Second, true},
		{"NTP slew of 10 ms", tick, tick + 10*time.Millisecond, time.Second, false},
		{"suspend: wall moved, mono did not", tick, 30 * time.Minute, time.Second, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := Lag(tc.mono, tc.wall, tick, tc.beat)
			if got != tc.want {
				t.Errorf("Lag(%v, %v, %v, %v) = %v (%q); want %v", tc.mono, tc.wall, tick, tc.beat, got, reason, tc.want)
			}
			if got && reason == "" {
				t.Errorf("Lag(...) paused with no reason")
			}
		})
	}
}

func TestAwarenessRecovering(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var a Awareness
	if a.Recovering(t0, 3*time.Second) {
		t.Fatal("zero Awareness is recovering; want not")
	}
	a.Paused(t0, "test")
	for _, tc := range []struct {
		after time.Duration
		want  bool
	}{{0, true}, {2999 * time.Millisecond, true}, {3 * time.Second, false}, {time.Minute, false}} {
		if got := a.Recovering(t0.Add(tc.after), 3*time.Second); got != tc.want {
			t.Errorf("Recovering(resume+%v) = %v; want %v", tc.after, got, tc.want)
		}
	}
}
