package p2p

import (
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/config"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	"github.com/prometheus/client_golang/prometheus"
)

// Hole punching (DCUtR) runs inside libp2p and logs only at DEBUG, so a
// pair of members behind NAT whose link stays relayed would not say why.
// punchTracer logs the outcome of every attempt this node takes part in
// (as the side that received the relayed connection and starts it, or as
// the other) at INFO, with the member, the addresses dialled and the
// error; libp2p_holepunch_* counts them (docs/metrics.md).

// punchTracer is the holepunch.EventTracer of a Host. It is safe for
// concurrent use (libp2p traces punches with several peers at once).
type punchTracer struct {
	log *slog.Logger
	// node names a peer for the log: its node_id in a joined network.
	node func(peer.ID) string
	// direct names the address of a direct connection to a peer ("" for
	// none), for the log of a punched hole.
	direct func(peer.ID) string

	mu sync.Mutex
	// tried are the addresses of the punch under way with each peer
	// (StartHolePunch), for the log of its end.
	tried map[peer.ID][]string
}

var _ holepunch.EventTracer = (*punchTracer)(nil)

func (t *punchTracer) Trace(evt *holepunch.Event) {
	switch e := evt.Evt.(type) {
	case *holepunch.ProtocolErrorEvt:
		t.log.Info("hole punch could not start: the link stays relayed until meshmon reopens it to try again",
			"node", t.node(evt.Remote), "peer", evt.Remote.String(), "err", e.Error)
	case *holepunch.StartHolePunchEvt:
		t.mu.Lock()
		if t.tried == nil {
			t.tried = map[peer.ID][]string{}
		}
		t.tried[evt.Remote] = e.RemoteAddrs
		t.mu.Unlock()
	case *holepunch.EndHolePunchEvt:
		t.mu.Lock()
		tried := t.tried[evt.Remote]
		delete(t.tried, evt.Remote)
		t.mu.Unlock()
		took := e.EllapsedTime.Round(time.Millisecond)
		if e.Success {
			via := ""
			if t.direct != nil {
				via = t.direct(evt.Remote)
			}
			t.log.Info("hole punched: the link is direct", "node", t.node(evt.Remote), "peer", evt.Remote.String(), "took", took, "via", via)
			return
		}
		t.log.Info("hole punch attempt failed", "node", t.node(evt.Remote), "peer", evt.Remote.String(), "took", took,
			"tried", tried, "err", e.Error)
	case *holepunch.DirectDialEvt:
		if e.Success {
			t.log.Info("dialled a member directly instead of punching a hole", "node", t.node(evt.Remote), "peer", evt.Remote.String())
		}
	}
}

// punchConfig turns on hole punching in cfg with t tracing it, and keeps
// libp2p's own hole punching metrics when reg is set (libp2p installs its
// metrics tracer only when no option replaces it).
func punchConfig(cfg *config.Config, t *punchTracer, reg prometheus.Registerer) {
	cfg.EnableHolePunching = true
	opt := holepunch.WithTracer(t)
	if reg != nil {
		opt = holepunch.WithMetricsAndEventTracer(holepunch.NewMetricsTracer(holepunch.WithRegisterer(reg)), t)
	}
	cfg.HolePunchingOptions = append(cfg.HolePunchingOptions, opt)
}

// Hole punching readiness. libp2p's DCUtR service starts (and answers
// punches) only once the host knows a public address of its own, learnt
// from public members' identify observations; until then every punch with
// it fails with "protocols not supported" and nothing says why. A private
// host tells its log when it becomes ready, and once if it is still not
// ready punchReadyAfter after its start; /api/p2p shows the state.

// Hole punching states of P2PInfo.HolePunching.
const (
	PunchReady           = "ready"             // knows a public address of its own: can punch
	PunchNoPublicAddress = "no_public_address" // cannot punch (yet): its relayed links stay relayed
)

// punchReadyAfter is how long after its start a private host that cannot
// punch yet says so.
const punchReadyAfter = time.Minute

// directAddr is the remote address of a direct (not relayed) connection to
// p, or "" when there is none.
func (h *Host) directAddr(p peer.ID) string {
	for _, c := range h.h.Network().ConnsToPeer(p) {
		if !isRelayed(c) {
			return c.RemoteMultiaddr().String()
		}
	}
	return ""
}

// HolePunching tells whether this host can hole-punch now (PunchReady or
// PunchNoPublicAddress).
func (h *Host) HolePunching() string {
	if slices.Contains(h.h.Mux().Protocols(), holepunch.Protocol) {
		return PunchReady
	}
	return PunchNoPublicAddress
}

// punchNote is what a private host has told its log about its hole
// punching readiness.
type punchNote struct {
	ready, toldWaiting bool
}

// next returns the note after seeing ready at now (start: the host's
// start) and the INFO line to log ("" for none): one when the host becomes
// ready, one when it is still not ready punchReadyAfter after its start.
func (n punchNote) next(ready bool, start, now time.Time) (punchNote, string) {
	switch {
	case ready && !n.ready:
		n.ready = true
		return n, "hole punching ready: this node knows a public address of its own, so its relayed links to members behind NAT can turn direct"
	case !ready && !n.ready && !n.toldWaiting && now.Sub(start) >= punchReadyAfter:
		n.toldWaiting = true
		return n, "no public address of this node for hole punching yet (public members report none): its links to members behind NAT stay relayed"
	}
	return n, ""
}
