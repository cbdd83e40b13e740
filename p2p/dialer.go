package p2p

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/meshmon/meshmon/internal/jitter"
)

// P2PInfo is the JSON document served at /api/p2p and fetched from members'
// URLs during bootstrap.
type P2PInfo struct {
	// PeerID is the node's libp2p peer ID.
	PeerID string `json:"peer_id"`
	// Addrs are the multiaddrs the node announces.
	Addrs []string `json:"addrs"`
	// Bandwidth is the node's libp2p traffic so far (absent when fetched from
	// an older node).
	Bandwidth *Bandwidth `json:"bandwidth,omitempty"`
	// Reachability is "public" (members dial it) or "private" (behind NAT,
	// reached through relays); empty from an older node.
	Reachability string `json:"reachability,omitempty"`
	// RelayService tells whether the node relays for members.
	RelayService bool `json:"relay_service"`
	// Relays are the peer IDs of the relays a private node holds a
	// reservation on (members behind NAT reach it through them).
	Relays []string `json:"relays,omitempty"`
	// HolePunching is PunchReady or PunchNoPublicAddress (empty from an
	// older node).
	HolePunching string `json:"hole_punching,omitempty"`
}

type dialState struct {
	node  string
	link  Link
	stale bool
	// punchAt is when to retry hole punching on a relayed link (zero: not
	// scheduled); punchWait is the wait after the next retry.
	punchAt   time.Time
	punchWait time.Duration
	next      time.Time
	backoff   time.Duration
	dialing   bool
	stopPing  context.CancelFunc
	// downAt is when the link was last seen down (zero: connected, or
	// never connected since this node started).
	downAt time.Time
	// upAt is when the link was last seen up; staleSince when it turned
	// stale (zero: not stale).
	upAt, staleSince time.Time
	// fail is the run of failed dials since the member was last connected
	// (zero: none).
	fail failSpell
}

// dials tells whether this node dials member p now. Simultaneous dials from
// both ends leave duplicate connections (61-89 connections for 45 pairs at
// N=10 in round 1), so one side dials: a node behind NAT (it cannot be
// dialled except through a relay) dials a public one; otherwise the pair's
// smaller peer ID dials. The other side dials too once the link has been
// down for dialGrace, so a pair never waits forever on one side's view.
func (n *Network) dials(p peer.ID, node string, st *dialState, now time.Time) bool {
	if n.designatedDialer(p, node) {
		return true
	}
	if st.downAt.IsZero() {
		st.downAt = now
	}
	return now.Sub(st.downAt) >= dialGrace
}

// designatedDialer tells whether this node is the side of its pair with
// member p (node) that dials (see dials).
func (n *Network) designatedDialer(p peer.ID, node string) bool {
	n.mu.Lock()
	ep := n.endpoints[node]
	n.mu.Unlock()
	peerPrivate := (ep.URL == "" || strings.EqualFold(ep.URL, "replace_me")) && len(ep.Addrs) == 0
	selfPrivate := n.host.reach == ReachabilityPrivate
	if selfPrivate != peerPrivate {
		return selfPrivate
	}
	return n.host.ID() < p
}

// errOtherSideDials is a fast redial's result on the side that does not
// dial when the crash probe found the member's port open: the other side
// reconnects.
var errOtherSideDials = errors.New("the other side of the pair redials")

type dialResult struct {
	p   peer.ID
	err error
	// evidence: the failed dial was a fast redial by addresses this node
	// can trust, so the failure is evidence of a crash or a cut link.
	evidence bool
}

