package p2p

import (
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"
)

// tcpFirstRanker ranks dials like libp2p's default ranker, but dials TCP
// first when the peer has a TCP address: its TCP addresses are ranked among
// themselves, so they are not held back behind QUIC as the default ranker
// does, and every other address keeps its default delay plus quicAfterTCP
// after the last TCP dial. meshmon prefers TCP between members because the
// kernel resets a crashed process's TCP sessions at once, which gives
// sub-second crash detection; a QUIC session of a dead peer just goes silent
// until its idle timeout. QUIC stays the fallback. The head start is long
// (quicAfterTCP, 1s): with 300ms, a TCP handshake slowed by a busy machine
// lost to QUIC, and 14 % of the bytes at N=30 went over QUIC links that
// then took about 1s to notice a crash (docs/performance.md). Hole punching
// is not affected: libp2p ranks its simultaneous-connect dials with
// NoDelayDialRanker, not with this ranker.
func tcpFirstRanker(addrs []ma.Multiaddr) []network.AddrDelay {
	var tcp []ma.Multiaddr
	for _, a := range addrs {
		if isTCP(a) {
			tcp = append(tcp, a)
		}
	}
	ranked := swarm.DefaultDialRanker(addrs)
	if len(tcp) == 0 {
		return ranked
	}
	out := swarm.DefaultDialRanker(tcp)
	var lastTCP time.Duration
	for _, r := range out {
		lastTCP = max(lastTCP, r.Delay)
	}
	for _, r := range ranked {
		if !isTCP(r.Addr) {
			r.Delay += lastTCP + quicAfterTCP
			out = append(out, r)
		}
	}
	return out
}

func isTCP(a ma.Multiaddr) bool {
	isTCP := false
	for _, c := range a {
		switch c.Protocol().Code {
		case ma.P_TCP:
			isTCP = true
		case ma.P_WS, ma.P_WSS, ma.P_CIRCUIT:
			return false
		}
	}
	return isTCP
}
