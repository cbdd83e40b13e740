package history

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, res, err := Open(dir, tm(0))
	if err != nil {
		t.Fatalf("Open(%s) = %v", dir, err)
	}
	if res.MovedAside != "" {
		t.Fatalf("Open(%s) moved a fresh dir's store aside: %+v", dir, res)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func TestStoreRoundTrip(t *testing.T) {
	s, _ := openTemp(t)
	a, link := NodeSubject("prod", "a"), LinkSubject("prod", "a", "b")
	b := &Batch{
		Sessions: []Session{{ID: 7, Start: tm(0), End: tm(5)}},
		Events: []health.Event{{ID: 1, Time: tm(1), Kind: "status", Message: "a is online"},
			{ID: 2, Time: tm(2), Kind: "config", Message: "reloaded"}},
		Changes: []Change{{Subject: a, Session: 7, Time: tm(1), From: "unknown", To: "online", AgreedBy: 2, LiveObservers: 3, Confirmed: true},
			{Subject: link, Session: 7, Time: tm(1), To: "up"}},
		Minutes: []RTTSample{
			{Subject: link, Rollup: Rollup{Start: tm(1), Min: 1, Mean: 2, Max: 3, Count: 2}},
			{Subject: link, Rollup: Rollup{Start: tm(2), Min: 4, Mean: 4, Max: 4, Count: 2}},
		},
		Alerts: []Alert{{Time: tm(3), Network: "prod", Node: "a", Outcome: AlertSuppressed, Reason: "not confirmed"}},
	}
	if err := s.Write(b); err != nil {
		t.Fatal(err)
	}
	// The session record is updated in place by later batches.
	if err := s.Write(&Batch{Sessions: []Session{{ID: 7, Start: tm(0), End: tm(9)}}}); err != nil {
		t.Fatal(err)
	}
	ss, err := s.Sessions()
	if err != nil || len(ss) != 1 || !ss[0].End.Equal(tm(9)) {
		t.Errorf("Sessions() = %+v, %v; want one session ending at minute 9", ss, err)
	}
	cs, err := s.Changes(a)
	if err != nil || len(cs) != 1 || cs[0] != b.Changes[0] {
		t.Errorf("Changes(a) = %+v, %v; want %+v", cs, err, b.Changes[0])
	}
	subs, err := s.Subjects("prod")
	if err != nil || len(subs) != 2 {
		t.Errorf("Subjects(prod) = %+v, %v; want node a and link a→b", subs, err)
	}
	mins, err := s.RTT(link, Minute, tm(0), tm(60))
	if err != nil || len(mins) != 2 || mins[1].Mean != 4 {
		t.Errorf("RTT(minute) = %+v, %v; want the two minutes", mins, err)
	}
	hours, err := s.RTT(link, Hour, tm(0), tm(60))
	want := Rollup{Start: tm(0), Min: 1, Mean: 3, Max: 4, Count: 4}
	if err != nil || len(hours) != 1 || hours[0] != want {
		t.Errorf("RTT(hour) = %+v, %v; want [%+v] (both minutes merged)", hours, err, want)
	}
	evs, err := s.Events(EventQuery{Limit: 10})
	if err != nil || len(evs) != 2 || evs[0].ID != 2 {
		t.Errorf("Events(0, 10) = %+v, %v; want ids 2, 1", evs, err)
	}
	evs, err = s.Events(EventQuery{Before: 2, Limit: 10})
	if err != nil || len(evs) != 1 || evs[0].ID != 1 {
		t.Errorf("Events(before 2) = %+v, %v; want id 1", evs, err)
	}
	evs, err = s.Events(EventQuery{After: 1, Limit: 10})
	if err != nil || len(evs) != 1 || evs[0].ID != 2 {
		t.Errorf("Events(after 1) = %+v, %v; want id 2", evs, err)
	}
	al, err := s.Alerts("prod", 10)
	if err != nil || len(al) != 1 || al[0].Reason != "not confirmed" {
		t.Errorf("Alerts(prod) = %+v, %v; want the suppressed alert", al, err)
	}
}

func TestNextEventIDIsUniqueAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	s, _, err := Open(dir, tm(0))
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.NextEventID()
	if err != nil || first != 1 {
		t.Fatalf("first run's NextEventID() = %d, %v; want 1", first, err)
	}
	// Events 1..3 are stored; 4 and 5 were raised but the process died
	// before they were flushed (a browser may have seen them).
	if err := s.Write(&Batch{Events: []health.Event{{ID: 1}, {ID: 2}, {ID: 3}}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, _, err = Open(dir, tm(1))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	second, err := s.NextEventID()
	if err != nil || second <= 5 {
		t.Fatalf("second run's NextEventID() = %d, %v; want above every id the first run could have used", second, err)
	}
	third, err := s.NextEventID()
	if err != nil || third <= second {
		t.Fatalf("third run's NextEventID() = %d, %v; want above the second's %d", third, err, second)
	}
}

func TestPrune(t *testing.T) {
	s, _ := openTemp(t)
	day := 24 * time.Hour
	now := tm(0).Add(100 * day)
	link := LinkSubject("n", "a", "b")
	old, recent := now.Add(-95*day), now.Add(-time.Hour)
	err := s.Write(&Batch{
		Sessions: []Session{{ID: 1, Start: old, End: old}, {ID: 2, Start: recent, End: recent}},
		Events:   []health.Event{{ID: 1, Time: old}, {ID: 2, Time: recent}},
		Changes:  []Change{{Subject: link, Session: 1, Time: old, To: "up"}, {Subject: link, Session: 2, Time: recent, To: "up"}},
		Minutes: []RTTSample{
			{Subject: link, Rollup: Rollup{Start: now.Add(-8 * day), Count: 1}}, // minute gone, hour kept
			{Subject: link, Rollup: Rollup{Start: now.Add(-401 * day), Count: 1}},
			{Subject: link, Rollup: Rollup{Start: recent, Count: 1}},
		},
		Alerts: []Alert{{Time: old}, {Time: recent}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prune(now, Retention{}); err != nil {
		t.Fatal(err)
	}
	count := func(name string, n int, err error, want int) {
		t.Helper()
		if err != nil || n != want {
			t.Errorf("after Prune, %s = %d, %v; want %d", name, n, err, want)
		}
	}
	ss, err := s.Sessions()
	count("sessions", len(ss), err, 1)
	evs, err := s.Events(EventQuery{Limit: 100})
	count("events", len(evs), err, 1)
	cs, err := s.Changes(link)
	count("changes", len(cs), err, 1)
	mins, err := s.RTT(link, Minute, time.Time{}, now)
	count("minute rollups", len(mins), err, 1)
	hours, err := s.RTT(link, Hour, time.Time{}, now)
	count("hour rollups", len(hours), err, 2)
	al, err := s.Alerts("", 100)
	count("alerts", len(al), err, 1)
}

func TestOpenMovesACorruptStoreAside(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"garbage", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte(strings.Repeat("not a bbolt file ", 1000)), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"truncated", func(t *testing.T, path string) {
			if err := os.Truncate(path, 100); err != nil {
				t.Fatal(err)
			}
		}},
		{"torn meta pages", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			// Both meta pages (page 0 and 1) get a scribble over their checksummed fields.
			for _, off := range []int64{16, 4096 + 16} {
				if _, err := f.WriteAt([]byte(strings.Repeat("\xff", 64)), off); err != nil {
					t.Fatal(err)
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, _, err := Open(dir, tm(0))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Write(&Batch{Events: []health.Event{{ID: 1, Message: "before"}}}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			path := filepath.Join(dir, FileName)
			tc.damage(t, path)

			s, res, err := Open(dir, tm(5))
			if err != nil {
				t.Fatalf("Open of a damaged store = %v; want a fresh store", err)
			}
			defer s.Close()
			if res.MovedAside == "" || !errors.Is(res.Problem, ErrCorrupt) {
				t.Fatalf("Open = %+v; want the damaged file moved aside as corrupt", res)
			}
			if _, err := os.Stat(res.MovedAside); err != nil {
				t.Errorf("moved-aside file: %v", err)
			}
			if err := s.Write(&Batch{Events: []health.Event{{ID: 9}}}); err != nil {
				t.Errorf("fresh store Write = %v", err)
			}
			if evs, _ := s.Events(EventQuery{Limit: 10}); len(evs) != 1 || evs[0].ID != 9 {
				t.Errorf("fresh store events = %+v; want only the new one", evs)
			}
		})
	}
}
