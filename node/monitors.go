package node

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"regexp"
	"slices"
	"time"

	"github.com/meshmon/meshmon/configsync"
	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/monitor"
	"github.com/meshmon/meshmon/p2p/pb"
	"github.com/meshmon/meshmon/probe"
	"github.com/meshmon/meshmon/version"
)

// newMonitors prepares network nw's monitor service (docs/monitors.md). Its
// reports go out through publish (the engine, created after it).
func (n *Node) newMonitors(nw configsync.Network, publish func(*pb.MonitorReport)) *monitor.Service {
	return monitor.New(monitor.Config{
		Network:  nw.Config.NetworkID,
		Self:     nw.Ref.NodeID,
		Monitors: n.monitorDefinitions(nw),
		Publish:  publish,
		Logger:   n.log,
		Events:   n.events,
		OnProbe:  n.observeProbe(nw.Config.NetworkID),
	})
}

// monitorDefinitions turns nw's monitors into the service's definitions;
// those this node runs get a probe.
func (n *Node) monitorDefinitions(nw configsync.Network) []monitor.Definition {
	ua := fmt.Sprintf("meshmon/%s (node %s)", cmp.Or(n.opts.Version, version.Version), nw.Ref.NodeID)
	out := make([]monitor.Definition, 0, len(nw.Config.Monitors))
	for _, m := range nw.Config.Monitors {
		d := monitor.Definition{
			Name: m.Name, Type: m.Type, Target: m.Target(), Group: m.Group,
			Interval: time.Duration(m.Interval), Timeout: time.Duration(m.Timeout), Retry: m.Retry,
			Runners: m.Runners(nw.Config), Hash: monitorHash(m),
		}
		if m.Runs(nw.Ref.NodeID) {
			spec := probeSpec(m, ua)
			d.Probe = func(ctx context.Context) monitor.Result { return resultOf(probe.Run(ctx, spec)) }
		}
		out = append(out, d)
	}
	return out
}

// monitorHash fingerprints a monitor's definition. fmt prints maps sorted,
// so equal definitions hash alike on every member.
func monitorHash(m configsync.Monitor) uint32 {
	h := fnv.New32a()
	fmt.Fprintf(h, "%#v", m)
	return h.Sum32()
}

// probeSpec is the probe of monitor m, sending user agent ua.
func probeSpec(m configsync.Monitor, ua string) probe.Spec {
	s := probe.Spec{
		Type: m.Type, Host: m.Host, Timeout: time.Duration(m.Timeout), UserAgent: ua,
		Method: m.Method, Headers: m.Headers, FollowRedirects: m.FollowRedirects, SkipTLSVerify: m.SkipTLSVerify,
		ExpectStatus: m.ExpectStatus, BodyContains: m.BodyContains, MaxResponseTime: time.Duration(m.MaxResponseTime),
		RecordType: m.RecordType, Server: m.Server, WarnDays: m.WarnDays,
	}
	if m.BodyRegex != "" {
		// configsync compiled it already; it cannot fail here.
		s.BodyRegex = regexp.MustCompile(m.BodyRegex)
	}
	if s.WarnDays == 0 {
		// warn_days: 0 turns the warning off; the probe reads 0 as its
		// default for tls.
		s.WarnDays = -1
	}
	return s
}

// resultOf maps a probe's result to the monitor's.
func resultOf(r probe.Result) monitor.Result {
	st := monitor.StateDown
	switch r.Status {
	case probe.Up:
		st = monitor.StateUp
	case probe.Warn:
		st = monitor.StateWarn
	}
	return monitor.Result{State: st, Latency: r.Latency, Reason: r.Reason}
}

// liveOf is the members that count as vantage points in a view: online or
// degraded, and this node.
func liveOf(nv *health.NetworkView, self string) map[string]bool {
	live := map[string]bool{self: true}
	for id, nd := range nv.Nodes {
		if nd.Status == health.StatusOnline || nd.Status == health.StatusDegraded {
			live[id] = true
		}
	}
	return live
}

// MonitorSnapshots returns every network's monitors, ordered by network_id.
func (n *Node) MonitorSnapshots() []*monitor.Snapshot {
	n.mu.Lock()
	out := make([]*monitor.Snapshot, 0, len(n.nets))
	for _, r := range n.nets {
		out = append(out, r.monitors.Snapshot())
	}
	n.mu.Unlock()
	slices.SortFunc(out, func(a, b *monitor.Snapshot) int { return cmp.Compare(a.Network, b.Network) })
	return out
}

// monitorServices returns every network's monitor service.
func (n *Node) monitorServices() []*monitor.Service {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*monitor.Service, 0, len(n.nets))
	for _, r := range n.nets {
		out = append(out, r.monitors)
	}
	return out
}
