package node

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/meshmon/meshmon/configsync"
	"github.com/meshmon/meshmon/health"
)

// ReloadStatus is the outcome of the latest config load, for the API and
// metrics.
type ReloadStatus struct {
	// OK is false when the latest reload failed (the previous config runs).
	OK bool
	// LastSuccess is when a config was last loaded and applied.
	LastSuccess time.Time
	// LastError is the latest reload's error, empty when it succeeded.
	LastError string
	// Reloads counts reload attempts after the start.
	Reloads int
}

// ReloadStatus returns the outcome of the latest config load.
func (n *Node) ReloadStatus() ReloadStatus {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.reload
}

// Reload asks the node to reload its config now (as a file change would).
func (n *Node) Reload() {
	select {
	case n.reloadCh <- struct{}{}:
	default:
	}
}

// reloadLoop serves reload requests one at a time until ctx ends.
func (n *Node) reloadLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.reloadCh:
			n.reloadNow(ctx)
			// The set of local network directories may have changed.
			select {
			case n.rewatch <- struct{}{}:
			default:
			}
		}
	}
}

// reloadNow builds and validates a whole new config and applies it; if
// anything is wrong, the running config stays and the problem is an event.
func (n *Node) reloadNow(ctx context.Context) {
	cfg, err := n.loadConfig(ctx, false)
	if ctx.Err() != nil {
		// Stopping: not a problem of the config.
		return
	}
	n.mu.Lock()
	n.reload.Reloads++
	n.mu.Unlock()
	if err != nil {
		msg := err.Error()
		n.mu.Lock()
		repeated := !n.reload.OK && n.reload.LastError == msg
		n.reload.OK, n.reload.LastError = false, msg
		n.mu.Unlock()
		if !repeated {
			n.events.Add(health.Event{Kind: "config", Severity: health.SeverityError,
				Message: "config reload refused, the previous config keeps running: " + msg})
			n.log.Error("config reload refused; the previous config keeps running", "err", err)
		}
		return
	}
	n.apply(cfg)
}

// apply swaps cfg in: networks gone are left (peers see this node leave),
// new ones joined, changed ones updated in place, timing included (or
// rejoined when their identity changed). Unchanged networks are not
// disturbed.
func (n *Node) apply(cfg *configsync.Config) {
	n.mu.Lock()
	old := n.cfg
	n.mu.Unlock()
	want := map[string]configsync.Network{}
	for _, nw := range cfg.Networks {
		want[nw.Ref.Directory] = nw
	}
	var stopping []*netRuntime
	n.mu.Lock()
	for dir, r := range n.nets {
		nw, keep := want[dir]
		if keep && sameIdentity(r.cfg, nw) {
			continue
		}
		delete(n.nets, dir)
		stopping = append(stopping, r)
	}
	n.mu.Unlock()
	for _, r := range stopping {
		n.log.Info("leaving network", "network", r.cfg.Config.NetworkID)
		r.stop(true, n.opts.LeaveGrace)
	}
	var failed []string
	for _, nw := range cfg.Networks {
		n.mu.Lock()
		r := n.nets[nw.Ref.Directory]
		n.mu.Unlock()
		if r != nil {
			if configChanged(r.cfg, nw) {
				n.update(r, nw)
				n.log.Info("network config updated", "network", nw.Config.NetworkID)
			}
			continue
		}
		r, err := n.startNetwork(nw)
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", nw.Ref.Directory, err))
			continue
		}
		n.mu.Lock()
		n.nets[nw.Ref.Directory] = r
		n.mu.Unlock()
	}
	n.noteConfig(old, cfg)
	if r := reachabilityOf(cfg); r != n.host.Reachability() {
		msg := fmt.Sprintf("p2p reachability is now %s by config (was %s): restart the node to apply it", r, n.host.Reachability())
		n.events.Add(health.Event{Kind: "config", Severity: health.SeverityWarning, Message: msg})
		n.log.Warn(msg)
	}
	n.mu.Lock()
	n.cfg = cfg
	if len(failed) > 0 {
		n.reload.OK, n.reload.LastError = false, strings.Join(failed, "; ")
	} else {
		n.reload.OK, n.reload.LastError, n.reload.LastSuccess = true, "", time.Now()
	}
	n.mu.Unlock()
	for _, f := range failed {
		n.events.Add(health.Event{Kind: "config", Severity: health.SeverityError, Message: "cannot join network " + f})
		n.log.Error("cannot join network", "err", f)
	}
}

// configChanged tells whether anything a running network uses differs.
func configChanged(a, b configsync.Network) bool {
	if webhooksChanged(a, b) || a.Config.Timing != b.Config.Timing || !reflect.DeepEqual(a.Config.Monitors, b.Config.Monitors) {
		return true
	}
	if !slices.EqualFunc(a.Config.NodeConfig, b.Config.NodeConfig, func(x, y configsync.Member) bool {
		return x.NodeID == y.NodeID && x.URL == y.URL && x.Reachability == y.Reachability && slices.Equal(x.Addrs, y.Addrs)
	}) {
		return true
	}
	if len(a.Pubkeys) != len(b.Pubkeys) || len(a.KeyErrors) != len(b.KeyErrors) {
		return true
	}
	for id, k := range a.Pubkeys {
		if !k.Equal(b.Pubkeys[id]) {
			return true
		}
	}
	return false
}

// noteConfig raises an event and a log line for every warning or key
// problem of cfg that the previous config did not have.
func (n *Node) noteConfig(old, cfg *configsync.Config) {
	seen := map[string]bool{}
	if old != nil {
		for _, nw := range old.Networks {
			for _, s := range configNotes(nw) {
				seen[nw.Config.NetworkID+"\x00"+s.msg] = true
			}
		}
	}
	for _, nw := range cfg.Networks {
		for _, s := range configNotes(nw) {
			if seen[nw.Config.NetworkID+"\x00"+s.msg] {
				continue
			}
			n.events.Add(health.Event{Network: nw.Config.NetworkID, Node: s.node, Kind: s.kind,
				Severity: health.SeverityWarning, Message: s.msg})
			n.log.Warn("config needs attention", "network", nw.Config.NetworkID, "detail", s.msg)
		}
	}
}

type configNote struct{ kind, node, msg string }

func configNotes(nw configsync.Network) []configNote {
	var out []configNote
	for _, w := range nw.Warnings {
		out = append(out, configNote{kind: "config", msg: w})
	}
	ids := make([]string, 0, len(nw.KeyErrors))
	for id := range nw.KeyErrors {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		out = append(out, configNote{kind: "key", node: id,
			msg: fmt.Sprintf("member %s has no usable public key: %v", id, nw.KeyErrors[id])})
	}
	return out
}
