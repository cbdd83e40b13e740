package notify

import "time"

// Clock is the time source of a Sender. Tests inject a fake one so they never
// sleep. Implementations must be safe for concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a timer that fires once after d (immediately when
	// d <= 0).
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer made by a Clock.
type Timer interface {
	// C delivers the time once the timer fires; it is buffered, so a timer
	// nobody waits on does not leak a goroutine.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it did so.
	Stop() bool
}

// SystemClock is the real clock, backed by package time.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer returns a time.Timer.
func (SystemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

// C returns the timer's channel.
func (s systemTimer) C() <-chan time.Time { return s.t.C }

// Stop stops the timer.
func (s systemTimer) Stop() bool { return s.t.Stop() }
