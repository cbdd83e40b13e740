package p2p

import (
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"
)

const relayAddr = "/ip4/198.51.100.9/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit"

func addrs(tb testing.TB, ss ...string) []ma.Multiaddr {
	tb.Helper()
	out := make([]ma.Multiaddr, 0, len(ss))
	for _, s := range ss {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			tb.Fatalf("multiaddr %q: %v", s, err)
		}
		out = append(out, a)
	}
	return out
}

// delays maps each ranked address to its dial delay.
func delays(tb testing.TB, ranked []network.AddrDelay) map[string]time.Duration {
	tb.Helper()
	out := make(map[string]time.Duration, len(ranked))
	for _, r := range ranked {
		if _, dup := out[r.Addr.String()]; dup {
			tb.Errorf("%s ranked twice", r.Addr)
		}
		out[r.Addr.String()] = r.Delay
	}
	return out
}

func TestDialIsTCP(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"/ip4/203.0.113.1/tcp/4001", true},
		{"/ip6/2001:db8::1/tcp/4001", true},
		{"/dns4/example.com/tcp/4001", true},
		{"/ip4/203.0.113.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN", true},
		{"/ip4/203.0.113.1/udp/4001/quic-v1", false},
		{"/ip4/203.0.113.1/udp/4001/quic-v1/webtransport", false},
		{"/ip4/203.0.113.1/udp/4001/webrtc-direct", false},
		{"/ip4/203.0.113.1/tcp/443/ws", false},
		{"/ip4/203.0.113.1/tcp/443/wss", false},
		{"/ip4/203.0.113.1/tcp/443/tls/ws", false},
		{"/ip4/203.0.113.1/tcp/443/tls/sni/example.com/ws", false},
		{relayAddr, false},
	}
	for _, tc := range tests {
		if got := isTCP(addrs(t, tc.addr)[0]); got != tc.want {
			t.Errorf("isTCP(%s) = %v; want %v", tc.addr, got, tc.want)
		}
	}
}

// TestDialTCPFirst: whenever a peer has a TCP address, every other address is
// dialled at least quicAfterTCP after the last TCP dial; without one, the
// default ranking is kept as is.
func TestDialTCPFirst(t *testing.T) {
	tests := []struct {
		name   string
		addrs  []string
		hasTCP bool
	}{
		{name: "public v4", hasTCP: true, addrs: []string{
			"/ip4/203.0.113.1/tcp/4001",
			"/ip4/203.0.113.1/udp/4001/quic-v1",
		}},
		{name: "public dual stack", hasTCP: true, addrs: []string{
			"/ip4/203.0.113.1/tcp/4001",
			"/ip4/203.0.113.1/udp/4001/quic-v1",
			"/ip6/2001:db8::1/tcp/4001",
			"/ip6/2001:db8::1/udp/4001/quic-v1",
		}},
		{name: "two quic ports", hasTCP: true, addrs: []string{
			"/ip4/203.0.113.1/tcp/4001",
			"/ip4/203.0.113.1/udp/4001/quic-v1",
			"/ip4/203.0.113.1/udp/4002/quic-v1",
		}},
		{name: "private and public", hasTCP: true, addrs: []string{
			"/ip4/10.0.0.5/tcp/4001",
			"/ip4/10.0.0.5/udp/4001/quic-v1",
			"/ip4/203.0.113.1/tcp/4001",
			"/ip4/203.0.113.1/udp/4001/quic-v1",
		}},
		{name: "every transport", hasTCP: true, addrs: []string{
			"/ip4/203.0.113.1/tcp/4001",
			"/ip4/203.0.113.1/udp/4001/quic-v1",
			"/ip4/203.0.113.1/udp/4001/quic-v1/webtransport",
			"/ip4/203.0.113.1/udp/4002/webrtc-direct",
			"/ip4/203.0.113.1/tcp/443/tls/ws",
			relayAddr,
		}},
		{name: "only quic", addrs: []string{
			"/ip4/203.0.113.1/udp/4001/quic-v1",
			"/ip6/2001:db8::1/udp/4001/quic-v1",
		}},
		{name: "websocket over tcp is not tcp", addrs: []string{
			"/ip4/203.0.113.1/tcp/443/ws",
			"/ip4/203.0.113.1/udp/4001/quic-v1",
		}},
		{name: "relay over tcp is not tcp", addrs: []string{
			relayAddr,
			"/ip4/203.0.113.1/udp/4001/quic-v1",
		}},
		{name: "no addresses"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The default ranker sorts its argument: give each call its own.
			got := delays(t, tcpFirstRanker(addrs(t, tc.addrs...)))
			def := delays(t, swarm.DefaultDialRanker(addrs(t, tc.addrs...)))
			if len(got) != len(tc.addrs) {
				t.Fatalf("ranked %d addresses; want all %d: %v", len(got), len(tc.addrs), got)
			}
			if !tc.hasTCP {
				for a, d := range def {
					if got[a] != d {
						t.Errorf("delay(%s) = %v; want the default %v", a, got[a], d)
					}
				}
				return
			}
			var tcp, other []time.Duration
			for _, a := range addrs(t, tc.addrs...) {
				if isTCP(a) {
					tcp = append(tcp, got[a.String()])
				} else {
					other = append(other, got[a.String()])
				}
			}
			if slices.Min(tcp) != 0 {
				t.Errorf("first TCP dial after %v; want at once", slices.Min(tcp))
			}
			if len(other) > 0 && slices.Min(other) < slices.Max(tcp)+quicAfterTCP {
				t.Errorf("delays %v: a non-TCP address is dialled at %v, before the last TCP dial (%v) + %v",
					got, slices.Min(other), slices.Max(tcp), quicAfterTCP)
			}
			// TCP addresses keep their order among themselves, as do the others.
			for _, group := range [][]string{filterTCP(tc.addrs, true), filterTCP(tc.addrs, false)} {
				gdef := delays(t, swarm.DefaultDialRanker(addrs(t, group...)))
				for _, x := range group {
					for _, y := range group {
						if gdef[x] < gdef[y] && !(got[x] < got[y]) {
							t.Errorf("%s (%v) no longer dialled before %s (%v)", x, got[x], y, got[y])
						}
					}
				}
			}
		})
	}
}

