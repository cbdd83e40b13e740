package configsync

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestIncarnationsSurviveAClockSetBack: the counter starts at the clock,
// then only grows, across restarts, even when the clock is set back 1 h
// between two runs (a Pi without an RTC, a restored VM).
func TestIncarnationsSurviveAClockSetBack(t *testing.T) {
	dir := t.TempDir()
	clock := time.UnixMilli(1_800_000_000_000)
	now := func() time.Time { return clock }
	in, err := OpenIncarnations(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	first, err := in.Next(0)
	if err != nil || first != 1_800_000_000_000 {
		t.Fatalf("Next(0) = %d, %v; want the clock in unix ms", first, err)
	}
	second, _ := in.Next(0)
	if second != first+1 {
		t.Errorf("second Next = %d; want %d", second, first+1)
	}

	clock = clock.Add(-time.Hour) // restart with the clock set back
	in2, err := OpenIncarnations(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	third, _ := in2.Next(0)
	if third != second+1 {
		t.Errorf("Next after a restart with the clock 1 h back = %d; want %d", third, second+1)
	}
	// A refute jumps above a seen position.
	if got, _ := in2.Next(third + 1000); got != third+1000 {
		t.Errorf("Next(atLeast) = %d; want %d", got, third+1000)
	}
	b, _ := os.ReadFile(filepath.Join(dir, IncarnationPath))
	if strings.TrimSpace(string(b)) != strconv.FormatUint(third+1000, 10) {
		t.Errorf("stored %q; want the last value handed out", b)
	}
	if fi, err := os.Stat(filepath.Join(dir, ".private_keys")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf(".private_keys mode = %v, %v; want 0700", fi.Mode().Perm(), err)
	}
}

func TestIncarnationsBadFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, IncarnationPath)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenIncarnations(dir, nil)
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("OpenIncarnations(garbage) = %v; want an error naming %s", err, p)
	}
}

// TestIncarnationsUnwritable: a read-only dir still gives growing numbers,
// with the error to warn about.
func TestIncarnationsUnwritable(t *testing.T) {
	if os.Geteuid() == 0 {
		// root writes through 0500; use a path under a regular file instead.
		dir := t.TempDir()
		in, err := OpenIncarnations(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ".private_keys"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		a, err := in.Next(0)
		if err == nil {
			t.Fatal("Next on an unwritable path returned no error")
		}
		b, _ := in.Next(0)
		if b <= a || in.Failed() != 2 {
			t.Errorf("Next = %d then %d, failed %d; want growing numbers, 2 failures", a, b, in.Failed())
		}
		return
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	in, _ := OpenIncarnations(dir, nil)
	a, err := in.Next(0)
	if err == nil {
		t.Fatal("Next on a read-only dir returned no error")
	}
	b, _ := in.Next(0)
	if b <= a {
		t.Errorf("Next = %d then %d; want growing numbers", a, b)
	}
}
