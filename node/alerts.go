package node

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshmon/meshmon/configsync"
	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/history"
	"github.com/meshmon/meshmon/metrics"
	"github.com/meshmon/meshmon/monitor"
	"github.com/meshmon/meshmon/notify"
)

// AlertOptions tunes alert delivery (DESIGN.md §7, docs/alerts.md). Zero
// values take the production defaults; tests shorten them.
type AlertOptions struct {
	// Tick is how often each network's alert loop lets held statuses
	// through (notify.Tracker.Tick) and hands due alerts to the senders.
	// Views are taken as the engine publishes them, whatever the tick.
	// Default 200ms.
	Tick time.Duration
	// Hold is how long a node's new status must last, without a break,
	// before it is taken in (notify.Tracker.SetHold): a transition still
	// under way goes out once, as its final state, and a blip shorter than
	// Hold not at all. A sender that recovered from a pause also waits it
	// out before it sends. Default: the network's suspect_after. Negative:
	// no hold.
	Hold time.Duration
	// RecoveryHold is how long degraded must last after offline before it
	// is taken in (a returning node is degraded until every observer hears
	// it). Default 5 × Hold.
	RecoveryHold time.Duration
	// LateAfter is the late bound: a transition older than this when it
	// would be sent is dropped, with an event (notify.Eligible). Default
	// notify.LateAfter(Hold) = 2 × Hold + 30 s.
	LateAfter time.Duration
	// Settle is notify.DispatchInput.Settle. Default notify.DefaultSettle.
	Settle time.Duration
	// Retention is how long each cluster's ledger remembers alerts.
	// Default notify.DefaultRetention.
	Retention time.Duration
	// Sender is the template of every sender: timeouts, backoff, attempts,
	// queue size, HTTP client, clock. Webhook, Formatter, Logger, Gate and
	// the callbacks are set by the node.
	Sender notify.SenderConfig
}

// defaultAlertTick is AlertOptions.Tick's default.
const defaultAlertTick = 200 * time.Millisecond

// expireEvery is how often a network's ledgers forget old entries.
const expireEvery = time.Minute

// maxQueuedViews bounds the views waiting for the loop; beyond it the
// oldest are dropped (the loop is far behind; the newest view wins).
const maxQueuedViews = 256

// alertRuntime runs one network's notification clusters. It composes the
// notify package's parts; the decisions are notify's pure functions:
//
//	engine view ──onView──▶ Tracker.Observe (every view, its own time)
//	tick ──▶ Tracker.Tick ─▶ Ledger.Add ─▶ Elect ─▶ Ledger.Plan (Eligible, Dispatch) ─▶ Sender
//	Delivered gossip ──onDelivered──▶ Ledger.MarkRemote (only from the alert's sender)
//	config reload ──apply──▶ setClusters (once, diffed by cluster)
//
// A goroutine (run) owns the tracker, the ledgers and the senders'
// lifecycle; everything else reaches it through post. Readers use the
// published snapshot and counters (alertstatus.go).
type alertRuntime struct {
	network string
	self    string
	engine  *health.Engine
	log     *slog.Logger
	events  *health.EventLog
	opts    AlertOptions
	gate    *notify.RateGate
	version string
	latency *metrics.DurationHistogram
	// noteAlert records an alert decision in the history store (history.go).
	noteAlert func(history.Alert)

	delivered, failed, dropped atomic.Uint64
	counts                     alertCounts
	snap                       atomic.Pointer[alertSnapshot]

	// mu protects the following fields.
	mu    sync.Mutex
	queue []func()
	views []*health.NetworkView
	wake  chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	// The following fields are owned by run's goroutine (initial is set
	// before it starts).
	initial []notify.Cluster
	tracker *notify.Tracker
	// monitors returns the latest monitor snapshot; monTracker turns its
	// verdicts into alerts.
	monitors   func() *monitor.Snapshot
	monTracker *notify.MonitorTracker
	// started is when the loop was made; monSettle how long monitor
	// verdicts wait before they may alert (monitorsSettled); monSettled
	// is set once they may.
	started    time.Time
	monSettle  time.Duration
	monSettled bool
	clusters   []*alertCluster
	ledgers    map[string]*notify.Ledger // by cluster hash, kept across sender rebuilds
	members    []notify.ClusterMember    // every network member, Participating unset
	view       *health.NetworkView
	expired    time.Time
	// trackerSeen are the tracker's suppression counts already added to
	// counts.
	trackerSeen map[notify.Reason]uint64
}

