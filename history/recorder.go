package history

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/monitor"
)

// RecorderConfig configures a Recorder. Zero values take the defaults given.
type RecorderConfig struct {
	// Store receives the records. Nil: nothing is recorded and Health says
	// why (Unavailable).
	Store *Store
	// Unavailable says why Store is nil (for Health).
	Unavailable string
	// Events is the node's event log, followed from Run. Required.
	Events *health.EventLog
	// View returns the node's agreed view; read every Sample. Required.
	View func() *health.View
	// Now is the wall clock. Default time.Now.
	Now func() time.Time
	// Elapsed is a monotonic clock (time since an arbitrary origin); a
	// difference between it and Now's progress is a clock step. Default:
	// the monotonic reading of time.Now.
	Elapsed func() time.Duration
	// Session is the wanted id of this run's session (e.g. the boot's unix
	// ms); it is raised above every stored session's id.
	Session uint64
	// Monitors, when set, returns every network's monitor snapshot; it is
	// read every Sample, like View, as an alternative to ObserveMonitors
	// (monitor.go). Nil: only what ObserveMonitors hands in is recorded.
	Monitors func() []*monitor.Snapshot
	// Sample is how often the view is read for link changes and RTT. Default 1s.
	Sample time.Duration
	// Flush is how often pending records are written in one transaction. Default 5s.
	Flush time.Duration
	// MaxPending bounds the records kept while the store cannot be written;
	// beyond it the oldest are dropped (and counted). Default 100000.
	MaxPending int
	// Retention says what to keep; PruneEvery how often to enforce it
	// (default 1h, and once at start).
	Retention  Retention
	PruneEvery time.Duration
	// ClockStep is the disagreement between wall and monotonic clock that
	// counts as a clock step. Default 2s.
	ClockStep time.Duration
	// Logger receives the recorder's logs. Default slog.Default().
	Logger *slog.Logger
}

// Stats are the recorder's counters since start, for metrics.
type Stats struct {
	// Batches and Records count successful writes.
	Batches, Records uint64
	// WriteErrors counts failed writes (each is retried with the next batch).
	WriteErrors uint64
	// Dropped counts records given up while the store could not be written.
	Dropped uint64
	// Pending is how many records wait for the next write.
	Pending int
	// SizeBytes is the store file's size (0 without a store).
	SizeBytes int64
	// OK is false while the store is unavailable or writes fail.
	OK bool
}

// Health is the store's state for /api/health and the dashboard.
type Health struct {
	// State is "ok", "failing" (writes fail; monitoring goes on) or
	// "unavailable" (no store: history is not recorded).
	State string `json:"state"`
	Path  string `json:"path,omitempty"`
	// Error is the latest problem; Since is when the current problem began.
	Error string     `json:"error,omitempty"`
	Since *time.Time `json:"since,omitempty"`
	// MovedAside is where a corrupt store file was moved at start.
	MovedAside  string `json:"moved_aside,omitempty"`
	WriteErrors uint64 `json:"write_errors"`
	Dropped     uint64 `json:"dropped"`
	Pending     int    `json:"pending"`
	SizeBytes   int64  `json:"size_bytes"`
}

// Recorder follows a node's events and view and writes them to a Store in
// batches. One goroutine (Run) owns its pending records; the query methods
// are safe for concurrent use.
type Recorder struct {
	cfg   RecorderConfig
	log   *slog.Logger
	alert chan Alert
	flush chan chan error
	// monitors queues snapshots for Run (ObserveMonitors).
	monitors chan *monitor.Snapshot

	// mu protects the following fields.
	mu         sync.Mutex
	session    Session
	stats      Stats
	lastErr    string
	since      time.Time
	movedAside string
}

