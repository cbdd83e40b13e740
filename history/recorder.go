package history

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/monitor"
)

// RecorderConfig configures a Recorder. Zero values take the defaults given.
type RecorderConfig struct {
	// Store receives the records. Nil: the store is unavailable; nothing
	// is recorded until Open succeeds, and Health says why (Unavailable).
	Store *Store
	// Unavailable says why Store is nil (for Health).
	Unavailable string
	// Open, when set, opens the store while it is unavailable: Run tries
	// it RetryMin after start, then at doubling intervals up to RetryMax,
	// until it succeeds (a data dir that was read-only or full can be
	// written again). Nil: an unavailable store stays so until restart.
	Open func() (*Store, OpenResult, error)
	// RetryMin and RetryMax bound the wait between tries of Open.
	// Defaults 5s and 5m.
	RetryMin, RetryMax time.Duration
	// Events is the node's event log, followed from Run. Required.
	Events *health.EventLog
	// View returns the node's agreed view; read every Sample for RTTs and
	// each member's status at the start of a session, and for link status
	// in networks whose views are not passed to ObserveView. Required.
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
	// Sample is how often the view is read for RTT (and the views passed
	// to ObserveView are taken in). Default 1s.
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
	// Dropped counts records given up while the store could not be
	// written, and views given up when ObserveView's queue was full.
	Dropped uint64
	// OpenRetries counts the failed tries to open an unavailable store.
	OpenRetries uint64
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

// maxQueuedViews bounds the views ObserveView holds for Run (about ten
// seconds of a busy network's views); beyond it the oldest are dropped and
// counted.
const maxQueuedViews = 1024

// ErrUnavailable is Flush's answer while the store is unavailable.
var ErrUnavailable = errors.New("history store unavailable")

// Recorder follows a node's events and views and writes them to a Store in
// batches. One goroutine (Run) owns its pending records; the query methods
// are safe for concurrent use.
type Recorder struct {
	cfg   RecorderConfig
	log   *slog.Logger
	alert chan Alert
	flush chan chan error
	// monitors queues snapshots for Run (ObserveMonitors).
	monitors chan *monitor.Snapshot
	// store is nil while the store is unavailable; once set it stays.
	store atomic.Pointer[Store]

	// mu protects the following fields.
	mu         sync.Mutex
	session    Session
	stats      Stats
	lastErr    string
	since      time.Time
	movedAside string
	views      []*health.NetworkView // from ObserveView, for Run
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
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = 5 * time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 5 * time.Minute
	}
	cfg.RetryMax = max(cfg.RetryMax, cfg.RetryMin)
	cfg.Retention = cfg.Retention.withDefaults()
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	r := &Recorder{cfg: cfg, log: cfg.Logger, alert: make(chan Alert, 256), flush: make(chan chan error),
		monitors: make(chan *monitor.Snapshot, 1024)}
	r.store.Store(cfg.Store)
	r.stats.OK = cfg.Store != nil
	if cfg.Store == nil {
		r.lastErr = cfg.Unavailable
		r.since = cfg.Now()
	}
	return r
}

// NoteMovedAside reports what Open did with a corrupt store file, if
// anything: it is logged, raised as an error event and kept for Health.
func (r *Recorder) NoteMovedAside(res OpenResult) {
	if res.MovedAside == "" {
		return
	}
	r.log.Error("history store was corrupt; moved aside, starting a fresh one", "path", res.Path,
		"moved_to", res.MovedAside, "err", res.Problem)
	r.cfg.Events.Add(health.Event{Kind: "history", Severity: health.SeverityError,
		Message: "history store was corrupt (" + errText(res.Problem) + "); moved to " +
			filepath.Base(res.MovedAside) + " and started afresh"})
	r.mu.Lock()
	r.movedAside = res.MovedAside
	r.mu.Unlock()
}

func errText(err error) string {
	if err == nil {
		return "unknown problem"
	}
	return err.Error()
}

// Store is the recorder's store (nil while unavailable; once set, it stays).
func (r *Recorder) Store() *Store { return r.store.Load() }