func filterTCP(ss []string, tcp bool) []string {
	var out []string
	for _, s := range ss {
		a, err := ma.NewMultiaddr(s)
		if err == nil && isTCP(a) == tcp {
			out = append(out, s)
		}
	}
	return out
}

// slowTCPProxy forwards TCP connections on a loopback port to target after
// holding each for delay, as a busy machine or a slow path delays a TCP
// handshake; it returns the port's multiaddr.
func slowTCPProxy(t *testing.T, target ma.Multiaddr, delay time.Duration) ma.Multiaddr {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	_, taddr, err := manet.DialArgs(target)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				hold := time.NewTimer(delay)
				defer hold.Stop()
				<-hold.C
				u, err := net.Dial("tcp", taddr)
				if err != nil {
					return
				}
				defer u.Close()
				go func() { _, _ = io.Copy(u, c); u.Close() }()
				_, _ = io.Copy(c, u)
			}()
		}
	}()
	a, err := manet.FromNetAddr(ln.Addr())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestDialPrefersSlowTCP: a member whose TCP handshake is slow (here 400ms,
// more than the 300ms QUIC used to wait) is still connected over TCP, not
// QUIC, so its link keeps the sub-second crash path (a reset).
func TestDialPrefersSlowTCP(t *testing.T) {
	newHost := func() *Host {
		_, key, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		h, err := NewHost(HostConfig{Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"},
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		return h
	}
	server, client := newHost(), newHost()
	var dial []ma.Multiaddr
	for _, a := range server.Libp2p().Addrs() {
		if isTCP(a) {
			dial = append(dial, slowTCPProxy(t, a, 400*time.Millisecond))
		} else {
			dial = append(dial, a)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Libp2p().Connect(ctx, peer.AddrInfo{ID: server.ID(), Addrs: dial}); err != nil {
		t.Fatalf("connect: %v", err)
	}
	for _, c := range client.Libp2p().Network().ConnsToPeer(server.ID()) {
		if tr := c.ConnState().Transport; tr != "tcp" {
			t.Errorf("connected over %s (%s); want tcp only", tr, c.RemoteMultiaddr())
		}
	}
}