// NewRecorder returns a recorder; Run starts it.
func NewRecorder(cfg RecorderConfig) *Recorder {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Elapsed == nil {
		origin := time.Now()
		cfg.Elapsed = func() time.Duration { return time.Since(origin) }
	}
	if cfg.Sample <= 0 {
		cfg.Sample = time.Second
	}
	if cfg.Flush <= 0 {
		cfg.Flush = 5 * time.Second
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 100000
	}
	if cfg.PruneEvery <= 0 {
		cfg.PruneEvery = time.Hour
	}
	if cfg.ClockStep <= 0 {
		cfg.ClockStep = 2 * time.Second
	}
	cfg.Retention = cfg.Retention.withDefaults()
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	r := &Recorder{cfg: cfg, log: cfg.Logger, alert: make(chan Alert, 256), flush: make(chan chan error),
		monitors: make(chan *monitor.Snapshot, 1024)}
	r.stats.OK = cfg.Store != nil
	if cfg.Store == nil {
		r.lastErr = cfg.Unavailable
		r.since = cfg.Now()
	}
	return r
}

// SetMovedAside records, for Health, that a corrupt store file was moved aside.
func (r *Recorder) SetMovedAside(path string) {
	r.mu.Lock()
	r.movedAside = path
	r.mu.Unlock()
}

// Store is the recorder's store (nil when unavailable).
func (r *Recorder) Store() *Store { return r.cfg.Store }

// NoteAlert records an alert decision (sent, failed or suppressed, and
// why). It never blocks: when the recorder is far behind the record is
// dropped and counted.
func (r *Recorder) NoteAlert(a Alert) {
	if a.Time.IsZero() {
		a.Time = r.cfg.Now()
	}
	select {
	case r.alert <- a:
	default:
		r.mu.Lock()
		r.stats.Dropped++
		r.mu.Unlock()
	}
}

// Flush reads the view, writes what is pending now and returns the
// write's error. It
// returns ctx's error when Run is not running.
func (r *Recorder) Flush(ctx context.Context) error {
	ch := make(chan error, 1)
	select {
	case r.flush <- ch:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats returns the counters.
func (r *Recorder) Stats() Stats {
	r.mu.Lock()
	s := r.stats
	r.mu.Unlock()
	if r.cfg.Store != nil {
		s.SizeBytes = r.cfg.Store.Size()
	}
	return s
}

// Health returns the store's state.
func (r *Recorder) Health() Health {
	st := r.Stats()
	r.mu.Lock()
	defer r.mu.Unlock()
	h := Health{State: "ok", Error: r.lastErr, MovedAside: r.movedAside, WriteErrors: st.WriteErrors,
		Dropped: st.Dropped, Pending: st.Pending, SizeBytes: st.SizeBytes}
	if r.cfg.Store != nil {
		h.Path = r.cfg.Store.Path()
	}
	switch {
	case r.cfg.Store == nil:
		h.State = "unavailable"
	case !st.OK:
		h.State = "failing"
	}
	if h.State != "ok" {
		since := r.since
		h.Since = &since
	}
	return h
}

// Sessions returns every recorded session, the running one ending now.
func (r *Recorder) Sessions() ([]Session, error) {
	if r.cfg.Store == nil {
		return nil, nil
	}
	ss, err := r.cfg.Store.Sessions()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	cur := r.session
	r.mu.Unlock()
	if cur.ID == 0 {
		return ss, nil
	}
	cur.End = r.cfg.Now()
	for i := range ss {
		if ss[i].ID == cur.ID {
			ss[i] = cur
			return ss, nil
		}
	}
	return append(ss, cur), nil
}

// SessionID is the running session's id (0 before Run).
func (r *Recorder) SessionID() uint64 { return r.sessionID() }

// Uptime computes sub's uptime over [from, to) from the store.
func (r *Recorder) Uptime(sub Subject, from, to time.Time) (Uptime, error) {
	classify := ClassifyNode
	if sub.Kind == "link" {
		classify = ClassifyLink
	}
	if r.cfg.Store == nil {
		return Compute(nil, nil, from, to, classify), nil
	}
	ss, err := r.Sessions()
	if err != nil {
		return Uptime{}, err
	}
	cs, err := r.cfg.Store.Changes(sub)
	if err != nil {
		return Uptime{}, err
	}
	return Compute(ss, cs, from, to, classify), nil
}

// recording is Run's own state.
type recording struct {
	pending  Batch
	lastID   uint64
	nodes    map[Subject]string // last recorded status per subject, this session
	links    map[Subject]string
	minute   time.Time
	acc      map[Subject]*Rollup
	hourOnly map[Subject]bool // links other members measure
	lastWall time.Time
	lastMono time.Duration
	mon      *monitorRecording
}

// Run records until ctx ends, then writes what is pending. Without a
// store it only waits for ctx.
func (r *Recorder) Run(ctx context.Context) error {
	if r.cfg.Store == nil {
		<-ctx.Done()
		return nil
	}
	events, stop := r.cfg.Events.Follow(1024)
	defer stop()
	st := &recording{nodes: map[Subject]string{}, links: map[Subject]string{}, acc: map[Subject]*Rollup{},
		hourOnly: map[Subject]bool{}, mon: newMonitorRecording()}
	r.startSession(st, r.cfg.Session)
	// Events raised before Run (from this run: ids at or above the first
	// one reserved) are in the ring.
	r.catchUp(st, 0, ^uint64(0))
	r.sample(st)
	r.write(st)
	r.prune()

	sample := time.NewTicker(r.cfg.Sample)
	defer sample.Stop()
	flush := time.NewTicker(r.cfg.Flush)
	defer flush.Stop()
	prune := time.NewTicker(r.cfg.PruneEvery)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			r.drainEvents(st, events)
			r.drainMonitors(st)
			r.sample(st)
			r.closeMinute(st, time.Time{})
			r.write(st)
			return nil
		case e := <-events:
			r.onEvent(st, e)
		case a := <-r.alert:
			st.pending.Alerts = append(st.pending.Alerts, a)
		case snap := <-r.monitors:
			r.observeMonitors(st, snap)
		case <-sample.C:
			r.sample(st)
		case <-flush.C:
			r.write(st)
		case ch := <-r.flush:
			r.drainEvents(st, events)
			r.drainMonitors(st)
			r.sample(st)
			ch <- r.write(st)
		case <-prune.C:
			r.prune()
		}
	}
}

