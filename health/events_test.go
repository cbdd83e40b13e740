package health

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// fakeClock is an injected clock that only moves when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func ids(evs []Event) []uint64 {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

// seq returns the IDs from, from-1, ..., to (newest first).
func seq(from, to uint64) []uint64 {
	out := []uint64{}
	for id := from; id >= to && id > 0; id-- {
		out = append(out, id)
	}
	return out
}

func TestEventLogAdd(t *testing.T) {
	clock := newFakeClock(t0)
	l := NewEventLog(10, clock.Now)

	e1 := l.Add(Event{Kind: "config", Message: "first", ID: 99})
	if e1.ID != 1 {
		t.Errorf("first Add: ID = %d; want 1 (a caller's ID is replaced)", e1.ID)
	}
	if !e1.Time.Equal(t0) {
		t.Errorf("first Add: Time = %v; want the clock's %v", e1.Time, t0)
	}

	clock.Advance(time.Second)
	explicit := t0.Add(-time.Hour)
	e2 := l.Add(Event{Kind: "status", Time: explicit})
	if e2.ID != 2 {
		t.Errorf("second Add: ID = %d; want 2", e2.ID)
	}
	if !e2.Time.Equal(explicit) {
		t.Errorf("second Add: Time = %v; want the caller's %v", e2.Time, explicit)
	}

	e3 := l.Add(Event{Kind: "key"})
	if e3.ID != 3 || !e3.Time.Equal(t0.Add(time.Second)) {
		t.Errorf("third Add = %+v; want ID 3 at %v", e3, t0.Add(time.Second))
	}

	// List returns exactly what Add returned.
	if got, want := l.List(nil), []Event{e3, e2, e1}; !slices.Equal(got, want) {
		t.Errorf("List(nil) = %+v; want %+v", got, want)
	}
}

func TestEventLogNilClock(t *testing.T) {
	l := NewEventLog(1, nil)
	if e := l.Add(Event{Kind: "config"}); e.Time.IsZero() {
		t.Errorf("Add with a nil clock: Time is zero; want the real clock's time")
	}
}

func TestEventLogCapacity(t *testing.T) {
	for _, capacity := range []int{1, 2, 3, 5} {
		for added := 0; added <= 3*capacity+1; added++ {
			t.Run(fmt.Sprintf("cap=%d/added=%d", capacity, added), func(t *testing.T) {
				l := NewEventLog(capacity, newFakeClock(t0).Now)
				for range added {
					l.Add(Event{Kind: "status"})
				}
				kept := min(added, capacity)
				want := seq(uint64(added), uint64(added-kept+1))
				if got := ids(l.List(nil)); !slices.Equal(got, want) {
					t.Errorf("List(nil) IDs = %v; want %v", got, want)
				}
			})
		}
	}
}

func TestEventLogDefaultCapacity(t *testing.T) {
	for _, capacity := range []int{0, -1} {
		t.Run(fmt.Sprintf("capacity=%d", capacity), func(t *testing.T) {
			l := NewEventLog(capacity, newFakeClock(t0).Now)
			for range 1001 {
				l.Add(Event{Kind: "status"})
			}
			got := l.List(nil)
			if len(got) != 1000 {
				t.Fatalf("len(List(nil)) = %d; want the default capacity 1000", len(got))
			}
			if got[0].ID != 1001 || got[len(got)-1].ID != 2 {
				t.Errorf("List(nil) spans IDs %d..%d; want 1001..2", got[0].ID, got[len(got)-1].ID)
			}
		})
	}
}