// dialLoop keeps a connection to every member: it dials members that are not
// connected with exponential backoff, redials at once after a disconnect
// (reporting a failed redial as fast crash evidence) and pings connected
// members.
func (n *Network) dialLoop() {
	defer n.wg.Done()
	states := map[peer.ID]*dialState{}
	results := make(chan dialResult, 64)
	tick := time.NewTicker(minRedial)
	defer tick.Stop()
	defer func() {
		for _, st := range states {
			if st.stopPing != nil {
				st.stopPing()
			}
		}
	}()
	// inFlight counts the dials started and not yet answered; capped
	// tells whether a reconcile left a due dial for want of a slot.
	inFlight, capped := 0, false
	startDial := func(p peer.ID, st *dialState, fast bool) {
		st.dialing = true
		inFlight++
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			evidence, err := n.dial(p, st.node, fast)
			select {
			case results <- dialResult{p, err, evidence}:
			case <-n.ctx.Done():
			}
		}()
	}
	update := func(p peer.ID, st *dialState) {
		l := n.linkOf(p)
		if !l.Connected {
			st.stale = false
		}
		l.Stale = st.stale
		if l == st.link {
			return
		}
		was := st.link.Connected
		st.link = l
		n.schedulePunch(st)
		if l.Connected && was {
			// Still connected, but relayed became direct (hole punching)
			// or the other way round, or the link turned stale or fresh.
			n.handler.HandleLink(st.node, l)
			return
		}
		if was && !l.Connected {
			st.upAt = time.Now()
		}
		if l.Connected {
			st.backoff = 0
			st.downAt = time.Time{}
			st.fail = failSpell{}
			ctx, cancel := context.WithCancel(n.ctx)
			st.stopPing = cancel
			n.wg.Add(1)
			if n.pings(p) {
				go n.pingLoop(ctx, p, st.node)
			} else {
				go n.watchPings(ctx, p)
			}
			n.handler.HandleLink(st.node, l)
			return
		}
		if st.downAt.IsZero() {
			st.downAt = time.Now()
		}
		if st.stopPing != nil {
			st.stopPing()
			st.stopPing = nil
		}
		n.handler.HandleLink(st.node, l)
		if !st.dialing {
			startDial(p, st, true)
		}
	}
	reconcile := func() {
		capped = false
		m := n.validator.Members()
		for p := range states {
			if _, ok := m.NodeID(p); !ok {
				if states[p].stopPing != nil {
					states[p].stopPing()
				}
				delete(states, p)
			}
		}
		now := time.Now()
		for _, p := range m.Peers() {
			if p == n.host.ID() {
				continue
			}
			node, _ := m.NodeID(p)
			st, ok := states[p]
			if !ok {
				st = &dialState{node: node}
				states[p] = st
			}
			update(p, st)
			// Fast redials after a disconnect (update) always start;
			// backoff dials wait for a free slot, so a large config's
			// absent members never have hundreds of dials in flight.
			if !st.link.Connected && !st.dialing && !now.Before(st.next) && n.dials(p, node, st, now) {
				if inFlight < maxDialsInFlight {
					startDial(p, st, false)
				} else {
					capped = true
				}
			}
			if st.link.Connected && st.stale && !st.staleSince.IsZero() && now.Sub(st.staleSince) >= staleAfter(n.pingInterval()) {
				// Stale for twice staleAfter in all: the connection is dead
				// in all but name (a cut link; TCP retransmits with a
				// growing backoff and may take many seconds to notice a
				// restore). Close it, so the link is redialled at once
				// when it comes back.
				st.staleSince = time.Time{}
				n.log.Info("closing a connection whose pings stopped, to redial it", "node", node, "peer", p.String())
				_ = n.host.h.Network().ClosePeer(p)
			}
			if !st.punchAt.IsZero() && !now.Before(st.punchAt) {
				st.punchAt = time.Time{}
				st.punchWait = min(2*st.punchWait, maxPunchRetry)
				n.retryPunch(p)
			}
		}
	}
	reconcile()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-tick.C:
			reconcile()
		case <-n.kick:
			reconcile()
		case p := <-n.linkCh:
			if st, ok := states[p]; ok {
				update(p, st)
			} else {
				reconcile()
			}
		case ev := <-n.staleCh:
			if st, ok := states[ev.p]; ok && st.stopPing != nil {
				st.stale = ev.stale
				st.staleSince = time.Time{}
				if ev.stale {
					st.staleSince = time.Now()
				}
				update(ev.p, st)
			}
		case r := <-results:
			inFlight--
			if capped && inFlight <= maxDialsInFlight/2 {
				// Dials wait for a slot: start the next ones now, not
				// at the next tick (a large config's start would
				// otherwise dial 64 members a second).
				capped = false
				reconcile()
			}
			st, ok := states[r.p]
			if !ok {
				continue
			}
			st.dialing = false
			if r.err == nil {
				update(r.p, st)
				continue
			}
			if r.evidence {
				n.handler.HandleLink(st.node, Link{DialFailed: true})
			}
			if errors.Is(r.err, errOtherSideDials) {
				continue
			}
			limit := redialLimit(st.upAt, time.Now())
			st.backoff = min(max(2*st.backoff, minRedial), limit)
			// Spread, so members that became unreachable together (a
			// large config's absent members, all failing from this
			// node's start) are not redialled in lockstep.
			st.next = time.Now().Add(jitter.Spread(st.backoff))
			// Counted (meshmon_dial_failures_total). Once every dial
			// has failed for dialTell since the member was last
			// connected (or since this node started), the log says why
			// at INFO, once; the other failures go to DEBUG.
			n.dialFailures.Add(1)
			now := time.Now()
			log := n.log.Debug
			if st.fail.tell(now, n.dialTell) {
				log = n.log.Info
			}
			log("cannot reach member; retrying", "node", st.node, "peer", r.p.String(),
				"failing_for", now.Sub(st.fail.since).Round(time.Second), "retry_in", st.backoff, "err", r.err)
		}
	}
}

