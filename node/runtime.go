package node

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshmon/meshmon/configsync"
	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/internal/cputime"
	"github.com/meshmon/meshmon/monitor"
	"github.com/meshmon/meshmon/p2p"
	"github.com/meshmon/meshmon/p2p/pb"
)

// netRuntime is one joined network: its liveness engine, gossip topic and
// notification clusters.
type netRuntime struct {
	cfg    configsync.Network
	engine *health.Engine
	net    *p2p.Network
	alerts *alertRuntime
	// monitors runs the network's external monitors (monitors.go).
	monitors *monitor.Service
	cancel   context.CancelFunc
	done     chan struct{}
}

// startNetwork joins nw and starts its engine and alert loop.
func (n *Node) startNetwork(nw configsync.Network) (*netRuntime, error) {
	members, set := n.members(nw)
	alerts := n.newAlertRuntime(nw)
	var e *health.Engine
	// Publish runs on the service's goroutine, started after e is set.
	mons := n.newMonitors(nw, func(r *pb.MonitorReport) { e.PublishMonitors(r) })
	self := nw.Ref.NodeID
	e = health.NewEngine(health.EngineConfig{
		NetworkID:    nw.Config.NetworkID,
		Self:         nw.Ref.NodeID,
		Members:      members,
		Heartbeat:    time.Duration(nw.Config.Timing.Heartbeat),
		SuspectAfter: time.Duration(nw.Config.Timing.SuspectAfter),
		Version:      n.opts.Version,
		Reachability: string(n.host.Reachability()),
		Incarnation:  n.nextIncarnation,
		CPUTime:      cputime.Process,
		Logger:       n.log,
		Events:       n.events,
		Clusters:     alerts.announced(),
		OnDelivered:  alerts.onDelivered,
		OnMonitors:   mons.HandleReport,
		OnView: func(nv *health.NetworkView) {
			alerts.onView(nv)
			mons.SetLive(liveOf(nv, self))
			n.history.rec.ObserveView(nv)
		},
	}, nil)
	pn, err := n.host.Join(p2p.NetworkConfig{
		ID:           nw.Config.NetworkID,
		Self:         nw.Ref.NodeID,
		Members:      set,
		Endpoints:    endpoints(nw),
		Handler:      e,
		PingInterval: time.Duration(nw.Config.Timing.Heartbeat),
		Logger:       n.log,
	})
	if err != nil {
		return nil, err
	}
	e.SetPublisher(pn)
	ctx, cancel := context.WithCancel(context.Background())
	r := &netRuntime{cfg: nw, engine: e, net: pn, alerts: alerts, monitors: mons, cancel: cancel, done: make(chan struct{})}
	monsDone := make(chan struct{})
	go func() {
		defer close(monsDone)
		_ = mons.Run(ctx)
	}()
	go func() {
		defer close(r.done)
		if err := e.Run(ctx); err != nil {
			n.log.Error("network engine stopped", "network", nw.Config.NetworkID, "err", err)
		}
		<-monsDone
	}()
	alerts.start(e, mons.Snapshot)
	n.log.Info("joined network", "network", nw.Config.NetworkID, "node", nw.Ref.NodeID, "members", len(members))
	return r, nil
}

// stop leaves the network: with leave, peers are told first (they show this
// node as left); then alert delivery and the engine stop and the topic is
// left.
func (r *netRuntime) stop(leave bool, grace time.Duration) {
	if leave {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = r.engine.Leave(ctx)
		cancel()
		t := time.NewTimer(grace)
		<-t.C
	}
	r.alerts.stop()
	r.cancel()
	<-r.done
	r.net.Close()
}

// update applies a new config of the same network in place: members,
// keys and urls change without a restart.
func (n *Node) update(r *netRuntime, nw configsync.Network) {
	members, set := n.members(nw)
	r.engine.SetMembers(members)
	r.net.SetMembers(set, endpoints(nw))
	if r.cfg.Config.Timing != nw.Config.Timing {
		// In place: no rejoin, no new position, no left blip.
		hb, sa := time.Duration(nw.Config.Timing.Heartbeat), time.Duration(nw.Config.Timing.SuspectAfter)
		r.engine.SetTiming(hb, sa)
		r.net.SetPingInterval(hb)
		n.log.Info("timing changed", "network", nw.Config.NetworkID, "heartbeat", hb, "suspect_after", sa)
	}
	r.alerts.apply(nw)
	// Unchanged monitors keep their probers and results (by hash).
	r.monitors.SetMonitors(n.monitorDefinitions(nw))
	// Only the reload goroutine writes r.cfg; readers hold n.mu.
	n.mu.Lock()
	r.cfg = nw
	n.mu.Unlock()
}

// webhooksChanged tells whether a network's webhooks differ between configs.
func webhooksChanged(a, b configsync.Network) bool {
	return !maps.Equal(a.Ref.DiscordWebhook, b.Ref.DiscordWebhook) || !maps.Equal(a.Ref.Webhook, b.Ref.Webhook)
}

// sameIdentity tells whether a running network can take config b in place:
// same network, same own node_id (a timing change is applied in place).
func sameIdentity(a, b configsync.Network) bool {
	return a.Config.NetworkID == b.Config.NetworkID &&
		a.Ref.NodeID == b.Ref.NodeID
}

// members builds the engine's and the validator's member sets. This node is
// always a member with its own key.
func (n *Node) members(nw configsync.Network) ([]health.Member, *p2p.Members) {
	byNode := map[string]peer.ID{}
	out := make([]health.Member, 0, len(nw.Config.NodeConfig))
	for _, m := range nw.Config.NodeConfig {
		hm := health.Member{NodeID: m.NodeID, URL: m.URL}
		switch {
		case m.NodeID == nw.Ref.NodeID:
			hm.PeerID = n.host.ID()
		case nw.Pubkeys[m.NodeID] != nil:
			pid, err := p2p.PeerIDFromPublicKey(nw.Pubkeys[m.NodeID])
			if err != nil {
				hm.KeyError = err.Error()
			} else {
				hm.PeerID = pid
			}
		default:
			if kerr := nw.KeyErrors[m.NodeID]; kerr != nil {
				hm.KeyError = kerr.Error()
			} else {
				hm.KeyError = "no public key"
			}
		}
		if hm.PeerID != "" {
			byNode[m.NodeID] = hm.PeerID
		}
		out = append(out, hm)
	}
	return out, p2p.NewMembers(byNode)
}

func endpoints(nw configsync.Network) map[string]p2p.Endpoint {
	out := make(map[string]p2p.Endpoint, len(nw.Config.NodeConfig))
	for _, m := range nw.Config.NodeConfig {
		url := m.URL
		if m.HasPlaceholderURL() {
			url = ""
		}
		out[m.NodeID] = p2p.Endpoint{URL: url, Addrs: slices.Clone(m.Addrs)}
	}
	return out
}

// nextIncarnation hands the engines this node's next incarnation. A counter
// that cannot be written still gives a growing number for this run, but the
// next start may reuse one: that is logged, raised as an event and counted.
func (n *Node) nextIncarnation(atLeast uint64) uint64 {
	v, err := n.incarnations.Next(atLeast)
	if err != nil {
		n.log.Warn("incarnation counter not saved: after a restart peers may refuse this node's messages until it refutes them", "err", err)
		n.events.Add(health.Event{Kind: "config", Severity: health.SeverityWarning,
			Message: "the incarnation counter could not be saved (" + err.Error() + "): make the config dir writable"})
	}
	return v
}
