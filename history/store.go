package history

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/meshmon/meshmon/health"
)

// FileName is the store's file inside the data dir.
const FileName = "history.db"

// Bucket names. Changes and rollups hold one bucket per network, and in it
// one per subject (Subject.key).
var (
	bucketMeta     = []byte("meta")
	bucketSessions = []byte("sessions")
	bucketEvents   = []byte("events")
	bucketChanges  = []byte("changes")
	bucketMinute   = []byte("rtt_minute")
	bucketHour     = []byte("rtt_hour")
	bucketAlerts   = []byte("alerts")

	keyEventFloor = []byte("event_floor")
)

// eventIDReserve is how far above the highest stored event id the next run
// starts: events raised but not yet flushed when the process died never
// see their ids reused.
const eventIDReserve = 1 << 20

// ErrCorrupt marks a store file that could not be opened or failed its
// consistency check.
var ErrCorrupt = errors.New("history store is corrupt")

// Store is the embedded history database. It is safe for concurrent use:
// bbolt allows one writer and many readers.
type Store struct {
	db   *bolt.DB
	path string
}

// OpenResult says what Open had to do.
type OpenResult struct {
	// Path is the store file.
	Path string
	// MovedAside, when not empty, is where a corrupt store file was moved
	// before a fresh one was created; Problem says what was wrong with it.
	MovedAside string
	Problem    error
}

// Open opens (or creates) the store in dir, creating dir if needed (modes
// 0755 and 0644 less the umask, as the config dir's other non-secret
// files: the store holds what the API serves anyway). A file
// that bbolt cannot open or whose consistency check fails is moved aside
// (to history.db.corrupt-<unix>) and replaced by a fresh store; the result
// says so. A data dir that cannot be written (permissions, read-only file
// system, full disk) is an error: the caller runs without history.
func Open(dir string, now time.Time) (*Store, OpenResult, error) {
	path := filepath.Join(dir, FileName)
	res := OpenResult{Path: path}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, res, fmt.Errorf("history: create data dir: %w", err)
	}
	s, err := openFile(path)
	if err == nil {
		return s, res, nil
	}
	if !errors.Is(err, ErrCorrupt) {
		return nil, res, err
	}
	res.Problem = err
	res.MovedAside = fmt.Sprintf("%s.corrupt-%d", path, now.Unix())
	if rerr := os.Rename(path, res.MovedAside); rerr != nil {
		return nil, res, fmt.Errorf("history: move corrupt store aside: %w", rerr)
	}
	s, err = openFile(path)
	return s, res, err
}

// unwritable reports whether err means the data dir cannot be written (so
// the file is not to blame).
func unwritable(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) ||
		errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, berrors.ErrTimeout)
}

// openFile opens path with bbolt and checks it; a bad file is ErrCorrupt.
// bbolt may panic on some damaged pages, so the check recovers.
func openFile(path string) (s *Store, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrCorrupt, r)
		}
	}()
	db, err := bolt.Open(path, 0o644, &bolt.Options{Timeout: time.Second})
	if err != nil {
		if unwritable(err) {
			return nil, fmt.Errorf("history: open %s: %w", path, err)
		}
		return nil, fmt.Errorf("%w: open: %w", ErrCorrupt, err)
	}
	if err := checkDB(db); err != nil {
		db.Close()
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketSessions, bucketEvents, bucketChanges, bucketMinute, bucketHour, bucketAlerts} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		if unwritable(err) {
			return nil, fmt.Errorf("history: init %s: %w", path, err)
		}
		return nil, fmt.Errorf("%w: init: %w", ErrCorrupt, err)
	}
	return &Store{db: db, path: path}, nil
}

// checkDB runs bbolt's consistency check.
func checkDB(db *bolt.DB) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: check: %v", ErrCorrupt, r)
		}
	}()
	return db.View(func(tx *bolt.Tx) error {
		var errs []error
		for e := range tx.Check() {
			errs = append(errs, e)
			if len(errs) >= 5 {
				break
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("%w: check: %w", ErrCorrupt, errors.Join(errs...))
		}
		return nil
	})
}

// Path is the store file.
func (s *Store) Path() string { return s.path }

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// InUse is the bytes the store's records occupy (the file is larger: bbolt
// grows it ahead and keeps freed pages for reuse).
func (s *Store) InUse() int64 {
	var n int64
	_ = s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(_ []byte, b *bolt.Bucket) error {
			st := b.Stats()
			n += int64(st.BranchInuse + st.LeafInuse + st.InlineBucketInuse)
			return nil
		})
	})
	return n
}