// alertCluster is one notification cluster of the network.
type alertCluster struct {
	c      notify.Cluster
	ledger *notify.Ledger
	sender *notify.Sender
	stop   context.CancelFunc
	done   chan struct{}
	el     notify.ElectionResult
	// handed are the alerts given to the sender, by their own ID, until an
	// outcome; for the events that name them.
	handed map[string]notify.Alert
	// evicted is what the ledger reported evicted so far.
	evicted [2]uint64
}

// newAlertRuntime prepares the alert loop of network nw, with the
// notification clusters nw configures; start it with start once the
// engine exists (its config announces announced()).
func (n *Node) newAlertRuntime(nw configsync.Network) *alertRuntime {
	opts := n.opts.Alerts
	if opts.Tick <= 0 {
		opts.Tick = defaultAlertTick
	}
	if opts.Hold == 0 {
		opts.Hold = time.Duration(nw.Config.Timing.SuspectAfter)
	}
	opts.Hold = max(opts.Hold, 0)
	if opts.RecoveryHold <= 0 {
		opts.RecoveryHold = 5 * opts.Hold
	}
	if opts.LateAfter <= 0 {
		opts.LateAfter = notify.LateAfter(opts.Hold)
	}
	tracker := notify.NewTracker(nw.Config.NetworkID, nw.Ref.NodeID)
	tracker.SetHold(opts.Hold, opts.RecoveryHold)
	now := time.Now()
	log := n.log.With("network", nw.Config.NetworkID)
	return &alertRuntime{
		network:     nw.Config.NetworkID,
		self:        nw.Ref.NodeID,
		log:         log,
		events:      n.events,
		noteAlert:   n.history.rec.NoteAlert,
		opts:        opts,
		gate:        &n.alertGate,
		version:     n.opts.Version,
		latency:     metrics.NewDurationHistogram(nil),
		counts:      newAlertCounts(),
		wake:        make(chan struct{}, 1),
		initial:     webhookClusters(nw, log),
		tracker:     tracker,
		monTracker:  notify.NewMonitorTracker(nw.Config.NetworkID, now),
		started:     now,
		monSettle:   opts.Hold + 2*time.Duration(nw.Config.Timing.SuspectAfter),
		ledgers:     map[string]*notify.Ledger{},
		trackerSeen: map[notify.Reason]uint64{},
	}
}

// start runs the alert loop for engine e and the monitors whose snapshots
// monitors returns, until stop.
func (a *alertRuntime) start(e *health.Engine, monitors func() *monitor.Snapshot) {
	a.engine = e
	a.monitors = monitors
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.done = make(chan struct{})
	a.setClusters(a.initial)
	a.initial = nil
	a.publish()
	go a.run()
}

// stop ends the alert loop and every sender; a payload being posted is
// abandoned (another member sends it). Calling it again is harmless.
func (a *alertRuntime) stop() {
	if a.cancel == nil {
		return
	}
	a.cancel()
	<-a.done
}

// post hands f to the loop's goroutine; it never blocks.
func (a *alertRuntime) post(f func()) {
	a.mu.Lock()
	a.queue = append(a.queue, f)
	a.mu.Unlock()
	a.poke()
}

func (a *alertRuntime) poke() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// onView is the engine's EngineConfig.OnView: every view, in order.
func (a *alertRuntime) onView(nv *health.NetworkView) {
	a.mu.Lock()
	a.views = append(a.views, nv)
	if over := len(a.views) - maxQueuedViews; over > 0 {
		a.views = slices.Delete(a.views, 0, over)
	}
	a.mu.Unlock()
	a.poke()
}

// run is the loop: it takes in views as they come and runs a cycle every
// Tick and whenever something is posted.
func (a *alertRuntime) run() {
	defer close(a.done)
	defer func() {
		for _, cl := range a.clusters {
			a.stopSender(cl)
		}
	}()
	tick := time.NewTicker(a.opts.Tick)
	defer tick.Stop()
	a.cycle(time.Now())
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-a.wake:
			a.drain()
		case <-tick.C:
		}
		a.cycle(time.Now())
	}
}

// drain runs everything posted, including what the posted functions post.
func (a *alertRuntime) drain() {
	for {
		a.mu.Lock()
		q := a.queue
		a.queue = nil
		a.mu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, f := range q {
			f()
		}
	}
}

