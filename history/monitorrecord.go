package history

import (
	"slices"
	"time"

	"github.com/meshmon/meshmon/monitor"
)

// ObserveMonitors takes in a network's latest monitor snapshot: the node
// calls it with each new snapshot (calling it again with the same one, or
// more often, does no harm). The recorder records each change of a
// monitor's agreed verdict (and each monitor's verdict once per session, as
// the baseline), and folds each new result of each vantage point into the
// minute's latency rollup of that vantage point. It never blocks: when the
// recorder is far behind the snapshot is dropped and counted.
func (r *Recorder) ObserveMonitors(snap *monitor.Snapshot) {
	if snap == nil || r.Store() == nil {
		return // Run takes nothing in until the store is open
	}
	select {
	case r.monitors <- snap:
	default:
		r.mu.Lock()
		r.stats.Dropped++
		r.mu.Unlock()
	}
}

// monitorRecording is Run's state of the monitors.
type monitorRecording struct {
	// status is the last recorded verdict per monitor subject, this session.
	status map[Subject]MonitorChange
	// at is the time of the latest result folded in, per vantage subject.
	at map[Subject]time.Time
	// seen is the latest snapshot taken in per network: a sample of the
	// same one is skipped.
	seen map[string]*monitor.Snapshot
}

func newMonitorRecording() *monitorRecording {
	return &monitorRecording{status: map[Subject]MonitorChange{}, at: map[Subject]time.Time{},
		seen: map[string]*monitor.Snapshot{}}
}

// sampleMonitors takes in the snapshots of RecorderConfig.Monitors that are
// new since the last sample.
func (r *Recorder) sampleMonitors(st *recording) {
	if r.cfg.Monitors == nil {
		return
	}
	for _, snap := range r.cfg.Monitors() {
		if snap != nil && st.mon.seen[snap.Network] != snap {
			r.observeMonitors(st, snap)
		}
	}
}

// observeMonitors records what snap brings that is new.
func (r *Recorder) observeMonitors(st *recording, snap *monitor.Snapshot) {
	st.mon.seen[snap.Network] = snap
	session := r.sessionID()
	now := r.cfg.Now()
	for _, m := range snap.Monitors {
		sub := MonitorSubject(snap.Network, m.Name)
		prev, seen := st.mon.status[sub]
		to := string(m.Verdict.Status)
		if !seen || prev.To != to {
			from := to
			if seen {
				from = prev.To
			}
			// The verdict's own time, unless it claims to predate what is
			// already recorded (or the future).
			t := m.Since
			if t.IsZero() || t.After(now) || (seen && t.Before(prev.Time)) {
				t = now
			}
			c := MonitorChange{Network: snap.Network, Monitor: m.Name, Session: session, Time: t, From: from, To: to,
				Live: m.Verdict.Live, Failing: slices.Clone(m.Verdict.Failing), Warning: slices.Clone(m.Verdict.Warning)}
			st.mon.status[sub] = c
			st.pending.Monitors = append(st.pending.Monitors, c)
		}
		for _, v := range m.Vantages {
			if !v.Live || !v.Has || v.At.IsZero() || v.Latency <= 0 {
				continue
			}
			vs := VantageSubject(snap.Network, m.Name, v.Node)
			if last, ok := st.mon.at[vs]; ok && !v.At.After(last) {
				continue // this result was folded in already
			}
			st.mon.at[vs] = v.At
			r.acc(st, vs, float64(v.Latency)/float64(time.Millisecond))
		}
	}
	r.bound(st)
}

// rebaseMonitors records, at the start of a new session (a clock step),
// each monitor's verdict as the new session's baseline.
func (r *Recorder) rebaseMonitors(st *recording, now time.Time) {
	session := r.sessionID()
	for sub, c := range st.mon.status {
		c.Session, c.Time, c.From = session, now, c.To
		st.mon.status[sub] = c
		st.pending.Monitors = append(st.pending.Monitors, c)
	}
}

// drainMonitors takes in every queued snapshot.
func (r *Recorder) drainMonitors(st *recording) {
	for {
		select {
		case snap := <-r.monitors:
			r.observeMonitors(st, snap)
		default:
			return
		}
	}
}
