package history

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
)

// testClock is a wall clock and a monotonic clock that tests move.
type testClock struct {
	// mu protects the following fields.
	mu      sync.Mutex
	wall    time.Time
	elapsed time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wall
}

func (c *testClock) Elapsed() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.elapsed
}

// Advance moves both clocks: time passes.
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.wall = c.wall.Add(d)
	c.elapsed += d
	c.mu.Unlock()
}

// Step moves only the wall clock: someone set the time.
func (c *testClock) Step(d time.Duration) {
	c.mu.Lock()
	c.wall = c.wall.Add(d)
	c.mu.Unlock()
}

// testView is a view the test changes.
type testView struct {
	mu sync.Mutex
	v  *health.View
}

func (tv *testView) get() *health.View {
	tv.mu.Lock()
	defer tv.mu.Unlock()
	return tv.v
}

// set makes node a's status st (seen by 3 live observers, agreed by 2,
// RTTs 2 and 4 ms) and link a→b's status link (RTT 3 ms when up).
func (tv *testView) set(st health.Status, link string) {
	rtt := 0.0
	if link == "up" {
		rtt = 3
	}
	tv.mu.Lock()
	defer tv.mu.Unlock()
	tv.v = &health.View{Networks: map[string]*health.NetworkView{"prod": {
		NetworkID: "prod", Self: "a",
		Nodes: map[string]*health.NodeView{"a": {NodeID: "a", Status: st, AgreedBy: 2, LiveObservers: 3, Confirmed: true,
			Observers: map[string]health.ObserverView{"b": {RTTMs: 2}, "c": {RTTMs: 4}, "a": {RTTMs: 99}}}},
		Connections: []health.Connection{{Src: "a", Dst: "b", Status: link, RTTMs: rtt},
			{Src: "c", Dst: "a", Status: "up", RTTMs: 5}},
	}}}
}

// recorderEnv is a recorder over a temp store, driven by a test clock, a
// test view and an event log.
type recorderEnv struct {
	store  *Store
	clock  *testClock
	events *health.EventLog
	view   *testView
	rec    *Recorder
}

// newRecorderEnv starts a recorder (startRecorder) with its clock at wall
// and its view showing status st and links link; more, when set, adjusts
// the config first.
func newRecorderEnv(t *testing.T, wall time.Time, st health.Status, link string, more func(*RecorderConfig)) *recorderEnv {
	t.Helper()
	store, _ := openTemp(t)
	e := &recorderEnv{store: store, clock: &testClock{wall: wall}, view: &testView{}}
	e.events = health.NewEventLog(100, e.clock.Now)
	e.view.set(st, link)
	cfg := RecorderConfig{Store: store, Events: e.events, View: e.view.get, Now: e.clock.Now, Elapsed: e.clock.Elapsed, Session: 1}
	if more != nil {
		more(&cfg)
	}
	e.rec, _ = startRecorder(t, cfg)
	return e
}

