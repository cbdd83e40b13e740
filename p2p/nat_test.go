package p2p

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	ma "github.com/multiformats/go-multiaddr"
)

// startNATed starts a public member p and two private members a and b that
// know only p's addresses (and use punchRetry when it is set).
func startNATed(t *testing.T, punchRetry time.Duration) (p, a, b *testNode) {
	t.Helper()
	nodes := newKeys(t, "p", "a", "b")
	p, a, b = nodes["p"], nodes["a"], nodes["b"]
	a.punchRetry, b.punchRetry = punchRetry, punchRetry
	p.startWith(t, nodes, ReachabilityPublic, nil)
	var paddrs []string
	for _, ad := range p.host.Libp2p().Addrs() {
		paddrs = append(paddrs, ad.String())
	}
	eps := map[string]Endpoint{"p": {Addrs: paddrs}}
	a.startWith(t, nodes, ReachabilityPrivate, eps)
	b.startWith(t, nodes, ReachabilityPrivate, eps)
	return p, a, b
}

// TestNATedMembersMeetThroughARelay: two private members that only know a
// public member's address reserve relay slots on it, reach each other through
// it (a relayed link with a ping RTT: pings need an allow-limited context),
// and their gossip, which GossipSub never sends over a relayed connection,
// flows through the public member. A non-member gets no reservation.
func TestNATedMembersMeetThroughARelay(t *testing.T) {
	p, a, b := startNATed(t, 0)
	if !p.host.RelayService() || a.host.RelayService() {
		t.Fatalf("relay service: public %v, private %v; want true, false", p.host.RelayService(), a.host.RelayService())
	}

	// Each private member holds a reservation on p and announces its
	// address through p.
	for _, n := range []*testNode{a, b} {
		waitFor(t, 60*time.Second, n.name+" to hold a reservation on p and announce it", func() bool {
			if !slices.Equal(n.host.Relays(), []string{p.id.String()}) {
				return false
			}
			for _, ad := range n.host.Addrs() {
				if strings.HasSuffix(ad, "/p2p/"+p.id.String()+"/p2p-circuit") {
					return true
				}
			}
			return false
		})
	}
	if len(p.host.Relays()) != 0 {
		t.Errorf("public p holds reservations %v", p.host.Relays())
	}
	waitFor(t, 60*time.Second, "a relayed link between a and b with ping evidence both ways", func() bool {
		la, _ := a.rec.link("b")
		lb, _ := b.rec.link("a")
		return la.Connected && la.Relayed && a.rec.evidence("b") && lb.Connected && lb.Relayed && b.rec.evidence("a")
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.net.Publish(ctx, heartbeat("net", "a", 1, 1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "b to get a's heartbeat through p", func() bool {
		_, ok := b.rec.find("a", nil)
		return ok
	})
	if l, _ := p.rec.link("a"); !l.Connected || l.Relayed {
		t.Errorf("p's link to a = %+v; want direct", l)
	}
}

// TestRelayReservationFailureCounted: a private member connected to a
// relay that refuses it (the relay's config lacks it) counts each failed
// reservation and holds none.
func TestRelayReservationFailureCounted(t *testing.T) {
	nodes := newKeys(t, "p", "a", "x")
	p, a := nodes["p"], nodes["a"]
	// p's network lists p and x; a's lists p and a.
	p.startWith(t, map[string]*testNode{"p": p, "x": nodes["x"]}, ReachabilityPublic, nil)
	a.startWith(t, map[string]*testNode{"p": p, "a": a}, ReachabilityPrivate, nil)
	a.connect(t, p)
	waitFor(t, 60*time.Second, "a to count a refused reservation on p", func() bool {
		return a.host.ReserveFailures() >= 1
	})
	if r := a.host.Relays(); len(r) != 0 {
		t.Errorf("a holds reservations %v on a relay that refuses it", r)
	}
}

// TestRelayACLAdmitsMembersOnly: the relay service's filter lets members of
// a joined network reserve and connect, nobody else.
func TestRelayACLAdmitsMembersOnly(t *testing.T) {
	nodes := newKeys(t, "p", "a")
	outsider := newKeys(t, "x")["x"]
	nodes["p"].start(t, nodes)
	acl := memberACL{nodes["p"].host}
	if !acl.AllowReserve(nodes["a"].id, nil) {
		t.Error("member a may not reserve")
	}
	if acl.AllowReserve(outsider.id, nil) {
		t.Error("outsider may reserve")
	}
	if acl.AllowConnect(outsider.id, nil, nodes["a"].id) || acl.AllowConnect(nodes["a"].id, nil, outsider.id) {
		t.Error("a circuit with an outsider is allowed")
	}
	if !acl.AllowConnect(nodes["a"].id, nil, nodes["p"].id) {
		t.Error("a circuit between members is refused")
	}
}

// TestStaleLinkWhenPingsGoUnanswered: of a pair only the smaller peer ID
// pings; its pings are the evidence of both ends. When the other end stops
// answering (a hung process, a link cut without the connection knowing),
// the pinger sees no answers and the answerer no requests: both report the
// link Stale after staleAfter, and neither once pings flow again.
func TestStaleLinkWhenPingsGoUnanswered(t *testing.T) {
	nodes := newKeys(t, "a", "b")
	a, b := nodes["a"], nodes["b"]
	a.start(t, nodes)
	b.start(t, nodes)
	a.connect(t, b)
	pinger, answerer := a, b
	if b.id < a.id {
		pinger, answerer = b, a
	}
	if !pinger.net.pings(answerer.id) || answerer.net.pings(pinger.id) {
		t.Fatal("both or neither end of the pair ping")
	}
	waitFor(t, 30*time.Second, "ping evidence at both ends", func() bool {
		lp, rtt := pinger.rec.link(answerer.name)
		la, _ := answerer.rec.link(pinger.name)
		return lp.Connected && !lp.Stale && rtt > 0 && la.Connected && !la.Stale && answerer.rec.evidence(pinger.name)
	})
	// The answerer stops answering: no new ping stream, and the open one is reset.
	answerer.host.Libp2p().RemoveStreamHandler(ping.ID)
	for _, c := range answerer.host.Libp2p().Network().ConnsToPeer(pinger.id) {
		for _, s := range c.GetStreams() {
			if s.Protocol() == ping.ID {
				_ = s.Reset()
			}
		}
	}
	waitFor(t, 3*staleAfter(time.Second), "both ends to report the link stale", func() bool {
		lp, _ := pinger.rec.link(answerer.name)
		la, _ := answerer.rec.link(pinger.name)
		return lp.Connected && lp.Stale && la.Connected && la.Stale
	})
	answerer.host.Libp2p().SetStreamHandler(ping.ID, answerer.host.handlePing)
	waitFor(t, 30*time.Second, "the link to be fresh again at both ends", func() bool {
		lp, _ := pinger.rec.link(answerer.name)
		la, _ := answerer.rec.link(pinger.name)
		return lp.Connected && !lp.Stale && la.Connected && !la.Stale
	})
}

// TestRelayedLinkRetriesHolePunch: a link that stays relayed has its
// relayed connection replaced after PunchRetry (libp2p runs DCUtR once per
// new relayed connection), and the pair is connected again at once. On
// loopback the redial finds the addresses identify learnt over the relay, so
// the new connection may be direct: what a punched hole gives.
func TestRelayedLinkRetriesHolePunch(t *testing.T) {
	_, a, b := startNATed(t, time.Second)
	conns := func() []string {
		var ids []string
		for _, c := range a.host.Libp2p().Network().ConnsToPeer(b.id) {
			ids = append(ids, c.ID())
		}
		return ids
	}
	var first string
	waitFor(t, 60*time.Second, "a relayed connection between a and b", func() bool {
		for _, c := range a.host.Libp2p().Network().ConnsToPeer(b.id) {
			if isRelayed(c) {
				first = c.ID()
				return true
			}
		}
		return false
	})
	waitFor(t, 60*time.Second, "the relayed connection replaced and a and b connected again", func() bool {
		ids := conns()
		la, _ := a.rec.link("b")
		lb, _ := b.rec.link("a")
		return len(ids) > 0 && !slices.Contains(ids, first) && la.Connected && lb.Connected
	})
}

// TestPrivateHostKeepsItsPublicAddrsToItself: a host behind NAT announces
// its relay, LAN and loopback addresses but not a public one (its router's,
// which only a hole punch may dial); a public host announces them all, and
// configured announce addresses are told as they are.
func TestPrivateHostKeepsItsPublicAddrsToItself(t *testing.T) {
	libp2pAddrs := []ma.Multiaddr{
		ma.StringCast("/ip6/::1/tcp/4001"),
		ma.StringCast("/ip6/fd00:a::2/tcp/4001"),
		ma.StringCast("/ip6/2001:2:0:a100::1/tcp/4001"),
		ma.StringCast("/ip4/203.0.114.7/udp/4001/quic-v1"),
	}
	strs := func(as []ma.Multiaddr) []string {
		out := make([]string, 0, len(as))
		for _, a := range as {
			out = append(out, a.String())
		}
		return out
	}
	private := &Host{reach: ReachabilityPrivate, reservations: map[peer.ID]reservation{}}
	if got, want := strs(private.addrsFactory(nil)(slices.Clone(libp2pAddrs))), []string{"/ip6/::1/tcp/4001", "/ip6/fd00:a::2/tcp/4001"}; !slices.Equal(got, want) {
		t.Errorf("private host announces %v; want %v", got, want)
	}
	public := &Host{reach: ReachabilityPublic, reservations: map[peer.ID]reservation{}}
	if got, want := strs(public.addrsFactory(nil)(slices.Clone(libp2pAddrs))), strs(libp2pAddrs); !slices.Equal(got, want) {
		t.Errorf("public host announces %v; want %v", got, want)
	}
	announce := []ma.Multiaddr{ma.StringCast("/ip4/203.0.114.7/tcp/4001")}
	if got := strs(private.addrsFactory(announce)(slices.Clone(libp2pAddrs))); !slices.Equal(got, strs(announce)) {
		t.Errorf("private host with announce addresses announces %v; want %v", got, strs(announce))
	}
}
