package history

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
