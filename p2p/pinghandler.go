package p2p

import (
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
)

// handlePing answers libp2p pings exactly as libp2p's ping service does
// (echo 32 bytes, as long as requests come), and records each request from
// a member as liveness evidence: of every pair of members only one pings
// the other (see Network.pings), and the other hears it here. Pings from
// peers that are not members are answered but prove nothing.
func (h *Host) handlePing(s network.Stream) {
	defer s.Close()
	if err := s.Scope().SetService(ping.ServiceName); err != nil {
		_ = s.Reset()
		return
	}
	if err := s.Scope().ReserveMemory(ping.PingSize, network.ReservationPriorityAlways); err != nil {
		_ = s.Reset()
		return
	}
	defer s.Scope().ReleaseMemory(ping.PingSize)
	remote := s.Conn().RemotePeer()
	buf := make([]byte, ping.PingSize)
	for {
		_ = s.SetReadDeadline(time.Now().Add(pingIdle))
		if _, err := io.ReadFull(s, buf); err != nil {
			return
		}
		_ = s.SetWriteDeadline(time.Now().Add(pingIdle))
		if _, err := s.Write(buf); err != nil {
			return
		}
		h.pinged(remote)
	}
}

// pinged hands a ping request from p to every network p is a member of.
func (h *Host) pinged(p peer.ID) {
	h.mu.Lock()
	nets := make([]*Network, 0, len(h.networks))
	for _, n := range h.networks {
		nets = append(nets, n)
	}
	h.mu.Unlock()
	now := time.Now()
	for _, n := range nets {
		if node, ok := n.validator.Members().NodeID(p); ok {
			n.pingedBy(p, node, now)
		}
	}
}

// pings tells whether this node is the pinger of its pair with p: the
// smaller peer ID pings, the other answers; one stream serves both.
func (n *Network) pings(p peer.ID) bool { return n.host.ID() < p }

// pingedBy records a ping request from member p (node) at.
func (n *Network) pingedBy(p peer.ID, node string, at time.Time) {
	n.mu.Lock()
	n.lastPinged[p] = at
	n.mu.Unlock()
	n.handler.HandlePinged(node)
}

// lastPingedBy is when member p last pinged this node (zero: never).
func (n *Network) lastPingedBy(p peer.ID) time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lastPinged[p]
}