// ObserveView takes one of the views a network's engine publishes
// (health.EngineConfig.OnView), in order: each link whose status differs
// from the one before is recorded at the view's time, so a link that goes
// down and up again within a second is recorded too. It never blocks (it
// runs on the engine's goroutine): Run takes the views in at its next
// sample; beyond maxQueuedViews the oldest are dropped and counted. A
// network whose views come here is no longer sampled for link status.
func (r *Recorder) ObserveView(nv *health.NetworkView) {
	if nv == nil {
		return
	}
	r.mu.Lock()
	if r.Store() == nil {
		// Nothing is recorded while the store is unavailable: only each
		// network's latest view matters, for the links' status when the
		// store opens.
		r.views = slices.DeleteFunc(r.views, func(v *health.NetworkView) bool { return v.NetworkID == nv.NetworkID })
	}
	r.views = append(r.views, nv)
	if over := len(r.views) - maxQueuedViews; over > 0 {
		r.views = r.views[over:]
		r.stats.Dropped += uint64(over)
	}
	r.mu.Unlock()
}

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
	if store := r.Store(); store != nil {
		s.SizeBytes = store.Size()
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
	store := r.Store()
	if store != nil {
		h.Path = store.Path()
	}
	switch {
	case store == nil:
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
	store := r.Store()
	if store == nil {
		return nil, nil
	}
	ss, err := store.Sessions()
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
	store := r.Store()
	if store == nil {
		return Compute(nil, nil, from, to, sub.Classify), nil
	}
	ss, err := r.Sessions()
	if err != nil {
		return Uptime{}, err
	}
	cs, err := store.Changes(sub)
	if err != nil {
		return Uptime{}, err
	}
	return Compute(ss, cs, from, to, sub.Classify), nil
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
	fed      map[string]bool  // networks whose views come from ObserveView
	lastWall time.Time
	lastMono time.Duration
	mon      *monitorRecording
}

// Run records until ctx ends, then writes what is pending. Without a
// store it retries Open (when set) until the store opens, and records from
// then on; without Open it only waits for ctx.
func (r *Recorder) Run(ctx context.Context) error {
	st := &recording{nodes: map[Subject]string{}, links: map[Subject]string{}, acc: map[Subject]*Rollup{},
		hourOnly: map[Subject]bool{}, fed: map[string]bool{}, mon: newMonitorRecording()}
	late := r.Store() == nil
	if late {
		first, ok := r.waitForStore(ctx)
		if !ok {
			return nil
		}
		// The ids given out before the store opened were not reserved
		// in it: those events stay in the event log, not in the store.
		st.lastID = first - 1
	}
	events, stop := r.cfg.Events.Follow(1024)
	defer stop()
	if late {
		r.log.Info("history store available again; history is kept from now on")
		r.cfg.Events.Add(health.Event{Kind: "history", Severity: health.SeverityInfo,
			Message: "history store available again: history is kept from now on"})
	}
	r.startSession(st, r.cfg.Session)
	// Events raised before Run (from this run: ids at or above the first
	// one reserved) are in the ring.
	r.catchUp(st, st.lastID, ^uint64(0))
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

// waitForStore tries Open with backoff until it succeeds or ctx ends, and
// answers Flush with ErrUnavailable meanwhile. It returns the first event
// id reserved in the opened store. Failed tries are counted, not logged
// (the node logged the first failure); the error Health shows is the
// latest.
func (r *Recorder) waitForStore(ctx context.Context) (uint64, bool) {
	if r.cfg.Open == nil {
		<-ctx.Done()
		return 0, false
	}
	wait := r.cfg.RetryMin
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return 0, false
		case ch := <-r.flush:
			ch <- ErrUnavailable
			continue
		case <-timer.C:
		}
		first, err := r.tryOpen()
		if err == nil {
			return first, true
		}
		r.mu.Lock()
		r.stats.OpenRetries++
		r.lastErr = err.Error()
		r.mu.Unlock()
		r.log.Debug("history store still unavailable", "err", err, "retry_in", wait.String())
		wait = min(wait*2, r.cfg.RetryMax)
		timer.Reset(wait)
	}
}

// tryOpen opens the store, reserves event ids above every id this run has
// given out, moves the event log on to them and makes the store the
// recorder's. It returns the first id reserved.
func (r *Recorder) tryOpen() (uint64, error) {
	store, res, err := r.cfg.Open()
	if err != nil {
		return 0, err
	}
	var above uint64 = 1
	if latest := r.cfg.Events.List(nil); len(latest) > 0 {
		above = latest[0].ID + 1
	}
	first, err := store.ReserveEventIDs(above)
	if err != nil {
		store.Close()
		return 0, err
	}
	r.cfg.Events.SkipTo(first)
	r.store.Store(store)
	r.mu.Lock()
	r.stats.OK = true
	r.mu.Unlock()
	r.NoteMovedAside(res)
	return first, nil
}

// startSession begins a session with at least the wanted id.
func (r *Recorder) startSession(st *recording, want uint64) {
	now := r.cfg.Now()
	id := max(want, uint64(max(now.UnixMilli(), 1)))
	if ss, err := r.Store().Sessions(); err == nil {
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
	r.takeViews(st)

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
		if !st.fed[netID] {
			r.linkStatuses(st, netID, nv.Connections, now, session)
		}
		for _, c := range nv.Connections {
			sub := LinkSubject(netID, c.Src, c.Dst)
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

// takeViews records the link changes in the views ObserveView queued, each
// at its view's time.
func (r *Recorder) takeViews(st *recording) {
	r.mu.Lock()
	views := r.views
	r.views = nil
	r.mu.Unlock()
	if len(views) == 0 {
		return
	}
	r.mu.Lock()
	cur := r.session
	r.mu.Unlock()
	for _, nv := range views {
		st.fed[nv.NetworkID] = true
		// A view from before this session (queued while the store was
		// unavailable) tells the status as the session starts.
		at := nv.UpdatedAt
		if at.Before(cur.Start) {
			at = cur.Start
		}
		r.linkStatuses(st, nv.NetworkID, nv.Connections, at, cur.ID)
	}
}

// linkStatuses records the status of every link of network in conns at t,
// and "unknown" for a link recorded before that conns no longer lists (a
// view lists only the links something is known of).
func (r *Recorder) linkStatuses(st *recording, network string, conns []health.Connection, t time.Time, session uint64) {
	listed := make(map[Subject]bool, len(conns))
	for _, c := range conns {
		sub := LinkSubject(network, c.Src, c.Dst)
		listed[sub] = true
		r.linkStatus(st, sub, c.Status, t, session)
	}
	for sub, status := range st.links {
		if sub.Network == network && status != "unknown" && !listed[sub] {
			r.linkStatus(st, sub, "unknown", t, session)
		}
	}
}

// linkStatus records link sub's status at t when it differs from the last
// one recorded this session.
func (r *Recorder) linkStatus(st *recording, sub Subject, status string, t time.Time, session uint64) {
	if prev, seen := st.links[sub]; !seen || prev != status {
		st.links[sub] = status
		st.pending.Changes = append(st.pending.Changes, Change{Subject: sub, Session: session, Time: t,
			From: prev, To: status})
	}
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
	err := r.Store().Write(&st.pending)
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
	n, err := r.Store().Prune(r.cfg.Now(), r.cfg.Retention)
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
