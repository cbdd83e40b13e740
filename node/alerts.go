package node

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshmon/meshmon/configsync"
	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/metrics"
	"github.com/meshmon/meshmon/notify"
	"github.com/meshmon/meshmon/p2p/pb"
	"github.com/meshmon/meshmon/web"
)

// AlertOptions tunes alert delivery (DESIGN.md §7). Zero values take the
// production defaults; tests shorten them.
type AlertOptions struct {
	// Tick is how often each network's alert loop evaluates the consensus
	// and hands due alerts to the senders. Default 200ms.
	Tick time.Duration
	// Hold is how long a node's new status must last before it is taken
	// in (notify.Tracker.SetHold): a transition still under way goes out
	// once, as its final state, and a blip shorter than Hold not at all.
	// Default: the network's suspect_after. Negative: no hold.
	Hold time.Duration
	// RecoveryHold is how long degraded must last after offline before it
	// is taken in (a returning node is degraded until every observer hears
	// it). Default 5 × Hold.
	RecoveryHold time.Duration
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

// alertRuntime runs one network's notification clusters: a goroutine (run)
// owns the tracker, the ledgers and the senders' lifecycle; everything else
// reaches it through post. Readers use the published snapshot and counters.
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

	delivered, failed, dropped atomic.Uint64
	snap                       atomic.Pointer[alertSnapshot]

	// mu protects queue.
	mu    sync.Mutex
	queue []func()
	wake  chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	// The following fields are owned by run's goroutine.
	tracker  *notify.Tracker
	clusters []*alertCluster
	ledgers  map[string]*notify.Ledger // by cluster hash, kept across sender rebuilds
	snapshot notify.Snapshot           // of view
	members  []notify.ClusterMember    // every network member, Participating unset
	view     *health.NetworkView
	expired  time.Time
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
}

// alertSnapshot is what readers see of a network's clusters.
type alertSnapshot struct {
	clusters []notify.ClusterStatus
	leaders  []metrics.ClusterLeader
}

// webhookClusters returns the notification clusters nw's config asks for,
// ordered by type and name. A webhook whose URL another entry already uses
// is left out with a warning (one cluster per URL).
func webhookClusters(nw configsync.Network, log *slog.Logger) []notify.Cluster {
	var out []notify.Cluster
	seen := map[string]string{}
	add := func(typ notify.WebhookType, hooks configsync.Webhooks) {
		for _, name := range hooks.Names() {
			c := notify.NewCluster(nw.Config.NetworkID, notify.NewWebhook(name, typ, hooks[name]))
			if first, dup := seen[c.Hash]; dup {
				log.Warn("webhook has the same URL as another one; only the first is used",
					"network", nw.Config.NetworkID, "webhook", c.Webhook.String(), "first", first)
				continue
			}
			seen[c.Hash] = c.Webhook.String()
			out = append(out, c)
		}
	}
	add(notify.TypeDiscord, nw.Ref.DiscordWebhook)
	add(notify.TypeJSON, nw.Ref.Webhook)
	return out
}

// clusterHashes are the heartbeat announcement of clusters.
func clusterHashes(clusters []notify.Cluster) [][]byte {
	hs := make([]string, len(clusters))
	for i, c := range clusters {
		hs[i] = c.Hash
	}
	return notify.HeartbeatClusters(hs)
}

// newAlertRuntime prepares the alert loop of network nw; start it with
// start once the engine exists.
func (n *Node) newAlertRuntime(nw configsync.Network) *alertRuntime {
	opts := n.opts.Alerts
	if opts.Tick <= 0 {
		opts.Tick = defaultAlertTick
	}
	if opts.Hold == 0 {
		opts.Hold = time.Duration(nw.Config.Timing.SuspectAfter)
	}
	tracker := notify.NewTracker(nw.Config.NetworkID, nw.Ref.NodeID)
	if opts.RecoveryHold <= 0 {
		opts.RecoveryHold = 5 * opts.Hold
	}
	tracker.SetHold(opts.Hold, opts.RecoveryHold)
	return &alertRuntime{
		network: nw.Config.NetworkID,
		self:    nw.Ref.NodeID,
		log:     n.log.With("network", nw.Config.NetworkID),
		events:  n.events,
		opts:    opts,
		gate:    &n.alertGate,
		version: n.opts.Version,
		latency: metrics.NewDurationHistogram(nil),
		wake:    make(chan struct{}, 1),
		tracker: tracker,
		ledgers: map[string]*notify.Ledger{},
	}
}

