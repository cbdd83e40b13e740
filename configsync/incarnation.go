package configsync

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// IncarnationPath is where the incarnation counter lives, beside the node
// key, relative to the config dir.
const IncarnationPath = ".private_keys/incarnation"

// Incarnations hands out a node's incarnations (the boot_id of its
// messages): numbers that only grow, across restarts and rejoins, whatever
// the wall clock says (docs/liveness.md, "Message positions that only go
// forward"). The first one is the wall clock in unix ms, so a node that
// upgrades from round 1 (whose boot_id was its start time) stays above its
// old positions; every later one is the stored value + 1. Each is written
// back before it is handed out (write a temp file, fsync, rename). It is
// safe for concurrent use.
type Incarnations struct {
	path string
	now  func() time.Time

	// mu protects the following fields.
	mu   sync.Mutex
	last uint64
	// Failed counts writes that failed; the counter then lives on in memory.
	failed uint64
}

// OpenIncarnations reads the counter in dir (missing: none yet). A file that
// cannot be parsed is an error that names it.
func OpenIncarnations(dir string, now func() time.Time) (*Incarnations, error) {
	if now == nil {
		now = time.Now
	}
	in := &Incarnations{path: filepath.Join(dir, IncarnationPath), now: now}
	b, err := os.ReadFile(in.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return in, nil
	case err != nil:
		return nil, fmt.Errorf("incarnation counter: %w", err)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("incarnation counter %s: not a number (%q): delete the file, and the node starts a new count from the clock", in.path, strings.TrimSpace(string(b)))
	}
	in.last = v
	return in, nil
}

// Next returns a new incarnation of at least atLeast, larger than any
// returned or stored before, and stores it. When the file cannot be
// written it still returns one (the larger of the stored value + 1 and the
// clock) and the error, so the caller can warn and count it.
func (in *Incarnations) Next(atLeast uint64) (uint64, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	v := max(in.last+1, atLeast)
	if in.last == 0 {
		v = max(v, uint64(max(in.now().UnixMilli(), 1)))
	}
	in.last = v
	if err := in.writeLocked(v); err != nil {
		in.failed++
		in.last = max(v, uint64(max(in.now().UnixMilli(), 1)))
		return in.last, err
	}
	return v, nil
}

// Failed is how many writes of the counter failed.
func (in *Incarnations) Failed() uint64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.failed
}

func (in *Incarnations) writeLocked(v uint64) error {
	if err := os.MkdirAll(filepath.Dir(in.path), 0o700); err != nil {
		return fmt.Errorf("incarnation counter: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(in.path), ".incarnation-*")
	if err != nil {
		return fmt.Errorf("incarnation counter: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(strconv.FormatUint(v, 10) + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("incarnation counter: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("incarnation counter: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("incarnation counter: %w", err)
	}
	if err := os.Rename(tmp.Name(), in.path); err != nil {
		return fmt.Errorf("incarnation counter: %w", err)
	}
	return nil
}
