package history

import (
	"bytes"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Retention says how long each kind of record is kept.
type Retention struct {
	// Changes is how long status changes (nodes', links' and monitors'
	// verdicts) and sessions are kept. Default 90 days.
	Changes time.Duration
	// Events is how long events and alerts are kept. Default 90 days.
	Events time.Duration
	// Minute is how long minute RTT rollups (and monitors' response-time
	// rollups) are kept. Default 7 days.
	Minute time.Duration
	// Hour is how long hourly RTT (and monitor response-time) rollups are
	// kept. Default 400 days.
	Hour time.Duration
}

// DefaultRetention is the retention of a node that sets none.
func DefaultRetention() Retention {
	return Retention{
		Changes: 90 * 24 * time.Hour,  // three months of uptime and outages
		Events:  90 * 24 * time.Hour,  // and of the event list
		Minute:  7 * 24 * time.Hour,   // a week of detailed RTT
		Hour:    400 * 24 * time.Hour, // over a year of hourly RTT
	}
}

// withDefaults fills zero fields from DefaultRetention.
func (r Retention) withDefaults() Retention {
	d := DefaultRetention()
	if r.Changes <= 0 {
		r.Changes = d.Changes
	}
	if r.Events <= 0 {
		r.Events = d.Events
	}
	if r.Minute <= 0 {
		r.Minute = d.Minute
	}
	if r.Hour <= 0 {
		r.Hour = d.Hour
	}
	return r
}

// Prune deletes what is older than the retention allows at now, and
// returns how many records it deleted.
func (s *Store) Prune(now time.Time, r Retention) (int, error) {
	r = r.withDefaults()
	deleted := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		older := func(cutoff time.Time) func(v []byte) bool {
			return func(v []byte) bool {
				var rec struct {
					Time  time.Time `json:"time"`
					Start time.Time `json:"start"`
					End   time.Time `json:"end"`
				}
				if json.Unmarshal(v, &rec) != nil {
					return true
				}
				t := rec.Time
				if t.IsZero() {
					t = rec.End
				}
				return t.Before(cutoff)
			}
		}
		n, err := deleteWhere(tx.Bucket(bucketEvents), older(now.Add(-r.Events)))
		deleted += n
		if err != nil {
			return err
		}
		n, err = deleteWhere(tx.Bucket(bucketAlerts), older(now.Add(-r.Events)))
		deleted += n
		if err != nil {
			return err
		}
		n, err = deleteWhere(tx.Bucket(bucketSessions), older(now.Add(-r.Changes)))
		deleted += n
		if err != nil {
			return err
		}
		// Changes: keyed by sequence, so every record is read.
		err = forEachSubject(tx.Bucket(bucketChanges), func(sb *bolt.Bucket) error {
			n, err := deleteWhere(sb, older(now.Add(-r.Changes)))
			deleted += n
			return err
		})
		if err != nil {
			return err
		}
		// Rollups: keyed by time, so only the old front is read.
		for _, p := range []struct {
			top    []byte
			cutoff []byte
		}{
			{bucketMinute, timeKey(now.Add(-r.Minute))},
			{bucketHour, timeKey(now.Add(-r.Hour))},
		} {
			err := forEachSubject(tx.Bucket(p.top), func(sb *bolt.Bucket) error {
				var doomed [][]byte
				c := sb.Cursor()
				for k, _ := c.First(); k != nil && bytes.Compare(k, p.cutoff) < 0; k, _ = c.Next() {
					doomed = append(doomed, bytes.Clone(k))
				}
				for _, k := range doomed {
					if err := sb.Delete(k); err != nil {
						return err
					}
				}
				deleted += len(doomed)
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return deleted, wrap("prune", err)
}

// forEachSubject calls f with every subject bucket under top (network →
// subject).
func forEachSubject(top *bolt.Bucket, f func(*bolt.Bucket) error) error {
	return top.ForEachBucket(func(netKey []byte) error {
		nb := top.Bucket(netKey)
		return nb.ForEachBucket(func(subKey []byte) error { return f(nb.Bucket(subKey)) })
	})
}

// deleteWhere deletes the records of b for which doomed is true.
func deleteWhere(b *bolt.Bucket, doomed func(v []byte) bool) (int, error) {
	var keys [][]byte
	_ = b.ForEach(func(k, v []byte) error {
		if v != nil && doomed(v) {
			keys = append(keys, bytes.Clone(k))
		}
		return nil
	})
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}