// start runs the alert loop for engine e with the given clusters until stop.
func (a *alertRuntime) start(e *health.Engine, clusters []notify.Cluster) {
	a.engine = e
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.done = make(chan struct{})
	a.setClusters(clusters)
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
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// onDelivered is the engine's EngineConfig.OnDelivered: another member
// delivered an alert.
func (a *alertRuntime) onDelivered(from, id string) {
	a.post(func() {
		d := &pb.Delivered{AlertId: id}
		for _, cl := range a.clusters {
			if alertID, ok := cl.c.DeliveredAlert(d); ok {
				cl.ledger.MarkDelivered(time.Now(), alertID)
				cl.ledger.Supersede()
				a.log.Debug("alert delivered by another member", "by", from, "alert", alertID, "webhook", cl.c.Webhook.Name)
			}
		}
	})
}

// setWebhooks applies a new set of clusters (config reload).
func (a *alertRuntime) setWebhooks(clusters []notify.Cluster) {
	a.post(func() { a.setClusters(clusters) })
}

// run is the loop: it evaluates every Tick and whenever something is posted.
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

// sameClusters tells whether two cluster lists deliver alike.
func sameClusters(a []*alertCluster, b []notify.Cluster) bool {
	return slices.EqualFunc(a, b, func(x *alertCluster, y notify.Cluster) bool {
		return x.c.Hash == y.Hash && x.c.Webhook.Name == y.Webhook.Name && x.c.Webhook.Type == y.Webhook.Type
	})
}

// setClusters replaces the clusters: every sender is rebuilt, ledgers are
// kept by cluster hash, and alerts that were being sent become pending
// again (the new sender sends them when this node is their sender).
func (a *alertRuntime) setClusters(clusters []notify.Cluster) {
	if a.clusters != nil && sameClusters(a.clusters, clusters) {
		return
	}
	for _, cl := range a.clusters {
		a.stopSender(cl)
		var ids []string
		for _, al := range cl.ledger.Sending() {
			ids = append(ids, al.ID)
		}
		cl.ledger.Release(ids...)
	}
	keep := map[string]bool{}
	next := make([]*alertCluster, 0, len(clusters))
	for _, c := range clusters {
		keep[c.Hash] = true
		l := a.ledgers[c.Hash]
		if l == nil {
			l = notify.NewLedger(a.opts.Retention)
			a.ledgers[c.Hash] = l
		}
		cl := &alertCluster{c: c, ledger: l, handed: map[string]notify.Alert{}}
		a.startSender(cl)
		next = append(next, cl)
	}
	for h := range a.ledgers {
		if !keep[h] {
			delete(a.ledgers, h)
		}
	}
	a.clusters = next
	a.engine.SetClusters(clusterHashes(clusters))
	if len(clusters) > 0 {
		names := make([]string, len(clusters))
		for i, c := range clusters {
			names[i] = c.Webhook.String()
		}
		a.log.Info("notification clusters", "webhooks", strings.Join(names, ", "))
	}
}

// startSender makes and runs cl's sender. A webhook the sender refuses
// (configsync validated it, so this is unexpected) is an error event.
func (a *alertRuntime) startSender(cl *alertCluster) {
	cfg := a.opts.Sender
	cfg.Webhook = cl.c.Webhook
	cfg.Logger = a.log
	cfg.Gate = a.gate
	if cl.c.Webhook.Type == notify.TypeDiscord {
		cfg.Formatter = notify.DiscordFormatter{SentBy: a.self, Version: a.version}
	} else {
		cfg.Formatter = notify.JSONFormatter{SentBy: a.self, Version: a.version}
	}
	c := cl.c
	cfg.OnDelivered = func(d notify.Delivery) { a.post(func() { a.deliveredHere(c, d) }) }
	cfg.OnFailed = func(f notify.Failure) { a.post(func() { a.failedHere(c, f) }) }
	cfg.ObserveLatency = a.latency.Observe
	s, err := notify.NewSender(cfg)
	if err != nil {
		a.events.Add(health.Event{Network: a.network, Kind: "delivery", Severity: health.SeverityError, Message: err.Error()})
		a.log.Error("cannot deliver alerts", "err", err)
		return
	}
	sctx, cancel := context.WithCancel(a.ctx)
	cl.sender, cl.stop, cl.done = s, cancel, make(chan struct{})
	go func() {
		defer close(cl.done)
		_ = s.Run(sctx)
	}()
}

func (a *alertRuntime) stopSender(cl *alertCluster) {
	if cl.sender == nil {
		return
	}
	cl.stop()
	<-cl.done
	cl.sender = nil
	clear(cl.handed)
}

// cluster returns the running cluster with c's hash, or nil.
func (a *alertRuntime) cluster(hash string) *alertCluster {
	for _, cl := range a.clusters {
		if cl.c.Hash == hash {
			return cl
		}
	}
	return nil
}

// deliveredHere handles this node's 2xx: the alerts are delivered, the
// other members are told, and each alert is an event.
func (a *alertRuntime) deliveredHere(c notify.Cluster, d notify.Delivery) {
	a.delivered.Add(uint64(len(d.AlertIDs)))
	for _, id := range d.AlertIDs {
		a.engine.PublishDelivered(c.Delivered(id).GetAlertId())
	}
	cl := a.cluster(c.Hash)
	if cl == nil {
		return
	}
	for _, id := range d.AlertIDs {
		cl.ledger.MarkDelivered(d.At, id)
		al, ok := cl.handed[id]
		delete(cl.handed, id)
		if !ok {
			continue
		}
		msg := fmt.Sprintf("alert sent to %s: %s", c.Webhook, alertLine(al))
		if len(al.Covers) > 0 {
			msg += fmt.Sprintf(" (includes %d earlier change(s))", len(al.Covers))
		}
		a.events.Add(health.Event{
			Time: d.At, Network: a.network, Node: al.Node, Kind: "delivery",
			Severity: health.SeverityInfo, Message: msg,
		})
	}
	cl.ledger.Supersede()
}

// failedHere handles a payload given up: this node does not send it again
// (another leader would), and the failure is an error event.
func (a *alertRuntime) failedHere(c notify.Cluster, f notify.Failure) {
	a.failed.Add(uint64(len(f.AlertIDs)))
	ev := f.Event(a.network)
	if cl := a.cluster(c.Hash); cl != nil {
		cl.ledger.GiveUp(f.AlertIDs...)
		var lines []string
		for _, id := range f.AlertIDs {
			if al, ok := cl.handed[id]; ok {
				lines = append(lines, alertLine(al))
				if ev.Node == "" {
					ev.Node = al.Node
				} else if ev.Node != al.Node {
					ev.Node = "-"
				}
			}
			delete(cl.handed, id)
		}
		if ev.Node == "-" {
			ev.Node = ""
		}
		if len(lines) > 0 {
			ev.Message += " — " + strings.Join(lines, "; ")
		}
	}
	a.events.Add(ev)
}

// alertLine is an alert's headline with its evidence, for events.
func alertLine(al notify.Alert) string {
	if al.Kind == notify.KindDegraded {
		return fmt.Sprintf("%s (suspected by %d of %d observers)", al.Title(), al.Suspecting, al.Live)
	}
	return fmt.Sprintf("%s (agreed by %d of %d observers)", al.Title(), al.Agreeing, al.Live)
}

// cycle takes in the latest consensus, elects every cluster's leader and
// hands this node's due alerts to its senders.
func (a *alertRuntime) cycle(now time.Time) {
	if nv := a.engine.View(); nv != a.view {
		a.view = nv
		a.snapshot = notify.SnapshotFromView(nv)
		a.members = a.members[:0]
		for _, id := range slices.Sorted(maps.Keys(nv.Nodes)) {
			a.members = append(a.members, notify.ClusterMember{NodeID: id, PeerID: nv.Nodes[id].PeerID})
		}
	}
	// Every cycle, changed or not: held statuses come through with time.
	alerts := a.tracker.Observe(a.snapshot, now)
	hbs := a.engine.Heartbeats()
	up := a.tracker.UpSince()
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
		cl.el = notify.Elect(notify.ElectionInput{Self: a.self, Members: members, Verdicts: a.tracker.Verdicts()})
		if expire {
			cl.ledger.Expire(now)
		}
		if cl.sender == nil {
			continue
		}
		send := cl.ledger.TakeWith(a.self, cl.el, up, notify.TakeOptions{Settle: a.opts.Settle})
		if len(send) == 0 {
			continue
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
	a.publish()
}

// publish stores the clusters' state for readers.
func (a *alertRuntime) publish() {
	s := &alertSnapshot{}
	for _, cl := range a.clusters {
		st := cl.c.Status(cl.el)
		if st.Members == nil {
			st.Members = []notify.MemberStatus{}
		}
		s.clusters = append(s.clusters, st)
		l := metrics.ClusterLeader{Network: a.network, Cluster: cl.c.ShortHash(), Leader: cl.el.Leader}
		for _, m := range cl.el.Members {
			if m.State != notify.StateNotParticipating {
				l.Members = append(l.Members, m.NodeID)
			}
		}
		s.leaders = append(s.leaders, l)
	}
	a.snap.Store(s)
}

// published returns the latest published state (never nil).
func (a *alertRuntime) published() *alertSnapshot {
	if s := a.snap.Load(); s != nil {
		return s
	}
	return &alertSnapshot{}
}

// alertRuntimes returns the alert loops of every joined network.
func (n *Node) alertRuntimes() []*alertRuntime {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*alertRuntime, 0, len(n.nets))
	for _, r := range n.nets {
		if r.alerts != nil {
			out = append(out, r.alerts)
		}
	}
	return out
}

// NotificationClusters returns every notification cluster this node takes
// part in, as GET /api/notification_cluster shows them, ordered by network
// and cluster hash. They hold no webhook URL.
func (n *Node) NotificationClusters() []notify.ClusterStatus {
	var out []notify.ClusterStatus
	for _, a := range n.alertRuntimes() {
		out = append(out, a.published().clusters...)
	}
	slices.SortFunc(out, func(x, y notify.ClusterStatus) int {
		return cmp.Or(cmp.Compare(x.Network, y.Network), cmp.Compare(x.Hash, y.Hash))
	})
	return out
}

// webNotificationClusters is NotificationClusters for web.Deps.
func (n *Node) webNotificationClusters() []web.NotificationCluster {
	cs := n.NotificationClusters()
	out := make([]web.NotificationCluster, len(cs))
	for i, c := range cs {
		out[i] = web.NotificationCluster{
			Network: c.Network, Webhook: c.Webhook, Type: string(c.Type), Hash: c.Hash,
			Leader: c.Leader, Waiting: c.Waiting, Members: make([]web.NotificationClusterMember, len(c.Members)),
		}
		for j, m := range c.Members {
			out[i].Members[j] = web.NotificationClusterMember{NodeID: m.NodeID, PeerID: m.PeerID, State: string(m.State)}
		}
	}
	return out
}

// AlertDeliveries returns every network's alert delivery counters and
// latency, for metrics.Sources.Alerts. Counters restart when a network is
// joined again.
func (n *Node) AlertDeliveries() []metrics.AlertDeliveries {
	rs := n.alertRuntimes()
	out := make([]metrics.AlertDeliveries, 0, len(rs))
	for _, a := range rs {
		out = append(out, metrics.AlertDeliveries{
			Network: a.network,
			Outcomes: map[string]uint64{
				metrics.OutcomeDelivered: a.delivered.Load(),
				metrics.OutcomeFailed:    a.failed.Load(),
				metrics.OutcomeDropped:   a.dropped.Load(),
			},
			Latency: a.latency.Snapshot(),
		})
	}
	slices.SortFunc(out, func(x, y metrics.AlertDeliveries) int { return cmp.Compare(x.Network, y.Network) })
	return out
}

// NotificationLeaders returns the election of every notification cluster
// this node takes part in, for metrics.Sources.Leaders.
func (n *Node) NotificationLeaders() []metrics.ClusterLeader {
	var out []metrics.ClusterLeader
	for _, a := range n.alertRuntimes() {
		out = append(out, a.published().leaders...)
	}
	slices.SortFunc(out, func(x, y metrics.ClusterLeader) int {
		return cmp.Or(cmp.Compare(x.Network, y.Network), cmp.Compare(x.Cluster, y.Cluster))
	})
	return out
}