// Size is the store file's size in bytes.
func (s *Store) Size() int64 {
	var n int64
	_ = s.db.View(func(tx *bolt.Tx) error { n = tx.Size(); return nil })
	return n
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// timeKey orders keys by time; times before 1970 sort first.
func timeKey(t time.Time) []byte { return u64(uint64(max(t.UnixNano(), 0))) }

// NextEventID returns the first event id of this run and reserves the ids
// above it, so that ids stay unique across restarts even when the last run
// died before flushing its newest events. Call it once, at start.
func (s *Store) NextEventID() (uint64, error) { return s.ReserveEventIDs(1) }

// ReserveEventIDs is NextEventID for a run that has already given out ids
// below atLeast (its store opened late): the id returned is at least
// atLeast, and the ids above it are reserved.
func (s *Store) ReserveEventIDs(atLeast uint64) (uint64, error) {
	next := max(atLeast, 1)
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keyEventFloor); len(v) == 8 {
			next = max(next, binary.BigEndian.Uint64(v))
		}
		if k, _ := tx.Bucket(bucketEvents).Cursor().Last(); len(k) == 8 {
			next = max(next, binary.BigEndian.Uint64(k)+1)
		}
		return meta.Put(keyEventFloor, u64(next+eventIDReserve))
	})
	if err != nil {
		return 0, fmt.Errorf("history: reserve event ids: %w", err)
	}
	return next, nil
}

// RTTSample is one minute's RTT rollup of a subject, to be written.
type RTTSample struct {
	Subject Subject
	Rollup  Rollup
	// HourOnly keeps the sample only in its hour: for links measured by
	// other members, whose minutes would make the store grow with N².
	HourOnly bool
}

// Batch is everything one write puts in the store, in one transaction.
type Batch struct {
	Sessions []Session
	Events   []health.Event
	Changes  []Change
	// Minutes are minute rollups; each is also merged into its hour.
	Minutes []RTTSample
	Alerts  []Alert
	// Monitors are monitor verdict changes (monitor.go).
	Monitors []MonitorChange
}

// Len is the number of records in b.
func (b *Batch) Len() int {
	return len(b.Sessions) + len(b.Events) + len(b.Changes) + len(b.Minutes) + len(b.Alerts) + len(b.Monitors)
}

// Write stores b in one transaction: all of it or nothing.
func (s *Store) Write(b *Batch) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, se := range b.Sessions {
			if err := putJSON(tx.Bucket(bucketSessions), u64(se.ID), se); err != nil {
				return err
			}
		}
		ev := tx.Bucket(bucketEvents)
		var maxID uint64
		for _, e := range b.Events {
			if err := putJSON(ev, u64(e.ID), e); err != nil {
				return err
			}
			maxID = max(maxID, e.ID)
		}
		if maxID > 0 {
			meta := tx.Bucket(bucketMeta)
			if v := meta.Get(keyEventFloor); len(v) != 8 || binary.BigEndian.Uint64(v) <= maxID {
				if err := meta.Put(keyEventFloor, u64(maxID+eventIDReserve)); err != nil {
					return err
				}
			}
		}
		for _, c := range b.Changes {
			sb, err := subjectBucket(tx, bucketChanges, c.Subject)
			if err != nil {
				return err
			}
			seq, err := sb.NextSequence()
			if err != nil {
				return err
			}
			if err := putJSON(sb, u64(seq), c); err != nil {
				return err
			}
		}
		for _, m := range b.Minutes {
			if !m.HourOnly {
				if err := mergeRollup(tx, bucketMinute, m.Subject, m.Rollup, m.Rollup.Start.Truncate(time.Minute)); err != nil {
					return err
				}
			}
			if err := mergeRollup(tx, bucketHour, m.Subject, m.Rollup, m.Rollup.Start.Truncate(time.Hour)); err != nil {
				return err
			}
		}
		for _, c := range b.Monitors {
			sb, err := subjectBucket(tx, bucketChanges, MonitorSubject(c.Network, c.Monitor))
			if err != nil {
				return err
			}
			seq, err := sb.NextSequence()
			if err != nil {
				return err
			}
			if err := putJSON(sb, u64(seq), c); err != nil {
				return err
			}
		}
		al := tx.Bucket(bucketAlerts)
		for _, a := range b.Alerts {
			seq, err := al.NextSequence()
			if err != nil {
				return err
			}
			if err := putJSON(al, u64(seq), a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("history: write: %w", err)
	}
	return nil
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, data)
}

func subjectBucket(tx *bolt.Tx, top []byte, s Subject) (*bolt.Bucket, error) {
	nb, err := tx.Bucket(top).CreateBucketIfNotExists([]byte(s.Network))
	if err != nil {
		return nil, err
	}
	return nb.CreateBucketIfNotExists(s.key())
}

// readSubject returns the subject's bucket under top, nil if none.
func readSubject(tx *bolt.Tx, top []byte, s Subject) *bolt.Bucket {
	nb := tx.Bucket(top).Bucket([]byte(s.Network))
	if nb == nil {
		return nil
	}
	return nb.Bucket(s.key())
}

func mergeRollup(tx *bolt.Tx, top []byte, s Subject, r Rollup, start time.Time) error {
	sb, err := subjectBucket(tx, top, s)
	if err != nil {
		return err
	}
	k := timeKey(start)
	cur := Rollup{Start: start}
	if v := sb.Get(k); v != nil {
		cur = decodeRollup(k, v)
	}
	cur.merge(r)
	return sb.Put(k, encodeRollup(cur))
}