func (r *Recorder) drainEvents(st *recording, events <-chan health.Event) {
	for {
		select {
		case e := <-events:
			r.onEvent(st, e)
		case a := <-r.alert:
			st.pending.Alerts = append(st.pending.Alerts, a)
		default:
			return
		}
	}
}

// startSession begins a session with at least the wanted id.
func (r *Recorder) startSession(st *recording, want uint64) {
	now := r.cfg.Now()
	id := max(want, uint64(max(now.UnixMilli(), 1)))
	if ss, err := r.cfg.Store.Sessions(); err == nil {
		for _, s := range ss {
			id = max(id, s.ID+1)
		}
	}
	r.mu.Lock()
	if r.session.ID != 0 {
		id = max(id, r.session.ID+1)
	}
	r.session = Session{ID: id, Start: now, End: now}
	r.mu.Unlock()
	st.pending.Sessions = append(st.pending.Sessions, Session{ID: id, Start: now, End: now})
	st.lastWall, st.lastMono = now, r.cfg.Elapsed()
}

func (r *Recorder) sessionID() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.session.ID
}

// catchUp records the ring's events with ids in (after, before).
func (r *Recorder) catchUp(st *recording, after, before uint64) {
	missed := r.cfg.Events.List(func(e health.Event) bool { return e.ID > after && e.ID < before })
	for i := len(missed) - 1; i >= 0; i-- {
		r.record(st, missed[i])
	}
}

func (r *Recorder) onEvent(st *recording, e health.Event) {
	if e.ID <= st.lastID {
		return
	}
	if st.lastID > 0 && e.ID > st.lastID+1 {
		// The follow buffer overflowed: the ring still has them.
		r.catchUp(st, st.lastID, e.ID)
	}
	r.record(st, e)
}