// takeViews feeds the tracker every view published since the last cycle,
// each at its own time, and returns the alerts they cause.
func (a *alertRuntime) takeViews() []notify.Alert {
	a.mu.Lock()
	views := a.views
	a.views = nil
	a.mu.Unlock()
	if len(views) == 0 && a.view == nil {
		// Before the first OnView (or without the hook): the latest view.
		views = []*health.NetworkView{a.engine.View()}
	}
	var alerts []notify.Alert
	for _, nv := range views {
		if nv == nil || nv == a.view {
			continue
		}
		a.view = nv
		a.members = a.members[:0]
		for _, id := range slices.Sorted(maps.Keys(nv.Nodes)) {
			a.members = append(a.members, notify.ClusterMember{NodeID: id, PeerID: nv.Nodes[id].PeerID})
		}
		alerts = append(alerts, a.tracker.Observe(notify.SnapshotFromView(nv), nv.UpdatedAt)...)
	}
	return alerts
}

// local is this node's own health as of the latest view.
func (a *alertRuntime) local() health.LocalHealth {
	if a.view == nil {
		return health.LocalHealth{}
	}
	return a.view.Local
}

// cycle takes in the latest views, lets held statuses through, elects
// every cluster's leader and hands this node's due alerts to its senders.
func (a *alertRuntime) cycle(now time.Time) {
	alerts := a.takeViews()
	// Every cycle, changed or not: held statuses come through with time.
	alerts = append(alerts, a.tracker.Tick(now)...)
	if a.monitors != nil && a.monitorsSettled(now) {
		alerts = append(alerts, a.monTracker.Observe(a.monitors(), now)...)
	}
	a.countTracker()
	hbs := a.engine.Heartbeats()
	up := a.tracker.UpSince()
	local := a.local()
	unhealthy := !notify.LocalReady(local, now, a.opts.Hold)
	expire := now.Sub(a.expired) >= expireEvery
	if expire {
		a.expired = now
	}
	for _, cl := range a.clusters {
		cl.ledger.Add(now, alerts...)
		members := slices.Clone(a.members)
		for i := range members {
			members[i].Participating = members[i].NodeID == a.self ||
				notify.AnnouncedClusters(hbs[members[i].NodeID])[cl.c.Hash]
		}
		cl.el = notify.Elect(notify.ElectionInput{
			Self: a.self, Members: members, Verdicts: a.tracker.Verdicts(), SelfUnhealthy: unhealthy,
		})
		if expire {
			cl.ledger.Expire(now)
		}
		a.countEvicted(cl)
		if cl.sender == nil {
			continue
		}
		plan := cl.ledger.Plan(a.self, cl.el, up, notify.TakeOptions{
			Settle: a.opts.Settle, Now: now, Hold: a.opts.Hold, LateAfter: a.opts.LateAfter, Local: local,
		})
		for _, d := range plan.Dropped {
			a.suppressed(cl, d, now)
		}
		for _, al := range plan.Deferred {
			a.counts.suppress(notify.ReasonLocalUnhealthy)
			a.log.Info("alert waits for this node's health", "alert", al.ID, "reason", local.Reason, "webhook", cl.c.Webhook.Name)
		}
		a.hand(cl, plan.Send)
	}
	a.publish()
}

// hand gives alerts to cl's sender; those its full queue drops are pending
// again.
func (a *alertRuntime) hand(cl *alertCluster, send []notify.Alert) {
	if len(send) == 0 {
		return
	}
	for _, al := range send {
		cl.handed[al.ID] = al
		a.log.Info("sending alert", "alert", al.ID, "title", al.Title(), "webhook", cl.c.Webhook.Name, "covers", len(al.Covers))
	}
	if dropped := cl.sender.Enqueue(send...); len(dropped) > 0 {
		a.dropped.Add(uint64(len(dropped)))
		cl.ledger.Release(dropped...)
		for _, id := range dropped {
			delete(cl.handed, id)
		}
	}
}