func TestEventLogList(t *testing.T) {
	l := NewEventLog(100, newFakeClock(t0).Now)
	add := []Event{
		{Network: "n1", Severity: SeverityInfo, Kind: "status"},      // 1
		{Network: "n2", Severity: SeverityError, Kind: "status"},     // 2
		{Network: "", Severity: SeverityWarning, Kind: "config"},     // 3
		{Network: "n1", Severity: SeverityError, Kind: "status"},     // 4
		{Network: "n1", Severity: SeverityWarning, Kind: "key"},      // 5
		{Network: "n2", Severity: SeverityInfo, Kind: "delivery"},    // 6
		{Network: "n1", Severity: SeverityError, Kind: "delivery"},   // 7
		{Network: "", Severity: SeverityInfo, Kind: "config"},        // 8
		{Network: "n2", Severity: SeverityWarning, Kind: "status"},   // 9
		{Network: "n1", Severity: SeverityInfo, Kind: "status"},      // 10
		{Network: "n3", Severity: SeverityError, Kind: "status"},     // 11
		{Network: "n1", Severity: SeverityWarning, Kind: "config"},   // 12
		{Network: "n2", Severity: SeverityError, Kind: "delivery"},   // 13
		{Network: "", Severity: SeverityError, Kind: "key"},          // 14
		{Network: "n1", Severity: SeverityInfo, Kind: "delivery"},    // 15
		{Network: "n3", Severity: SeverityWarning, Kind: "delivery"}, // 16
	}
	for _, e := range add {
		l.Add(e)
	}
	network := func(n string) func(Event) bool { return func(e Event) bool { return e.Network == n } }
	severity := func(s Severity) func(Event) bool { return func(e Event) bool { return e.Severity == s } }

	tests := []struct {
		name string
		keep func(Event) bool
		want []uint64
	}{
		{"nil keeps all, newest first", nil, seq(16, 1)},
		{"network n1", network("n1"), []uint64{15, 12, 10, 7, 5, 4, 1}},
		{"network n2", network("n2"), []uint64{13, 9, 6, 2}},
		{"node-wide events", network(""), []uint64{14, 8, 3}},
		{"severity error", severity(SeverityError), []uint64{14, 13, 11, 7, 4, 2}},
		{"severity warning", severity(SeverityWarning), []uint64{16, 12, 9, 5, 3}},
		{"severity info", severity(SeverityInfo), []uint64{15, 10, 8, 6, 1}},
		{"network n1 and severity error", func(e Event) bool { return e.Network == "n1" && e.Severity == SeverityError }, []uint64{7, 4}},
		{"no match", network("nope"), []uint64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := l.List(tt.keep)
			if got == nil {
				t.Fatal("List returned nil; want a non-nil (possibly empty) slice so it encodes as []")
			}
			if !slices.Equal(ids(got), tt.want) {
				t.Errorf("List IDs = %v; want %v", ids(got), tt.want)
			}
			for i := 1; i < len(got); i++ {
				if got[i-1].ID <= got[i].ID {
					t.Errorf("List not newest first at %d: %d then %d", i, got[i-1].ID, got[i].ID)
				}
			}
		})
	}

	t.Run("filter after wrap-around", func(t *testing.T) {
		l := NewEventLog(4, newFakeClock(t0).Now)
		for i := range 10 { // IDs 1..10, networks alternate; 7..10 are kept
			l.Add(Event{Network: fmt.Sprintf("n%d", i%2)})
		}
		if got, want := ids(l.List(network("n0"))), []uint64{9, 7}; !slices.Equal(got, want) {
			t.Errorf("List(n0) IDs = %v; want %v", got, want)
		}
	})

	t.Run("result is a copy", func(t *testing.T) {
		got := l.List(nil)
		got[0].Message = "changed"
		if l.List(nil)[0].Message == "changed" {
			t.Error("modifying List's result changed the log")
		}
	})
}

// recv waits for one event on ch, failing the test after a generous deadline.
func recv(t *testing.T, ch <-chan Event) Event {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event delivered")
		return Event{}
	}
}

// assertNothing checks that ch holds no event. Add delivers synchronously
// into the follower's buffer, so after Add returns there is nothing to wait for.
func assertNothing(t *testing.T, ch <-chan Event) {
	t.Helper()
	select {
	case e := <-ch:
		t.Errorf("unexpected event %+v", e)
	default:
	}
}

func TestEventLogFollow(t *testing.T) {
	defer goleak.VerifyNone(t)

	l := NewEventLog(10, newFakeClock(t0).Now)
	l.Add(Event{Message: "before"})

	ch, stop := l.Follow(8)
	assertNothing(t, ch) // history is not replayed

	a := l.Add(Event{Message: "a"})
	b := l.Add(Event{Message: "b"})
	if got := recv(t, ch); got != a {
		t.Errorf("first followed event = %+v; want %+v", got, a)
	}
	if got := recv(t, ch); got != b {
		t.Errorf("second followed event = %+v; want %+v", got, b)
	}

	// A consumer goroutine, as an SSE handler would run, stops cleanly.
	done := make(chan struct{})
	got := make(chan Event, 8)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case e := <-ch:
				got <- e
			case <-done:
				return
			}
		}
	}()
	c := l.Add(Event{Message: "c"})
	if e := recv(t, got); e != c {
		t.Errorf("consumer got %+v; want %+v", e, c)
	}
	stop()
	close(done)
	wg.Wait()

	l.Add(Event{Message: "after stop"})
	assertNothing(t, ch)
	stop() // idempotent
	l.Add(Event{Message: "after second stop"})
	assertNothing(t, ch)
}