// record adds one event, and what it implies, to the pending batch.
func (r *Recorder) record(st *recording, e health.Event) {
	if e.ID <= st.lastID {
		return
	}
	st.lastID = e.ID
	st.pending.Events = append(st.pending.Events, e)
	switch {
	case e.Kind == "status" && e.Node != "" && e.Network != "":
		sub := NodeSubject(e.Network, e.Node)
		c := Change{Subject: sub, Session: r.sessionID(), Time: e.Time, From: string(e.From), To: string(e.To),
			Confirmed: e.Confirmed}
		if nv := r.nodeView(e.Network, e.Node); nv != nil && nv.Status == e.To {
			c.AgreedBy, c.LiveObservers = nv.AgreedBy, nv.LiveObservers
		}
		st.pending.Changes = append(st.pending.Changes, c)
		st.nodes[sub] = string(e.To)
	case e.Kind == "delivery" && e.Severity != health.SeverityWarning:
		// Info: delivered; error: given up. (A warning is a suppressed
		// alert, which the alert code records with its reason: NoteAlert.)
		a := Alert{Time: e.Time, Network: e.Network, Node: e.Node, Outcome: AlertSent, Reason: e.Message}
		if e.Severity == health.SeverityError {
			a.Outcome = AlertFailed
		}
		st.pending.Alerts = append(st.pending.Alerts, a)
	}
	r.bound(st)
}

func (r *Recorder) nodeView(network, node string) *health.NodeView {
	v := r.cfg.View()
	if v == nil || v.Networks[network] == nil {
		return nil
	}
	return v.Networks[network].Nodes[node]
}

// sample reads the view: a clock step starts a new session, a link whose
// status changed is recorded, a node seen for the first time this session
// gets its status as a baseline, and RTTs go into the minute's rollups.
func (r *Recorder) sample(st *recording) {
	now, mono := r.cfg.Now(), r.cfg.Elapsed()
	if step := now.Sub(st.lastWall) - (mono - st.lastMono); step > r.cfg.ClockStep || step < -r.cfg.ClockStep {
		r.log.Warn("clock step: history starts a new session", "step", step.String())
		r.mu.Lock()
		end := st.lastWall.Add(mono - st.lastMono)
		r.session.End = end
		closed := r.session
		r.mu.Unlock()
		st.pending.Sessions = append(st.pending.Sessions, closed)
		r.closeMinute(st, time.Time{})
		r.startSession(st, 0)
		// The new session knows what the old one knew.
		for sub, s := range st.nodes {
			st.pending.Changes = append(st.pending.Changes, Change{Subject: sub, Session: r.sessionID(), Time: now, From: s, To: s})
		}
		for sub, s := range st.links {
			st.pending.Changes = append(st.pending.Changes, Change{Subject: sub, Session: r.sessionID(), Time: now, From: s, To: s})
		}
		r.rebaseMonitors(st, now)
	}
	st.lastWall, st.lastMono = now, mono

	minute := now.Truncate(time.Minute)
	if !minute.Equal(st.minute) {
		r.closeMinute(st, minute)
	}
	r.sampleMonitors(st)
	v := r.cfg.View()
	if v == nil {
		return
	}
	session := r.sessionID()
	for netID, nv := range v.Networks {
		for id, node := range nv.Nodes {
			sub := NodeSubject(netID, id)
			if _, seen := st.nodes[sub]; !seen && node.Status != health.StatusUnknown {
				st.nodes[sub] = string(node.Status)
				st.pending.Changes = append(st.pending.Changes, Change{Subject: sub, Session: session, Time: now,
					From: string(node.Status), To: string(node.Status), AgreedBy: node.AgreedBy,
					LiveObservers: node.LiveObservers, Confirmed: node.Confirmed})
			}
			for obs, o := range node.Observers {
				if obs != id && o.RTTMs > 0 {
					r.acc(st, sub, o.RTTMs)
				}
			}
		}
		for _, c := range nv.Connections {
			sub := LinkSubject(netID, c.Src, c.Dst)
			if prev, seen := st.links[sub]; !seen || prev != c.Status {
				st.links[sub] = c.Status
				st.pending.Changes = append(st.pending.Changes, Change{Subject: sub, Session: session, Time: now,
					From: prev, To: c.Status})
			}
			if c.RTTMs > 0 && c.Status == "up" {
				r.acc(st, sub, c.RTTMs)
				// Minutes of the links this node pings itself; hours of
				// the others' (N² links would make the store grow with N²).
				st.hourOnly[sub] = c.Src != nv.Self
			}
		}
	}
	r.bound(st)
}