// redialLimit is the longest wait between dials of a member that cannot be
// reached and whose link was last up at upAt (zero: not since this node
// started). A member that was up a moment ago (a cut link, a restart) is
// tried twice a second, so a restored link is up again within about a
// second. One not up for absentAfter, or never since this node started,
// is tried every maxAbsentRedial: in a large config whose members mostly
// do not run (1,000 members, 997 absent), dials every maxRedial cost each
// node 100 dials a second, half of them through members' relays. Such a
// member that starts dials this node itself (at once, or after dialGrace
// when this node is the pair's dialer), so its link is up within
// dialGrace whatever this node's wait. Any other member: maxRedial.
func redialLimit(upAt, now time.Time) time.Duration {
	switch {
	case !upAt.IsZero() && now.Sub(upAt) < recentlyUp:
		return recentRedial
	case upAt.IsZero() || now.Sub(upAt) >= absentAfter:
		return maxAbsentRedial
	}
	return maxRedial
}

// schedulePunch keeps st.punchAt in step with st.link: a hole-punch retry
// is due punchWait after a link turns relayed-only; a direct link cancels it
// and resets the wait.
func (n *Network) schedulePunch(st *dialState) {
	switch {
	case !st.link.Connected:
		st.punchAt = time.Time{}
	case !st.link.Relayed:
		st.punchAt, st.punchWait = time.Time{}, 0
	case st.punchAt.IsZero():
		if st.punchWait == 0 {
			st.punchWait = n.punchWait
		}
		st.punchAt = time.Now().Add(st.punchWait)
	}
}

// retryPunch makes libp2p try hole punching again with member p. DCUtR runs
// once per new relayed connection, and a first attempt often fails because
// the peer is not ready yet (its DCUtR handler waits for a public address
// of its own). So one side of the pair — the smaller peer ID — closes the
// relayed connection; the pair's dialling side redials through the relay
// at once (without the other's router address: forgetPunchAddrs), and the
// new connection starts a new attempt. The link is down for that moment
// only.
func (n *Network) retryPunch(p peer.ID) {
	if n.host.ID() > p {
		return
	}
	n.log.Debug("link still relayed: reopening it to retry hole punching", "peer", p.String())
	for _, c := range n.host.h.Network().ConnsToPeer(p) {
		if isRelayed(c) {
			_ = c.Close()
		}
	}
}

