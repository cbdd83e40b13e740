package node

import (
	"net/http"
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshmon/meshmon/metrics"
	"github.com/meshmon/meshmon/monitor"
	"github.com/meshmon/meshmon/p2p"
	"github.com/meshmon/meshmon/version"
	"github.com/meshmon/meshmon/web"
)

// newMetrics registers the node's collectors on reg (the registry libp2p's
// own metrics also go to) and returns the /metrics handler.
func (n *Node) newMetrics(reg *prometheus.Registry) (http.Handler, error) {
	err := metrics.Register(reg, metrics.Sources{
		View:    n.View,
		Traffic: n.traffic,
		Reload: func() metrics.Reload {
			rs := n.ReloadStatus()
			return metrics.Reload{Successful: rs.OK, LastSuccess: rs.LastSuccess}
		},
		Alerts:        n.AlertDeliveries,
		Gate:          n.host.GateCounts,
		GossipRefused: n.host.GossipRefused,
		Leaders:       n.NotificationLeaders,
		History:       n.historyMetrics,
		// Monitors (monitors.go).
		Monitors:        n.MonitorSnapshots,
		MonitorCounters: n.monitorCounters,
		MonitorProbes:   n.monitorProbes,
		Version:         n.opts.Version,
		Commit:          version.Commit,
	})
	if err != nil {
		return nil, err
	}
	return metrics.Handler(reg), nil
}

// traffic returns every joined network's gossip message counters.
func (n *Node) traffic() []metrics.Traffic {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]metrics.Traffic, 0, len(n.nets))
	for _, r := range n.nets {
		t := metrics.ValidatorTraffic(r.cfg.Config.NetworkID, r.net.Validator())
		t.Sent = map[p2p.Kind]uint64{
			p2p.KindHeartbeat: r.engine.HeartbeatsSent.Load(),
			p2p.KindReport:    r.engine.ReportsSent.Load(),
			p2p.KindDelivered: r.engine.DeliveredSent.Load(),
			p2p.KindMonitor:   r.engine.MonitorsSent.Load(),
		}
		t.PublishErrors = r.engine.PublishErrorsBy()
		t.Refutes = r.engine.Refutes.Load()
		t.Pauses = r.engine.Pauses.Load()
		t.Clashes = r.engine.Clashes.Load()
		t.MemberClashes = r.engine.MemberClashes()
		t.StrandedPushes = r.net.StrandedPushes()
		t.StrandedPushFailures = r.net.StrandedPushFailures()
		t.SyncFailures = r.net.SyncFailures()
		t.DialFailures = r.net.DialFailures()
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Network < out[j].Network })
	return out
}

// raw returns the latest signed messages this node admitted on a network,
// for /api/raw/{id}.
func (n *Node) raw(network string) ([]web.RawMessage, bool) {
	n.mu.Lock()
	var pn *p2p.Network
	for _, r := range n.nets {
		if r.cfg.Config.NetworkID == network {
			pn = r.net
		}
	}
	n.mu.Unlock()
	if pn == nil {
		return nil, false
	}
	latest := pn.Latest()
	out := make([]web.RawMessage, 0, len(latest))
	for _, m := range latest {
		rm, err := web.DecodeRaw(m.Raw, m.At)
		if err != nil {
			continue
		}
		out = append(out, rm)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].NodeID != out[j].NodeID {
			return out[i].NodeID < out[j].NodeID
		}
		return out[i].Kind < out[j].Kind
	})
	return out, true
}

// monitorCounters are every network's monitor service counters, for
// metrics.Sources.MonitorCounters.
func (n *Node) monitorCounters() []metrics.MonitorCounters {
	svcs := n.monitorServices()
	out := make([]metrics.MonitorCounters, 0, len(svcs))
	for _, s := range svcs {
		out = append(out, metrics.MonitorCounters{Network: s.Snapshot().Network,
			Mismatched: s.Mismatched.Load(), Unknown: s.Unknown.Load()})
	}
	return out
}

// observeProbe is monitor.Config.OnProbe of network: each probe this node
// runs goes into the probe metrics.
func (n *Node) observeProbe(network string) func(name string, r monitor.Result) {
	return func(name string, r monitor.Result) {
		n.monitorProbes.Observe(network, name, r.Latency, string(r.State))
	}
}