// suppressed counts an alert the plan dropped; a late one is an event on
// its sender (or, while the cluster waits, on the members that wait), so
// that it is visible and never presented as news.
func (a *alertRuntime) suppressed(cl *alertCluster, d notify.Suppressed, now time.Time) {
	a.counts.suppress(d.Reason)
	al := d.Alert
	a.log.Info("alert dropped", "alert", al.ID, "reason", string(d.Reason), "webhook", cl.c.Webhook.Name)
	reason := string(d.Reason) + ": " + alertLine(al)
	if d.Sender != "" && d.Sender != a.self {
		// Another member would have sent it: say so, so that this node's
		// history does not read as if its own users missed it.
		reason += " (elected sender: " + d.Sender + ")"
	}
	a.noteAlert(history.Alert{Time: now, Network: a.network, Node: al.Node, ID: al.ID, Outcome: history.AlertSuppressed,
		Reason: reason})
	if d.Reason != notify.ReasonLate || (d.Sender != "" && d.Sender != a.self) {
		return
	}
	a.events.Add(health.Event{
		Time: now, Network: a.network, Node: al.Node, Kind: "delivery", Severity: health.SeverityWarning,
		Message: fmt.Sprintf("alert not sent to %s, too late (happened at %s, %s ago): %s",
			cl.c.Webhook, al.At.UTC().Format(time.RFC3339), now.Sub(al.At).Round(time.Second), alertLine(al)),
	})
}

// countTracker adds the tracker's new suppression counts.
func (a *alertRuntime) countTracker() {
	for r, n := range a.tracker.Suppressed() {
		if d := n - a.trackerSeen[r]; d > 0 {
			a.counts.suppressN(r, d)
			a.trackerSeen[r] = n
		}
	}
}

// countEvicted adds what cl's ledger forgot for lack of room.
func (a *alertRuntime) countEvicted(cl *alertCluster) {
	al, un := cl.ledger.Evicted()
	if d := al - cl.evicted[0]; d > 0 {
		a.counts.suppressN(notify.ReasonLedgerFull, d)
		a.log.Warn("alert ledger full, oldest alerts forgotten", "forgotten", d, "webhook", cl.c.Webhook.Name)
	}
	if d := un - cl.evicted[1]; d > 0 {
		a.counts.ignoreN(notify.ReasonLedgerFull, d)
	}
	cl.evicted = [2]uint64{al, un}
}

// onDelivered is the engine's EngineConfig.OnDelivered: another member
// says it delivered an alert. The mark counts only from the elected sender
// of that alert, for an alert this node holds or, vetted, one it will
// hold shortly (its consensus lags); see notify.Ledger.MarkRemote.
func (a *alertRuntime) onDelivered(from, id string) {
	a.post(func() {
		if from == a.self {
			return
		}
		h, alertID, ok := notify.ParseDeliveredID(id)
		if !ok {
			a.counts.ignore(notify.ReasonMalformed)
			return
		}
		now := time.Now()
		for _, cl := range a.clusters {
			if cl.c.ShortHash() != h {
				continue
			}
			applied, why := cl.ledger.MarkRemote(now, alertID, from,
				a.senderCheck(cl, from), a.unknownCheck(cl, from, now))
			if why != "" {
				a.counts.ignore(why)
				a.log.Info("delivered mark ignored", "by", from, "alert", alertID, "reason", string(why), "webhook", cl.c.Webhook.Name)
				continue
			}
			if applied {
				a.counts.suppressN(notify.ReasonSuperseded, uint64(len(cl.ledger.Supersede())))
				a.log.Debug("alert delivered by another member", "by", from, "alert", alertID, "webhook", cl.c.Webhook.Name)
			}
		}
	})
}

// senderCheck reports whether from is the sender of a held alert now.
func (a *alertRuntime) senderCheck(cl *alertCluster, from string) func(notify.Alert) bool {
	up := a.tracker.UpSince()
	return func(al notify.Alert) bool {
		return notify.SenderOf(notify.DispatchInput{Election: cl.el, UpSince: up, Settle: a.opts.Settle}, al) == from
	}
}

// unknownCheck vets a mark for an alert this node does not hold: from
// must be the sender for the alert's subject now, and the alert's ID
// bucket must have begun (a predicted, future ID is forged).
func (a *alertRuntime) unknownCheck(cl *alertCluster, from string, now time.Time) func(string) notify.Reason {
	return func(alertID string) notify.Reason {
		subject, bucketStart, ok := notify.ParseAlertID(alertID)
		if !ok {
			return notify.ReasonMalformed
		}
		if bucketStart.After(now.Add(notify.IDBucket / 2)) {
			return notify.ReasonFuture
		}
		in := notify.DispatchInput{Election: cl.el, UpSince: a.tracker.UpSince(), Settle: a.opts.Settle}
		if notify.SenderOf(in, notify.Alert{Node: subject, At: now}) != from {
			return notify.ReasonNotSender
		}
		return ""
	}
}
