package p2p

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// tcpRefused reports whether addrs hold at least one direct TCP address and
// every one of them refused a connection. A crashed process's host answers
// a TCP connect with a reset at once, while a QUIC dial to it only gives up
// after its handshake timeout; so right after a disconnect this probe tells
// a crash apart from a transient drop in one round trip. Anything else (a
// connect that succeeds, a timeout, no TCP address) is not evidence.
func tcpRefused(ctx context.Context, addrs []ma.Multiaddr) bool {
	refused := probeTCP(ctx, addrs)
	if refused || ctx.Err() != nil {
		return refused
	}
	// A process being killed closes its established connections and its
	// listener one after the other, so a connect made at once on the
	// reset can still reach the dying listener. Ask once more, a moment
	// later.
	t := time.NewTimer(probeAgain)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	}
	return probeTCP(ctx, addrs)
}

// probeTCP connects to every direct TCP address of addrs and reports
// whether there was at least one and all refused. A member on another
// machine also announces its loopback addresses (identify passes on every
// listen address): a connect to one of them reaches a listener of this
// machine, maybe this very node, and proves nothing about the member; so
// loopback addresses are probed only when the member has no other.
func probeTCP(ctx context.Context, addrs []ma.Multiaddr) bool {
	var d net.Dialer
	probed := 0
	remote := false
	for _, a := range addrs {
		if isDirectTCP(a) && !manet.IsIPLoopback(a) {
			remote = true
		}
	}
	for _, a := range addrs {
		if !isDirectTCP(a) || (remote && manet.IsIPLoopback(a)) {
			continue
		}
		network, host, err := manet.DialArgs(a)
		if err != nil {
			continue
		}
		c, err := d.DialContext(ctx, network, host)
		if err == nil {
			c.Close()
			return false
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return false
		}
		probed++
	}
	return probed > 0
}

// isDirectTCP tells whether a is a plain TCP address (no relay, no
// websocket or other protocol on top).
func isDirectTCP(a ma.Multiaddr) bool {
	if len(a) != 2 {
		return false
	}
	switch a[0].Code() {
	case ma.P_IP4, ma.P_IP6, ma.P_DNS, ma.P_DNS4, ma.P_DNS6:
	default:
		return false
	}
	return a[1].Code() == ma.P_TCP
}
