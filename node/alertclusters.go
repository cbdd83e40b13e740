package node

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/meshmon/meshmon/configsync"
	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/notify"
)

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
					"webhook", c.Webhook.String(), "first", first)
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

// announced is the cluster announcement of the runtime's configured
// clusters, for the engine's config (before start).
func (a *alertRuntime) announced() [][]byte { return clusterHashes(a.initial) }

// apply is the one way a config reload reaches the alerts: the clusters nw
// configures replace the running ones (setClusters decides what changed).
func (a *alertRuntime) apply(nw configsync.Network) {
	clusters := webhookClusters(nw, a.log)
	a.post(func() { a.setClusters(clusters) })
}

// sameClusters tells whether two cluster lists deliver alike.
func sameClusters(a []*alertCluster, b []notify.Cluster) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i].c, b[i]
		if x.Hash != y.Hash || x.Webhook.Name != y.Webhook.Name || x.Webhook.Type != y.Webhook.Type {
			return false
		}
	}
	return true
}

// setClusters replaces the clusters: every sender is rebuilt, ledgers are
// kept by cluster hash, and alerts that were being sent become pending
// again (the new sender sends them when this node is their sender). The
// engine announces the new set; at start it already announces it.
func (a *alertRuntime) setClusters(clusters []notify.Cluster) {
	initial := a.clusters == nil
	if !initial && sameClusters(a.clusters, clusters) {
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
			l = notify.NewLedgerWith(notify.LedgerConfig{Retention: a.opts.Retention})
			a.ledgers[c.Hash] = l
		}
		cl := &alertCluster{c: c, ledger: l, handed: map[string]notify.Alert{}}
		cl.evicted[0], cl.evicted[1] = l.Evicted()
		a.startSender(cl)
		next = append(next, cl)
	}
	for h := range a.ledgers {
		if !keep[h] {
			delete(a.ledgers, h)
		}
	}
	a.clusters = next
	if !initial {
		a.engine.SetClusters(clusterHashes(clusters))
	}
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
	a.counts.suppressN(notify.ReasonSuperseded, uint64(len(cl.ledger.Supersede())))
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
