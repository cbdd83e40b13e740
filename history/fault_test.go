package history

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
)

// mountTmpfs mounts a tmpfs of size with opts on a fresh dir and unmounts
// it when the test ends. It needs root (CI and these machines run tests as
// root); elsewhere the test is skipped, as it cannot make a full or
// read-only file system, except under CI=true, where it fails.
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root to mount a tmpfs, and CI runs as root")
		}
		t.Skip("needs root to mount a tmpfs (skipped because CI is not true)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

func TestOpenReadOnlyDataDirIsNotCorruption(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T) string
	}{
		{"read-only file system", func(t *testing.T) string {
			dir := mountTmpfs(t, "size=1m")
			// A store made while writable, then the file system goes read-only.
			s, _, err := Open(filepath.Join(dir, "data"), tm(0))
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
				t.Fatalf("remount ro: %v: %s", err, out)
			}
			return filepath.Join(dir, "data")
		}},
		{"read-only file system, no store yet", func(t *testing.T) string {
			return filepath.Join(mountTmpfs(t, "size=1m,ro"), "data")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.setup(t)
			s, res, err := Open(dir, tm(0))
			if err == nil {
				s.Close()
				t.Fatalf("Open on a read-only data dir succeeded; want an error")
			}
			if errors.Is(err, ErrCorrupt) || res.MovedAside != "" {
				t.Errorf("Open = %+v, %v; a read-only dir is not a corrupt store", res, err)
			}
			// The recorder without a store says why and records nothing.
			rec := NewRecorder(RecorderConfig{Unavailable: err.Error(), Events: health.NewEventLog(10, nil),
				View: func() *health.View { return nil }})
			if h := rec.Health(); h.State != "unavailable" || !strings.Contains(h.Error, "read-only") {
				t.Errorf("Health() = %+v; want unavailable with the read-only error", h)
			}
		})
	}
}

func TestFullDiskKeepsMonitoringAndRecovers(t *testing.T) {
	dir := mountTmpfs(t, "size=4m")
	store, _, err := Open(filepath.Join(dir, "data"), tm(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() }) // after the recorder's last write
	clock := &testClock{wall: tm(0)}
	events := health.NewEventLog(1000, clock.Now)
	view := &testView{}
	view.set(health.StatusOnline, "up")
	rec, _ := startRecorder(t, RecorderConfig{Store: store, Events: events, View: view.get, Now: clock.Now,
		Elapsed: clock.Elapsed, Session: 1})
	flush(t, rec)

	// Fill the file system.
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()

	// Enough events that the batch needs new pages.
	long := strings.Repeat("x", 2000)
	for range 300 {
		events.Add(health.Event{Kind: "config", Severity: health.SeverityInfo, Message: long})
	}
	ctx := t.Context()
	if err := rec.Flush(ctx); err == nil {
		t.Fatal("Flush on a full disk succeeded; want the write error")
	}
	if err := rec.Flush(ctx); err == nil {
		t.Fatal("second Flush on a full disk succeeded; want the write error")
	}
	h := rec.Health()
	if h.State != "failing" || h.WriteErrors < 2 || h.Pending == 0 || h.Since == nil {
		t.Errorf("Health() on a full disk = %+v; want failing with counted errors and pending records", h)
	}
	if st := rec.Stats(); st.OK || st.WriteErrors < 2 {
		t.Errorf("Stats() = %+v; want not OK, write errors counted", st)
	}
	// Logged once: one error event for the whole run of failures.
	errs := events.List(func(e health.Event) bool { return e.Kind == "history" && e.Severity == health.SeverityError })
	if len(errs) != 1 {
		t.Errorf("history error events = %d; want exactly 1 for a run of failures", len(errs))
	}
	// Monitoring goes on: the event log still takes events.
	if e := events.Add(statusEvent("a", health.StatusOnline, health.StatusOffline)); e.ID == 0 {
		t.Error("event log stopped on a full disk")
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if err := rec.Flush(ctx); err != nil {
		t.Fatalf("Flush after space was freed = %v", err)
	}
	if h := rec.Health(); h.State != "ok" || h.Pending != 0 {
		t.Errorf("Health() after recovery = %+v; want ok, nothing pending", h)
	}
	evs, err := store.Events(EventQuery{Limit: 1000})
	if err != nil || len(evs) < 300 {
		t.Errorf("after recovery, stored events = %d, %v; want the ones held during the outage", len(evs), err)
	}
	ok := events.List(func(e health.Event) bool { return e.Kind == "history" && e.Severity == health.SeverityInfo })
	if len(ok) != 1 {
		t.Errorf("history recovery events = %d; want 1", len(ok))
	}
}

// waitFor polls cond every 10 ms until it holds or 20 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// fill writes to path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			return
		}
	}
}

