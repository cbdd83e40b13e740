package p2p

import (
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/config"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	"github.com/prometheus/client_golang/prometheus"
)

// Hole punching (DCUtR) runs inside libp2p and logs only at DEBUG, so a
// pair of members behind NAT whose link stays relayed would not say why.
// punchTracer logs the outcome of every attempt this node starts (the side
// that received the relayed connection starts it) at INFO, with the member
// and the error; libp2p_holepunch_* counts them (docs/metrics.md).

// punchTracer is the holepunch.EventTracer of a Host.
type punchTracer struct {
	log *slog.Logger
	// node names a peer for the log: its node_id in a joined network.
	node func(peer.ID) string
}

var _ holepunch.EventTracer = punchTracer{}

func (t punchTracer) Trace(evt *holepunch.Event) {
	switch e := evt.Evt.(type) {
	case *holepunch.ProtocolErrorEvt:
		t.log.Info("hole punch could not start: the link stays relayed until meshmon reopens it to try again",
			"node", t.node(evt.Remote), "peer", evt.Remote.String(), "err", e.Error)
	case *holepunch.EndHolePunchEvt:
		took := e.EllapsedTime.Round(time.Millisecond)
		if e.Success {
			t.log.Info("hole punched: the link is direct", "node", t.node(evt.Remote), "peer", evt.Remote.String(), "took", took)
			return
		}
		t.log.Info("hole punch attempt failed", "node", t.node(evt.Remote), "peer", evt.Remote.String(), "took", took, "err", e.Error)
	case *holepunch.DirectDialEvt:
		if e.Success {
			t.log.Info("dialled a member directly instead of punching a hole", "node", t.node(evt.Remote), "peer", evt.Remote.String())
		}
	}
}

// punchConfig turns on hole punching in cfg with t tracing it, and keeps
// libp2p's own hole punching metrics when reg is set (libp2p installs its
// metrics tracer only when no option replaces it).
func punchConfig(cfg *config.Config, t punchTracer, reg prometheus.Registerer) {
	cfg.EnableHolePunching = true
	opt := holepunch.WithTracer(t)
	if reg != nil {
		opt = holepunch.WithMetricsAndEventTracer(holepunch.NewMetricsTracer(holepunch.WithRegisterer(reg)), t)
	}
	cfg.HolePunchingOptions = append(cfg.HolePunchingOptions, opt)
}

// nodeName is the node_id of peer p in a joined network, or "" for a peer
// that is a member of none.
func (h *Host) nodeName(p peer.ID) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.networks {
		if id, ok := n.validator.Members().NodeID(p); ok {
			return id
		}
	}
	return ""
}