// rollupSize is an encoded rollup's size: min, mean and max as float32 ms
// (µs precision up to minutes of RTT) and the count as uint32. Rollups are
// most of the store, so they are not JSON.
const rollupSize = 16

func encodeRollup(r Rollup) []byte {
	b := make([]byte, rollupSize)
	binary.BigEndian.PutUint32(b[0:], math.Float32bits(float32(r.Min)))
	binary.BigEndian.PutUint32(b[4:], math.Float32bits(float32(r.Mean)))
	binary.BigEndian.PutUint32(b[8:], math.Float32bits(float32(r.Max)))
	binary.BigEndian.PutUint32(b[12:], uint32(min(r.Count, math.MaxUint32)))
	return b
}

// decodeRollup reads a rollup stored under key k (its start).
func decodeRollup(k, v []byte) Rollup {
	r := Rollup{Start: time.Unix(0, int64(binary.BigEndian.Uint64(k))).UTC()}
	if len(v) != rollupSize {
		return r
	}
	f := func(i int) float64 {
		return math.Round(float64(math.Float32frombits(binary.BigEndian.Uint32(v[i:])))*1000) / 1000
	}
	r.Min, r.Mean, r.Max = f(0), f(4), f(8)
	r.Count = uint64(binary.BigEndian.Uint32(v[12:]))
	return r
}

// Sessions returns every session, oldest first.
func (s *Store) Sessions() ([]Session, error) {
	var out []Session
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSessions).ForEach(func(_, v []byte) error {
			var se Session
			if json.Unmarshal(v, &se) == nil {
				out = append(out, se)
			}
			return nil
		})
	})
	return out, wrap("sessions", err)
}

// Changes returns the subject's changes in the order they were recorded.
func (s *Store) Changes(sub Subject) ([]Change, error) {
	var out []Change
	err := s.db.View(func(tx *bolt.Tx) error {
		b := readSubject(tx, bucketChanges, sub)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var c Change
			if json.Unmarshal(v, &c) == nil {
				out = append(out, c)
			}
			return nil
		})
	})
	return out, wrap("changes", err)
}

// Subjects returns every subject of network with recorded changes.
func (s *Store) Subjects(network string) ([]Subject, error) {
	var out []Subject
	err := s.db.View(func(tx *bolt.Tx) error {
		nb := tx.Bucket(bucketChanges).Bucket([]byte(network))
		if nb == nil {
			return nil
		}
		return nb.ForEachBucket(func(k []byte) error {
			if sub, ok := subjectFromKey(network, k); ok {
				out = append(out, sub)
			}
			return nil
		})
	})
	return out, wrap("subjects", err)
}

// Resolution of RTT rollups.
type Resolution string

// The resolutions kept.
const (
	Minute Resolution = "minute"
	Hour   Resolution = "hour"
)

// RTT returns the subject's rollups at res that start in [from, to), oldest first.
func (s *Store) RTT(sub Subject, res Resolution, from, to time.Time) ([]Rollup, error) {
	top := bucketMinute
	if res == Hour {
		top = bucketHour
	}
	out := []Rollup{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := readSubject(tx, top, sub)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		end := timeKey(to)
		for k, v := c.Seek(timeKey(from)); k != nil && string(k) < string(end); k, v = c.Next() {
			out = append(out, decodeRollup(k, v))
		}
		return nil
	})
	return out, wrap("rtt", err)
}

// EventQuery selects stored events.
type EventQuery struct {
	// After and Before bound the ids (exclusive; 0: no bound).
	After, Before uint64
	// Limit is the most events returned.
	Limit int
	// Keep filters events (nil: all).
	Keep func(health.Event) bool
}

// Events returns the stored events q selects, newest first.
func (s *Store) Events(q EventQuery) ([]health.Event, error) {
	var out []health.Event
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		var k, v []byte
		if q.Before == 0 {
			k, v = c.Last()
		} else {
			k, v = c.Seek(u64(q.Before))
			if k == nil {
				k, v = c.Last()
			}
			for k != nil && binary.BigEndian.Uint64(k) >= q.Before {
				k, v = c.Prev()
			}
		}
		for ; k != nil && len(out) < q.Limit && binary.BigEndian.Uint64(k) > q.After; k, v = c.Prev() {
			var e health.Event
			if json.Unmarshal(v, &e) != nil {
				continue
			}
			if q.Keep == nil || q.Keep(e) {
				out = append(out, e)
			}
		}
		return nil
	})
	return out, wrap("events", err)
}

// Alerts returns up to limit alerts of network ("" for all), newest first.
func (s *Store) Alerts(network string, limit int) ([]Alert, error) {
	out := []Alert{}
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAlerts).Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var a Alert
			if json.Unmarshal(v, &a) == nil && (network == "" || a.Network == network) {
				out = append(out, a)
			}
		}
		return nil
	})
	return out, wrap("alerts", err)
}

func wrap(op string, err error) error {
	if err != nil {
		return fmt.Errorf("history: %s: %w", op, err)
	}
	return nil
}