func (r *Recorder) acc(st *recording, sub Subject, ms float64) {
	ru := st.acc[sub]
	if ru == nil {
		ru = &Rollup{Start: st.minute}
		st.acc[sub] = ru
	}
	ru.add(ms)
}

// closeMinute moves the minute's rollups to the pending batch and starts next.
func (r *Recorder) closeMinute(st *recording, next time.Time) {
	for sub, ru := range st.acc {
		if ru.Count > 0 && !ru.Start.IsZero() {
			st.pending.Minutes = append(st.pending.Minutes, RTTSample{Subject: sub, Rollup: *ru, HourOnly: st.hourOnly[sub]})
		}
	}
	clear(st.acc)
	if !next.IsZero() {
		st.minute = next
	}
}

// bound drops the oldest pending records beyond MaxPending.
func (r *Recorder) bound(st *recording) {
	over := st.pending.Len() - r.cfg.MaxPending
	if over <= 0 {
		return
	}
	// Rollups go first, then the oldest events and alerts; changes last,
	// as uptime rests on them.
	dropped := dropFront(&st.pending.Minutes, over)
	dropped += dropFront(&st.pending.Events, over-dropped)
	dropped += dropFront(&st.pending.Alerts, over-dropped)
	dropped += dropFront(&st.pending.Changes, over-dropped)
	dropped += dropFront(&st.pending.Monitors, over-dropped)
	r.mu.Lock()
	r.stats.Dropped += uint64(dropped)
	r.mu.Unlock()
}

// write stores the pending batch with the session's latest end. A failure
// keeps the batch for the next try; the first failure of a run of failures
// is logged and raised as an event, and so is the recovery.
func (r *Recorder) write(st *recording) error {
	r.mu.Lock()
	r.session.End = r.cfg.Now()
	if r.session.End.Before(r.session.Start) {
		r.session.End = r.session.Start
	}
	cur := r.session
	r.mu.Unlock()
	st.pending.Sessions = append(st.pending.Sessions, cur)
	n := st.pending.Len()
	err := r.cfg.Store.Write(&st.pending)
	r.mu.Lock()
	wasOK := r.stats.OK
	if err != nil {
		r.stats.WriteErrors++
		r.stats.OK = false
		r.lastErr = err.Error()
		if wasOK {
			r.since = r.cfg.Now()
		}
	} else {
		r.stats.Batches++
		r.stats.Records += uint64(n)
		r.stats.OK = true
	}
	r.mu.Unlock()
	if err != nil {
		// Keep only the latest session record; the rest is retried.
		st.pending.Sessions = st.pending.Sessions[:len(st.pending.Sessions)-1]
		r.mu.Lock()
		r.stats.Pending = st.pending.Len()
		r.mu.Unlock()
		if wasOK {
			r.log.Error("history store write failed; monitoring and alerting go on", "err", err)
			r.cfg.Events.Add(health.Event{Kind: "history", Severity: health.SeverityError,
				Message: "history store cannot be written, history is not being kept: " + err.Error()})
		}
		return err
	}
	st.pending = Batch{}
	r.mu.Lock()
	r.stats.Pending = 0
	r.mu.Unlock()
	if !wasOK {
		r.log.Info("history store writes work again")
		r.cfg.Events.Add(health.Event{Kind: "history", Severity: health.SeverityInfo,
			Message: "history store writes work again"})
	}
	return nil
}

func (r *Recorder) prune() {
	n, err := r.cfg.Store.Prune(r.cfg.Now(), r.cfg.Retention)
	if err != nil {
		r.log.Warn("history prune failed", "err", err)
		return
	}
	if n > 0 {
		r.log.Debug("history pruned", "records", n)
	}
}

// dropFront removes up to n elements from the front of *s and says how many.
func dropFront[T any](s *[]T, n int) int {
	n = max(min(n, len(*s)), 0)
	*s = (*s)[n:]
	return n
}
