package notify

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock whose time moves only when the test calls Advance.
// Tests wait for the code under test to arm a timer (waitTimer) instead of
// sleeping.
type fakeClock struct {
	// mu protects the following fields.
	mu      sync.Mutex
	now     time.Time
	timers  map[*fakeTimer]struct{}
	changed chan struct{} // closed and replaced whenever timers change
}

type fakeTimer struct {
	c  *fakeClock
	at time.Time
	d  time.Duration
	ch chan time.Time
}

func newFakeClock(t time.Time) *fakeClock {
	return &fakeClock{now: t, timers: map[*fakeTimer]struct{}{}, changed: make(chan struct{})}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), d: d, ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.ch <- c.now
		return t
	}
	c.timers[t] = struct{}{}
	c.notifyLocked()
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if _, ok := t.c.timers[t]; !ok {
		return false
	}
	delete(t.c.timers, t)
	t.c.notifyLocked()
	return true
}

func (c *fakeClock) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Advance moves time forward by d and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for t := range c.timers {
		if !t.at.After(c.now) {
			delete(c.timers, t)
			t.ch <- c.now
		}
	}
	c.notifyLocked()
}

// armed returns the durations of the active timers.
func (c *fakeClock) armed() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for t := range c.timers {
		out = append(out, t.d)
	}
	return out
}

// waitTimer waits until a timer of exactly d is armed.
func (c *fakeClock) waitTimer(t *testing.T, d time.Duration) {
	t.Helper()
	c.waitTimers(t, d, 1)
}

// waitTimers waits until n timers of exactly d are armed.
func (c *fakeClock) waitTimers(t *testing.T, d time.Duration, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		found := 0
		for tm := range c.timers {
			if tm.d == d {
				found++
			}
		}
		if found >= n {
			c.mu.Unlock()
			return
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("fewer than %d timers of %v armed; armed: %v", n, d, c.armed())
		}
	}
}