// TestUnavailableStoreIsRetriedUntilItOpens starts a recorder whose data
// dir cannot be written (a read-only or a full file system), as a node
// does, then makes the dir writable: the store opens without a restart,
// history is kept from then on, and it is said once.
func TestUnavailableStoreIsRetriedUntilItOpens(t *testing.T) {
	for _, tc := range []struct {
		name              string
		breakDir, mendDir func(t *testing.T, mnt string)
	}{
		{"read-only file system",
			func(t *testing.T, mnt string) {
				if out, err := exec.Command("mount", "-o", "remount,ro", mnt).CombinedOutput(); err != nil {
					t.Fatalf("remount ro: %v: %s", err, out)
				}
			},
			func(t *testing.T, mnt string) {
				if out, err := exec.Command("mount", "-o", "remount,rw", mnt).CombinedOutput(); err != nil {
					t.Fatalf("remount rw: %v: %s", err, out)
				}
			}},
		{"full disk",
			func(t *testing.T, mnt string) { fill(t, filepath.Join(mnt, "filler")) },
			func(t *testing.T, mnt string) {
				if err := os.Remove(filepath.Join(mnt, "filler")); err != nil {
					t.Fatal(err)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mnt := mountTmpfs(t, "size=1m")
			dir := filepath.Join(mnt, "data")
			tc.breakDir(t, mnt)
			_, _, err := Open(dir, tm(0))
			if err == nil {
				t.Fatal("Open on a broken data dir succeeded; want an error")
			}
			events := health.NewEventLog(1000, nil)
			// Events this run raised before the store opened.
			before := events.Add(health.Event{Kind: "history", Severity: health.SeverityError, Message: "history is not being kept"})
			view := &testView{}
			view.set(health.StatusOnline, "up")
			var opened *Store
			var mu sync.Mutex
			open := func() (*Store, OpenResult, error) {
				s, res, err := Open(dir, time.Now())
				if err == nil {
					mu.Lock()
					opened = s
					mu.Unlock()
				}
				return s, res, err
			}
			t.Cleanup(func() {
				mu.Lock()
				defer mu.Unlock()
				if opened != nil {
					opened.Close()
				}
			})
			rec, _ := startRecorder(t, RecorderConfig{Unavailable: err.Error(), Open: open, Events: events, View: view.get,
				RetryMin: 10 * time.Millisecond, RetryMax: 40 * time.Millisecond})

			// It keeps trying while the dir stays broken.
			waitFor(t, "three failed tries", func() bool { return rec.Stats().OpenRetries >= 3 })
			if h := rec.Health(); h.State != "unavailable" || h.Error == "" {
				t.Errorf("Health() while broken = %+v; want unavailable with the latest error", h)
			}
			if st := rec.Stats(); st.OK {
				t.Errorf("Stats() while broken = %+v; want not OK", st)
			}
			if err := rec.Flush(t.Context()); !errors.Is(err, ErrUnavailable) {
				t.Errorf("Flush while broken = %v; want ErrUnavailable", err)
			}

			// The engine's views go on coming: while nothing is recorded
			// only the latest counts, and none is counted as dropped.
			for i := range 3 * maxQueuedViews {
				rec.ObserveView(linkView(time.Now(), []string{"up", "down"}[i%2]))
			}

			tc.mendDir(t, mnt)
			waitFor(t, "the store to open", func() bool { return rec.Health().State == "ok" })
			if h := rec.Health(); h.MovedAside != "" {
				t.Errorf("Health() after the dir was mended = %+v; a broken dir is not a corrupt store", h)
			}
			events.Add(statusEvent("a", health.StatusOnline, health.StatusOffline))
			flush(t, rec)
			if st := rec.Stats(); !st.OK || st.Records == 0 {
				t.Errorf("Stats() after the dir was mended = %+v; want OK with records written", st)
			}
			store := rec.Store()
			stored, err := store.Events(EventQuery{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var sawStatus, sawBack bool
			for _, e := range stored {
				if e.ID <= before.ID {
					t.Errorf("stored event %+v has an id from before the store opened (<= %d)", e, before.ID)
				}
				sawStatus = sawStatus || e.Kind == "status"
				sawBack = sawBack || (e.Kind == "history" && strings.Contains(e.Message, "available again"))
			}
			if !sawStatus || !sawBack {
				t.Errorf("stored events = %+v; want the status change and the store's return", stored)
			}
			if cs, err := store.Changes(NodeSubject("prod", "a")); err != nil || len(cs) == 0 {
				t.Errorf("changes of a = %+v, %v; want them recorded once the store opened", cs, err)
			}
			if cs, err := store.Changes(LinkSubject("prod", "a", "b")); err != nil || len(cs) != 1 || cs[0].To != "down" {
				t.Errorf("changes of link a→b = %+v, %v; want one: its status in the latest view (down)", cs, err)
			}
			if st := rec.Stats(); st.Dropped != 0 {
				t.Errorf("Stats().Dropped = %d; want 0 (views while unavailable are not records)", st.Dropped)
			}
			// Said once: one info event, no error event from the retries.
			back := events.List(func(e health.Event) bool { return e.Kind == "history" && e.Severity == health.SeverityInfo })
			errs := events.List(func(e health.Event) bool { return e.Kind == "history" && e.Severity == health.SeverityError })
			if len(back) != 1 || len(errs) != 1 {
				t.Errorf("history events: %d info, %d error; want 1 info (the return) and only the first error", len(back), len(errs))
			}
		})
	}
}
