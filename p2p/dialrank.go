package p2p

import (
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"
)

// quicAfterTCP is how long QUIC dials wait behind TCP ones.
const quicAfterTCP = 300 * time.Millisecond

// tcpFirstRanker ranks dials like libp2p's default ranker, but delays QUIC
// behind TCP when the peer has a TCP address. meshmon prefers TCP between
// members because the kernel resets a crashed process's TCP sessions at once,
// which gives sub-second crash detection; a QUIC session of a dead peer just
// goes silent until its idle timeout. QUIC stays the fallback.
func tcpFirstRanker(addrs []ma.Multiaddr) []network.AddrDelay {
	ranked := swarm.DefaultDialRanker(addrs)
	hasTCP := false
	for _, a := range addrs {
		if isTCP(a) {
			hasTCP = true
			break
		}
	}
	if !hasTCP {
		return ranked
	}
	for i := range ranked {
		if !isTCP(ranked[i].Addr) {
			ranked[i].Delay += quicAfterTCP
		}
	}
	return ranked
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
