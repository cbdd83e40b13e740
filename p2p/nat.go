package p2p

import (
	"context"
	"fmt"
	"slices"

	"github.com/libp2p/go-libp2p/config"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	circuitproto "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/proto"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
	"github.com/prometheus/client_golang/prometheus"
)

// Reachability is whether other nodes can dial this host.
type Reachability string

// Reachability values. Small meshes have too few observers for AutoNAT to
// trust a public address (libp2p wants 4), so reachability comes from config.
const (
	// ReachabilityPublic: members dial this host directly; it runs a
	// circuit-relay v2 service for members and answers AutoNAT dial-backs.
	ReachabilityPublic Reachability = "public"
	// ReachabilityPrivate: behind NAT; this host dials out, reserves relay
	// slots on public members and is reached through them (and directly
	// once DCUtR hole punching succeeds).
	ReachabilityPrivate Reachability = "private"
)

// natConfig sets the libp2p options for reachability r on cfg: a public
// host runs a relay service restricted to members and the AutoNAT service; a
// private one reserves slots on the relays among connected members
// (reserveLoop). Both hole-punch (DCUtR). The fields are those that
// libp2p.EnableHolePunching, ForceReachabilityPublic/Private,
// EnableNATService and EnableRelayService set; hole punching is traced
// (punchtrace.go).
func (h *Host) natConfig(cfg *config.Config, r Reachability) error {
	var reg prometheus.Registerer
	if !cfg.DisableMetrics {
		reg = cfg.PrometheusRegisterer
	}
	punchConfig(cfg, &punchTracer{log: h.log, node: func(p peer.ID) string { id, _ := h.memberNode(p); return id }, direct: h.directAddr}, reg)
	switch r {
	case ReachabilityPublic:
		res := relayv2.DefaultResources()
		res.Limit = &relayv2.RelayLimit{Duration: relayLimitDuration, Data: relayLimitData}
		public := network.ReachabilityPublic
		cfg.AutoNATConfig.ForceReachability = &public
		cfg.AutoNATConfig.EnableService = true
		cfg.EnableRelayService = true
		cfg.RelayServiceOpts = []relayv2.Option{relayv2.WithResources(res), relayv2.WithACL(memberACL{h})}
	case ReachabilityPrivate:
		// Relay slots are reserved by reserveLoop.
		private := network.ReachabilityPrivate
		cfg.AutoNATConfig.ForceReachability = &private
	default:
		return fmt.Errorf("p2p: reachability %q: want %q or %q", r, ReachabilityPublic, ReachabilityPrivate)
	}
	return nil
}

// memberACL lets only members of a joined network reserve a slot on this
// relay or open circuits through it.
type memberACL struct{ h *Host }

func (a memberACL) AllowReserve(p peer.ID, _ ma.Multiaddr) bool { return a.h.memberOfAny(p) }

func (a memberACL) AllowConnect(src peer.ID, _ ma.Multiaddr, dest peer.ID) bool {
	return a.h.memberOfAny(src) && a.h.memberOfAny(dest)
}

// relays returns the connected members that run a relay service.
func (h *Host) relays() []peer.ID {
	var out []peer.ID
	for _, p := range h.h.Network().Peers() {
		if p == h.ID() || !h.memberOfAny(p) {
			continue
		}
		if ok, _ := h.h.Peerstore().SupportsProtocols(p, circuitproto.ProtoIDv2Hop); len(ok) == 0 {
			continue
		}
		out = append(out, p)
	}
	return out
}

// circuitAddrs are addresses of member p through every connected relay.
func (h *Host) circuitAddrs(p peer.ID) []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, r := range h.relays() {
		if a, ok := h.circuitVia(r); ok && r != p {
			out = append(out, a)
		}
	}
	return out
}

// circuitVia is the circuit address through relay r on the address this
// host is directly connected to r by: <addr>/p2p/<r>/p2p-circuit.
func (h *Host) circuitVia(r peer.ID) (ma.Multiaddr, bool) {
	tail, err := ma.NewMultiaddr("/p2p/" + r.String() + "/p2p-circuit")
	if err != nil {
		return nil, false
	}
	for _, c := range h.h.Network().ConnsToPeer(r) {
		if !c.Stat().Limited {
			return c.RemoteMultiaddr().Encapsulate(tail), true
		}
	}
	return nil, false
}

// Reachability is this host's configured reachability.
func (h *Host) Reachability() Reachability { return h.reach }

// RelayService tells whether this host offers a relay service to members.
func (h *Host) RelayService() bool { return h.reach == ReachabilityPublic }

// allowLimited lets a stream of ours use a relayed (limited) connection: a
// ping or sync over a relay is what a member behind NAT is reached by.
func allowLimited(ctx context.Context, why string) context.Context {
	return network.WithAllowLimitedConn(ctx, why)
}

// addrsFactory is what peers are told: the announce addresses if set, else
// the listen addresses, plus this host's relay addresses.
//
// A private host does not tell its public addresses (its router's, which
// libp2p adds once public members have observed it): nothing can dial
// them but a hole punch, which exchanges them itself. A peer that learnt
// one would dial it plainly before punching (libp2p tries a direct dial
// first), from the very port the punch must use; the punch then dials
// from a random port that no NAT mapping matches, and fails, again at
// every retry (seen in the NAT e2e test, which stayed relayed for 4
// minutes).
func (h *Host) addrsFactory(announce []ma.Multiaddr) func([]ma.Multiaddr) []ma.Multiaddr {
	return func(addrs []ma.Multiaddr) []ma.Multiaddr {
		if len(announce) > 0 {
			addrs = append([]ma.Multiaddr(nil), announce...)
		} else if h.reach == ReachabilityPrivate {
			addrs = slices.DeleteFunc(slices.Clone(addrs), func(a ma.Multiaddr) bool {
				return manet.IsPublicAddr(a) && !isCircuitAddr(a)
			})
		}
		return append(addrs, h.relayAddrs()...)
	}
}