// startRecorder runs a recorder over store until the test ends (or stop).
func startRecorder(t *testing.T, cfg RecorderConfig) (*Recorder, func()) {
	t.Helper()
	if cfg.Sample == 0 {
		cfg.Sample = time.Hour // the test drives sampling with Flush
		cfg.Flush = time.Hour
	}
	rec := NewRecorder(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = rec.Run(ctx)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	t.Cleanup(stop)
	return rec, stop
}

func flush(t *testing.T, rec *Recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rec.Flush(ctx); err != nil {
		t.Fatalf("Flush = %v", err)
	}
}

func statusEvent(node string, from, to health.Status) health.Event {
	return health.Event{Network: "prod", Node: node, Kind: "status", From: from, To: to, Confirmed: true,
		Message: node + " is " + string(to)}
}

func TestRecorderRecordsChangesRTTEventsAndAlerts(t *testing.T) {
	env := newRecorderEnv(t, tm(0).Add(10*time.Second), health.StatusUnknown, "unknown", nil)
	store, clock, events, view, rec := env.store, env.clock, env.events, env.view, env.rec
	start := clock.Now()

	view.set(health.StatusOnline, "up")
	events.Add(statusEvent("a", health.StatusUnknown, health.StatusOnline))
	flush(t, rec)
	clock.Advance(time.Minute)
	view.set(health.StatusOffline, "down")
	events.Add(statusEvent("a", health.StatusOnline, health.StatusOffline))
	events.Add(health.Event{Network: "prod", Node: "a", Kind: "delivery", Severity: health.SeverityError, Message: "discord: 500"})
	// A warning delivery event is a suppression the alert code reports
	// itself (NoteAlert): not recorded as sent.
	events.Add(health.Event{Network: "prod", Node: "a", Kind: "delivery", Severity: health.SeverityWarning, Message: "alert not sent, too late"})
	rec.NoteAlert(Alert{Network: "prod", Node: "a", Outcome: AlertSuppressed, Reason: "only one observer"})
	flush(t, rec)
	clock.Advance(time.Minute)
	flush(t, rec)
	end := clock.Now()

	cs, err := store.Changes(NodeSubject("prod", "a"))
	if err != nil {
		t.Fatal(err)
	}
	var sawOnline bool
	for _, c := range cs {
		if c.To == "online" && c.From == "unknown" {
			sawOnline = true
			if c.AgreedBy != 2 || c.LiveObservers != 3 || !c.Confirmed {
				t.Errorf("change to online = %+v; want agreed_by 2 of 3 live observers, confirmed", c)
			}
		}
	}
	if !sawOnline {
		t.Errorf("changes of a = %+v; want the change from unknown to online", cs)
	}

	for _, tc := range []struct {
		sub                Subject
		up, down           time.Duration
		outages            int
		firstMinuteRTTMean float64
	}{
		{NodeSubject("prod", "a"), time.Minute, time.Minute, 1, 3},
		{LinkSubject("prod", "a", "b"), time.Minute, time.Minute, 1, 3},
	} {
		u, err := rec.Uptime(tc.sub, start, end)
		if err != nil {
			t.Fatal(err)
		}
		if u.UpMs != tc.up.Milliseconds() || u.DownMs != tc.down.Milliseconds() || len(u.Outages) != tc.outages ||
			u.Percent == nil || *u.Percent != 50 {
			t.Errorf("Uptime(%+v) = %+v; want %v up, %v down, %d outage, 50%%", tc.sub, u, tc.up, tc.down, tc.outages)
		}
		rs, err := store.RTT(tc.sub, Minute, start.Truncate(time.Minute), end)
		if err != nil || len(rs) == 0 || rs[0].Mean != tc.firstMinuteRTTMean {
			t.Errorf("RTT(%+v) = %+v, %v; want the first minute's mean %v ms", tc.sub, rs, err, tc.firstMinuteRTTMean)
		}
	}

	// A link another member measures is kept per hour only.
	other := LinkSubject("prod", "c", "a")
	if rs, err := store.RTT(other, Minute, start.Truncate(time.Hour), end); err != nil || len(rs) != 0 {
		t.Errorf("minute RTT of link c→a = %+v, %v; want none (this node does not measure it)", rs, err)
	}
	if rs, err := store.RTT(other, Hour, start.Truncate(time.Hour), end); err != nil || len(rs) != 1 || rs[0].Mean != 5 {
		t.Errorf("hourly RTT of link c→a = %+v, %v; want one hour of 5 ms", rs, err)
	}

	evs, err := store.Events(EventQuery{Limit: 100})
	if err != nil || len(evs) != 4 {
		t.Errorf("stored events = %+v, %v; want the 4 events", evs, err)
	}
	al, err := store.Alerts("prod", 10)
	if err != nil || len(al) != 2 {
		t.Fatalf("stored alerts = %+v, %v; want the failed delivery and the suppressed alert", al, err)
	}
	outcomes := map[string]string{al[0].Outcome: al[0].Reason, al[1].Outcome: al[1].Reason}
	if outcomes[AlertFailed] != "discord: 500" || outcomes[AlertSuppressed] != "only one observer" {
		t.Errorf("alert outcomes = %v; want failed (discord: 500) and suppressed (only one observer)", outcomes)
	}
	if h := rec.Health(); h.State != "ok" || h.Path != store.Path() {
		t.Errorf("Health() = %+v; want ok at %s", h, store.Path())
	}
}

func TestRecorderRestartIsAGapNotUptime(t *testing.T) {
	dir := t.TempDir()
	clock := &testClock{wall: tm(0)}
	view := &testView{}
	view.set(health.StatusOnline, "up")
	run := func() {
		store, _, err := Open(dir, clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		events := health.NewEventLog(100, clock.Now)
		rec, stop := startRecorder(t, RecorderConfig{Store: store, Events: events, View: view.get, Now: clock.Now,
			Elapsed: clock.Elapsed, Session: uint64(clock.Now().UnixMilli())})
		flush(t, rec)
		clock.Advance(10 * time.Minute)
		stop()
	}
	run()
	clock.Advance(30 * time.Minute) // this node is down
	run()

	store, _, err := Open(dir, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ss, _ := store.Sessions()
	cs, _ := store.Changes(NodeSubject("prod", "a"))
	u := Compute(ss, cs, tm(0), clock.Now(), ClassifyNode)
	if u.UpMs != (20*time.Minute).Milliseconds() || u.NoDataMs != (30*time.Minute).Milliseconds() || *u.Percent != 100 {
		t.Errorf("uptime across a restart = %+v; want 20 min up, 30 min no data, 100%%", u)
	}
}

func TestRecorderClockStepStartsANewSession(t *testing.T) {
	env := newRecorderEnv(t, tm(0), health.StatusOnline, "up", nil)
	clock, rec := env.clock, env.rec
	flush(t, rec)
	clock.Advance(5 * time.Minute)
	flush(t, rec)
	clock.Step(time.Hour) // the wall clock jumps; no time passed
	clock.Advance(5 * time.Minute)
	flush(t, rec)

	ss, err := rec.Sessions()
	if err != nil || len(ss) != 2 {
		t.Fatalf("Sessions() = %+v, %v; want the step to split the run in two", ss, err)
	}
	u, err := rec.Uptime(NodeSubject("prod", "a"), tm(0), clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if u.UpMs != (10*time.Minute).Milliseconds() || u.NoDataMs != time.Hour.Milliseconds() {
		t.Errorf("uptime over a forward clock step = %+v; want 10 min up and the hour jumped over as no data", u)
	}
}

// linkView is network prod's view at t with link a→b's status.
func linkView(t time.Time, status string) *health.NetworkView {
	return &health.NetworkView{NetworkID: "prod", Self: "a", UpdatedAt: t,
		Nodes:       map[string]*health.NodeView{"a": {NodeID: "a", Status: health.StatusOnline}, "b": {NodeID: "b", Status: health.StatusOnline}},
		Connections: []health.Connection{{Src: "a", Dst: "b", Status: status, RTTMs: 1}}}
}

// TestRecorderRecordsLinkChangesAsTheyHappen feeds the recorder the views
// an engine publishes: a link that goes down for 300 ms, between two
// samples of the view, is recorded with the views' own times, and the
// sampled view (which shows the link up throughout) adds nothing.
func TestRecorderRecordsLinkChangesAsTheyHappen(t *testing.T) {
	// The default one-second sample: the flap below falls between two.
	env := newRecorderEnv(t, tm(0), health.StatusOnline, "up", func(c *RecorderConfig) { c.Sample = time.Second; c.Flush = time.Hour })
	store, clock, rec := env.store, env.clock, env.rec
	flush(t, rec) // the session has started
	t0 := clock.Now()
	rec.ObserveView(linkView(t0, "up"))
	rec.ObserveView(linkView(t0.Add(400*time.Millisecond), "down"))
	rec.ObserveView(linkView(t0.Add(700*time.Millisecond), "up"))
	clock.Advance(time.Second)
	flush(t, rec)

	cs, err := store.Changes(LinkSubject("prod", "a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	type change struct {
		from, to string
		at       time.Duration
	}
	var got []change
	for _, c := range cs {
		got = append(got, change{c.From, c.To, c.Time.Sub(t0)})
	}
	// The first sample recorded the link as the view showed it (up).
	want := []change{{"", "up", 0}, {"up", "down", 400 * time.Millisecond}, {"down", "up", 700 * time.Millisecond}}
	if len(got) != len(want) {
		t.Fatalf("changes of link a→b = %+v; want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("change %d of link a→b = %+v; want %+v", i, got[i], want[i])
		}
	}
	u, err := rec.Uptime(LinkSubject("prod", "a", "b"), t0, t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if u.DownMs != 300 || len(u.Outages) != 1 {
		t.Errorf("link a→b uptime = %+v; want 300 ms down, 1 outage", u)
	}
}

// TestRecorderLinkNoLongerListedIsUnknown: a view lists only the links
// something is known of, so a link it stops listing is recorded unknown.
func TestRecorderLinkNoLongerListedIsUnknown(t *testing.T) {
	env := newRecorderEnv(t, tm(0), health.StatusOnline, "up", func(c *RecorderConfig) { c.Sample = time.Second; c.Flush = time.Hour })
	store, clock, rec := env.store, env.clock, env.rec
	flush(t, rec)
	t0 := clock.Now()
	rec.ObserveView(linkView(t0, "up"))
	gone := linkView(t0.Add(400*time.Millisecond), "up")
	gone.Connections = []health.Connection{}
	rec.ObserveView(gone)
	clock.Advance(time.Second)
	flush(t, rec)

	cs, err := store.Changes(LinkSubject("prod", "a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cs {
		got = append(got, c.From+"→"+c.To)
	}
	if want := []string{"→up", "up→unknown"}; !slices.Equal(got, want) {
		t.Errorf("changes of link a→b = %v; want %v", got, want)
	}
}
