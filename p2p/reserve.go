package p2p

import (
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	ma "github.com/multiformats/go-multiaddr"
)

// Relay reservations of a private host. libp2p's autorelay would do this,
// but it announces (and waits for) relays with public IP addresses only and
// starts slowly; members are few and known, so a private host simply holds a
// reservation on every connected member that runs a relay, renews it before
// it expires, and takes it again after a reconnect (a relay forgets the
// reservations of peers that disconnect).

// reservation is one relay slot this host holds.
type reservation struct {
	expires time.Time
	// addr is this host's address through the relay (nil when unknown).
	addr ma.Multiaddr
}

// reserveTellAfter is how long a relay must have refused every reservation
// before the log says so at WARN.
const reserveTellAfter = 30 * time.Second

// reserveLoop keeps reservations on the relays among connected members.
// It also tells the log when hole punching becomes possible (punchNote).
func (h *Host) reserveLoop() {
	defer h.wg.Done()
	t := time.NewTicker(reserveEvery)
	defer t.Stop()
	start := time.Now()
	var note punchNote
	for {
		select {
		case <-h.ctx.Done():
			return
		case now := <-t.C:
			h.reserveAll()
			var msg string
			if note, msg = note.next(h.HolePunching() == PunchReady, start, now); msg != "" {
				h.log.Info(msg)
			}
		}
	}
}

func (h *Host) reserveAll() {
	now := time.Now()
	for _, r := range h.relays() {
		h.mu.Lock()
		res, ok := h.reservations[r]
		h.mu.Unlock()
		if ok && res.expires.Sub(now) > renewBefore {
			continue
		}
		ctx, cancel := context.WithTimeout(h.ctx, reserveTimeout)
		got, err := client.Reserve(ctx, h.h, peer.AddrInfo{ID: r})
		cancel()
		if err != nil {
			// Counted (meshmon_relay_reservation_failures_total); logged
			// at WARN once the relay has refused for reserveTellAfter
			// since it last took one (a relay still loading its config
			// refuses for a moment at start).
			h.reserveFailures.Add(1)
			f := h.reserveFailing[r]
			if f.tell(now, reserveTellAfter) {
				h.log.Warn("relay reservation failing: members behind NAT cannot reach this node through this relay until it takes one (retried every 2s)",
					"relay", r.String(), "failing_for", now.Sub(f.since).Round(time.Second), "err", err)
			}
			h.reserveFailing[r] = f
			continue
		}
		delete(h.reserveFailing, r)
		addr, _ := h.circuitVia(r)
		h.mu.Lock()
		_, had := h.reservations[r]
		h.reservations[r] = reservation{expires: got.Expiration, addr: addr}
		h.mu.Unlock()
		if !had {
			h.log.Info("holding a relay reservation: members behind NAT reach this node through it", "relay", r.String(), "expires", got.Expiration)
		}
	}
}

// ReserveFailures counts the relay reservations this host failed to take
// or renew.
func (h *Host) ReserveFailures() uint64 { return h.reserveFailures.Load() }

// forgetReservation drops the reservation on p once this host is no longer
// connected to it: the relay dropped it too.
func (h *Host) forgetReservation(p peer.ID) {
	if isConnected(h, p) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.reservations, p)
}

// Relays returns the peer IDs of the relays this host holds a reservation on.
func (h *Host) Relays() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.reservations))
	for p := range h.reservations {
		out = append(out, p.String())
	}
	return out
}

// relayAddrs are this host's addresses through the relays it holds a
// reservation on: <relay address>/p2p/<relay>/p2p-circuit.
func (h *Host) relayAddrs() []ma.Multiaddr {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []ma.Multiaddr
	for _, r := range h.reservations {
		if r.addr != nil {
			out = append(out, r.addr)
		}
	}
	return out
}
