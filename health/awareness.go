package health

import (
	"fmt"
	"time"
)

// Local awareness (Lifeguard, as in memberlist's awareness.go): before a
// node judges others it judges itself. A node that was not running on time
// (SIGSTOP, a long GC pause, CPU steal on a starved VM, a laptop that slept,
// a wall clock that jumped) sees every member's evidence as old at once; its
// silence-based suspicions are then about itself, not about them.
// See docs/liveness.md, "Local awareness".

// pauseLimit is how late the engine loop's tick may be before this node
// counts itself as paused: half a heartbeat, at least 300 ms. The loop
// ticks every 100 ms; a busy two-core machine delays it by tens of
// milliseconds. A node throttled by a CPU quota (cgroup cpu.max, CPU steal)
// runs in bursts a quota period apart, typically 100 ms to 1 s: its ticks
// come that late, and its pings just as late, so it must count as paused.
// A false pause costs little: silence-based suspicions wait suspect_after
// longer.
func pauseLimit(heartbeat time.Duration) time.Duration {
	return max(heartbeat/2, 300*time.Millisecond)
}

// clockJumpLimit is how far the wall clock may move apart from the monotonic
// clock between two ticks before it counts as a jump (NTP slews far less).
const clockJumpLimit = time.Second

// Lag tells whether the gap between two ticks of the engine loop shows that
// this node was not running on time, and why. monoGap is the gap on the
// monotonic clock, wallGap on the wall clock, tick the loop's period and
// heartbeat the network's. A pure function.
func Lag(monoGap, wallGap, tick, heartbeat time.Duration) (paused bool, reason string) {
	if late := monoGap - tick; late > pauseLimit(heartbeat) {
		return true, fmt.Sprintf("this node did not run for %s (paused or starved)", late.Round(time.Millisecond))
	}
	if d := wallGap - monoGap; d > clockJumpLimit || d < -clockJumpLimit {
		return true, fmt.Sprintf("the wall clock jumped by %s", d.Round(time.Millisecond))
	}
	return false, ""
}

// Awareness tracks this node's own health as an observer. The zero value is
// a node that never paused. It is owned by the engine's goroutine.
type Awareness struct {
	// ResumedAt is when this node last resumed from a pause (zero: never).
	ResumedAt time.Time
	// Reason says what the last pause was.
	Reason string
	// ReturnedAt is when this node last resumed from a pause of at least
	// suspect_after: one the other members saw as this node being offline
	// (zero: never). Shorter pauses went unseen.
	ReturnedAt time.Time
}

// Paused records that this node resumed at now after a pause.
func (a *Awareness) Paused(now time.Time, reason string) {
	a.ResumedAt, a.Reason = now, reason
}

// Recovering tells whether this node is still within suspectAfter of its
// last resume: its silence-based opinions are withdrawn until then.
func (a *Awareness) Recovering(now time.Time, suspectAfter time.Duration) bool {
	return !a.ResumedAt.IsZero() && now.Sub(a.ResumedAt) < suspectAfter
}