// forgetPunchAddrs drops from ps the public addresses of member p, which
// is behind NAT: its router's, learnt from a hole punch (libp2p keeps the
// addresses a punch dialled for two minutes; members behind NAT do not
// announce them, see addrsFactory). Only a punch may dial them, from this
// node's listen port at the moment the other side dials back: an ordinary
// dial to one, made alongside the relayed redial, would hold that port's
// 4-tuple and make the punch that follows dial from a random port that no
// NAT mapping matches. Its private addresses stay: a member on this node's
// LAN is dialled on them directly.
func forgetPunchAddrs(ps peerstore.Peerstore, p peer.ID) {
	for _, a := range ps.Addrs(p) {
		if manet.IsPublicAddr(a) && !isCircuitAddr(a) {
			ps.SetAddr(p, a, 0)
		}
	}
}

// isCircuitAddr tells whether a goes through a relay (/p2p-circuit).
func isCircuitAddr(a ma.Multiaddr) bool {
	_, err := a.ValueForProtocol(ma.P_CIRCUIT)
	return err == nil
}

// errRefused is a fast redial's result when every TCP address of the peer
// refused: its process is gone.
var errRefused = errors.New("every tcp address refused the connection")

// dial connects to member p: first with known addresses, then with addresses
// fetched from its URL, or, for a member without one (behind NAT), through
// the relays among connected members. evidence tells whether a failure
// counts as fast crash evidence (see dialResult).
func (n *Network) dial(p peer.ID, node string, fast bool) (evidence bool, err error) {
	timeout := dialTimeout
	if fast {
		timeout = fastRedialTimeout
	}
	ctx, cancel := context.WithTimeout(n.ctx, timeout)
	defer cancel()
	h := n.host.h
	if sw, ok := h.Network().(*swarm.Swarm); ok {
		sw.Backoff().Clear(p)
	}
	n.mu.Lock()
	ep := n.endpoints[node]
	n.mu.Unlock()
	for _, s := range ep.Addrs {
		if a, err := ma.NewMultiaddr(s); err == nil {
			h.Peerstore().AddAddr(p, a, peerstore.PermanentAddrTTL)
		}
	}
	hasURL := ep.URL != "" && !strings.EqualFold(ep.URL, "replace_me")
	// A member reached by its url or configured addresses is dialled on
	// addresses this node trusts. A member behind NAT is known by what it
	// told us over a relay, e.g. its LAN address, which may belong to
	// another machine here: its refusal proves nothing.
	direct := hasURL || len(ep.Addrs) > 0
	if !direct {
		forgetPunchAddrs(h.Peerstore(), p)
	}
	if fast && direct && tcpRefused(ctx, h.Peerstore().Addrs(p)) {
		return true, errRefused
	}
	if fast && !n.designatedDialer(p, node) {
		return false, errOtherSideDials
	}
	if len(h.Peerstore().Addrs(p)) > 0 {
		if err = h.Connect(ctx, peer.AddrInfo{ID: p}); err == nil {
			return false, nil
		}
		if fast && direct {
			// After a disconnect the known addresses are the right ones; a
			// refused redial is the crash evidence we want, fast.
			return true, err
		}
	}
	if !hasURL {
		if rerr := n.dialRelayed(ctx, p); rerr != nil {
			return false, errors.Join(err, rerr)
		}
		return false, nil
	}
	info, served, ferr := FetchP2PInfo(ctx, n.client, ep.URL)
	if ferr != nil {
		return false, fmt.Errorf("bootstrap %s: %w", ep.URL, ferr)
	}
	if info.PeerID != p.String() {
		return false, fmt.Errorf("bootstrap %s: peer_id %s does not match the member's key (%s)", ep.URL, info.PeerID, p)
	}
	// Only addresses as far-reaching as the one that answered: a public
	// url does not get this node to dial private or loopback addresses.
	addrs, dropped := BootstrapAddrs(served, info.Addrs)
	if dropped > 0 {
		n.host.bootstrapDropped.Add(uint64(dropped))
		n.log.Debug("bootstrap addresses out of the url's scope dropped", "node", node, "dropped", dropped, "kept", len(addrs))
	}
	for _, a := range addrs {
		h.Peerstore().AddAddr(p, a, time.Hour)
	}
	if sw, ok := h.Network().(*swarm.Swarm); ok {
		sw.Backoff().Clear(p)
	}
	return false, h.Connect(ctx, peer.AddrInfo{ID: p})
}