func TestEventLogFollowers(t *testing.T) {
	l := NewEventLog(10, newFakeClock(t0).Now)
	ch1, stop1 := l.Follow(4)
	ch2, stop2 := l.Follow(4)
	defer stop2()

	e := l.Add(Event{Message: "both"})
	if got := recv(t, ch1); got != e {
		t.Errorf("follower 1 got %+v; want %+v", got, e)
	}
	if got := recv(t, ch2); got != e {
		t.Errorf("follower 2 got %+v; want %+v", got, e)
	}

	stop1()
	e = l.Add(Event{Message: "only 2"})
	assertNothing(t, ch1)
	if got := recv(t, ch2); got != e {
		t.Errorf("follower 2 got %+v; want %+v", got, e)
	}
}

func TestEventLogSlowFollower(t *testing.T) {
	l := NewEventLog(10, newFakeClock(t0).Now)
	ch, stop := l.Follow(1)
	defer stop()

	// Nobody reads ch: Add must not block, and the follower misses what
	// does not fit its buffer.
	added := make(chan Event, 1)
	go func() {
		first := l.Add(Event{Message: "1"})
		l.Add(Event{Message: "2"})
		l.Add(Event{Message: "3"})
		added <- first
	}()
	var first Event
	select {
	case first = <-added:
	case <-time.After(10 * time.Second):
		t.Fatal("Add blocked on a follower that does not read")
	}

	if got := recv(t, ch); got != first {
		t.Errorf("slow follower got %+v; want the first event %+v", got, first)
	}
	assertNothing(t, ch)
	if got := len(l.List(nil)); got != 3 {
		t.Errorf("log holds %d events; want 3 (followers do not affect it)", got)
	}
	// Having fallen behind, it still gets new events.
	fourth := l.Add(Event{Message: "4"})
	if got := recv(t, ch); got != fourth {
		t.Errorf("slow follower got %+v; want %+v", got, fourth)
	}
}

// TestEventLogConcurrent exercises Add, List and Follow together under the
// race detector.
func TestEventLogConcurrent(t *testing.T) {
	const writers, perWriter = 4, 200
	l := NewEventLog(writers*perWriter, newFakeClock(t0).Now)
	ch, stop := l.Follow(writers * perWriter)

	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				l.Add(Event{Network: fmt.Sprintf("n%d", w), Message: fmt.Sprint(i)})
				if i%50 == 0 {
					l.List(func(e Event) bool { return e.Network == "n0" })
				}
			}
		}()
	}
	wg.Wait()
	stop()

	all := l.List(nil)
	if want := seq(writers*perWriter, 1); !slices.Equal(ids(all), want) {
		t.Fatalf("IDs are not 1..%d without gaps or duplicates: %v", writers*perWriter, ids(all))
	}
	// The follower's buffer held everything, in ID order.
	var last uint64
	for range writers * perWriter {
		e := recv(t, ch)
		if e.ID != last+1 {
			t.Fatalf("follower got ID %d after %d", e.ID, last)
		}
		last = e.ID
	}
	assertNothing(t, ch)
}

func TestEventLogSkipTo(t *testing.T) {
	for _, tc := range []struct {
		name         string
		before, skip uint64 // events added before SkipTo, argument
		want         uint64 // next id
	}{
		{"fresh log starts at the reserved id", 0, 1048577, 1048577},
		{"ids never go down", 5, 3, 6},
		{"after some events", 2, 100, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := NewEventLog(10, nil)
			for range tc.before {
				l.Add(Event{Kind: "config"})
			}
			l.SkipTo(tc.skip)
			if got := l.Add(Event{Kind: "config"}).ID; got != tc.want {
				t.Errorf("after SkipTo(%d), Add().ID = %d; want %d", tc.skip, got, tc.want)
			}
		})
	}
}