// dialRelayed connects to member p through the relays among connected
// members; p is reachable that way once it holds a reservation there.
func (n *Network) dialRelayed(ctx context.Context, p peer.ID) error {
	addrs := n.host.circuitAddrs(p)
	if len(addrs) == 0 {
		return errors.New("no url, no known address and no relay connected")
	}
	if sw, ok := n.host.h.Network().(*swarm.Swarm); ok {
		sw.Backoff().Clear(p)
	}
	ctx = allowLimited(ctx, "meshmon: reach a member behind NAT")
	if err := n.host.h.Connect(ctx, peer.AddrInfo{ID: p, Addrs: addrs}); err != nil {
		return fmt.Errorf("through %d relay(s): %w", len(addrs), err)
	}
	return nil
}

// staleAfter is how long a connected member may leave pings unanswered
// before its link is reported stale: several ping intervals, so a busy
// machine's late answer is no false alarm.
func staleAfter(pingEvery time.Duration) time.Duration {
	return max(5*pingEvery, 5*time.Second)
}

type staleEvent struct {
	p     peer.ID
	stale bool
}

// watchPings reports the link to member p stale while p, the pinger of the
// pair, sends no ping for staleAfter, until ctx ends (the dial loop
// restarts it on reconnect).
func (n *Network) watchPings(ctx context.Context, p peer.ID) {
	defer n.wg.Done()
	since := time.Now()
	stale := false
	t := time.NewTicker(n.pingInterval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			last := n.lastPingedBy(p)
			if last.Before(since) {
				last = since
			}
			v := now.Sub(last) > staleAfter(n.pingInterval())
			if v == stale {
				continue
			}
			stale = v
			select {
			case n.staleCh <- staleEvent{p, v}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// pingLoop pings a connected member every ping interval until ctx ends,
// reporting each RTT, and reports the link stale while pings go unanswered
// for staleAfter (the dial loop restarts it on reconnect).
func (n *Network) pingLoop(ctx context.Context, p peer.ID, node string) {
	defer n.wg.Done()
	stale := false
	setStale := func(v bool) {
		if v == stale {
			return
		}
		stale = v
		select {
		case n.staleCh <- staleEvent{p, v}:
		case <-ctx.Done():
		}
	}
	// late runs across ping restarts: failing pings are unanswered too.
	late := time.NewTimer(staleAfter(n.pingInterval()))
	defer late.Stop()
	for ctx.Err() == nil {
		pctx, cancel := context.WithCancel(allowLimited(ctx, "meshmon: ping a member behind NAT"))
		n.takePings(ctx, node, pingPaced(pctx, n.host.h, p, n.pingInterval), late, setStale)
		cancel()
		select {
		case <-ctx.Done():
		case <-late.C:
			setStale(true)
		case <-time.After(n.pingInterval()):
		}
	}
}

// takePings reports each ping result as it comes (pingPaced paces the
// pings) until the ping fails or ctx ends, and reports the link stale when
// late fires first.
func (n *Network) takePings(ctx context.Context, node string, results <-chan ping.Result, late *time.Timer, setStale func(bool)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-late.C:
			setStale(true)
		case res, open := <-results:
			if !open || res.Error != nil {
				return
			}
			setStale(false)
			n.handler.HandleRTT(node, res.RTT)
			late.Reset(staleAfter(n.pingInterval()))
		}
	}
}
