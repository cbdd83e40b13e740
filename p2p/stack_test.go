package p2p

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/config"
	"github.com/libp2p/go-libp2p/core/peer"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	ma "github.com/multiformats/go-multiaddr"
)

// TestStackDefaultsAreLibp2ps: every default withStackDefaults fills is the
// one libp2p.New's FallbackDefaults would fill, except the transports, which
// are TCP and QUIC only (libp2p adds WebSocket, WebTransport and WebRTC).
func TestStackDefaultsAreLibp2ps(t *testing.T) {
	var ours, theirs config.Config
	if err := withStackDefaults(&ours); err != nil {
		t.Fatal(err)
	}
	// libp2p.New applies FallbackDefaults after the caller's options; the
	// fields NewHost sets itself are set here too, so the fallbacks for
	// them (random identity, default connection manager, global metrics)
	// do not apply, as in NewHost.
	theirs.PeerKey, theirs.ConnManager, theirs.DisableMetrics = ours.PeerKey, ours.ConnManager, true
	theirs.ListenAddrs = []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/0")}
	if err := theirs.Apply(libp2p.FallbackDefaults); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ours.ResourceManager.Close()
		theirs.ResourceManager.Close()
		ours.Peerstore.Close()
		theirs.Peerstore.Close()
	})

	ids := func(c config.Config) (mux, sec []string) {
		for _, m := range c.Muxers {
			mux = append(mux, string(m.ID))
		}
		for _, s := range c.SecurityTransports {
			sec = append(sec, string(s.ID))
		}
		return mux, sec
	}
	om, osec := ids(ours)
	tm, ts := ids(theirs)
	if !reflect.DeepEqual(om, tm) {
		t.Errorf("muxers = %v; want libp2p's %v", om, tm)
	}
	if !reflect.DeepEqual(osec, ts) {
		t.Errorf("security transports = %v; want libp2p's %v (in that order)", osec, ts)
	}
	for i := range min(len(ours.SecurityTransports), len(theirs.SecurityTransports)) {
		if o, th := reflect.ValueOf(ours.SecurityTransports[i].Constructor).Pointer(), reflect.ValueOf(theirs.SecurityTransports[i].Constructor).Pointer(); o != th {
			t.Errorf("security transport %d: another constructor than libp2p's", i)
		}
	}
	if ours.Relay != theirs.Relay || ours.RelayCustom != theirs.RelayCustom {
		t.Errorf("relay transport = %v (custom %v); want libp2p's %v (custom %v)", ours.Relay, ours.RelayCustom, theirs.Relay, theirs.RelayCustom)
	}
	if !reflect.DeepEqual(ours.UDPBlackHoleSuccessCounter, theirs.UDPBlackHoleSuccessCounter) {
		t.Errorf("UDP black hole counter = %+v; want libp2p's %+v", ours.UDPBlackHoleSuccessCounter, theirs.UDPBlackHoleSuccessCounter)
	}
	if !reflect.DeepEqual(ours.IPv6BlackHoleSuccessCounter, theirs.IPv6BlackHoleSuccessCounter) {
		t.Errorf("IPv6 black hole counter = %+v; want libp2p's %+v", ours.IPv6BlackHoleSuccessCounter, theirs.IPv6BlackHoleSuccessCounter)
	}
	if reflect.TypeOf(ours.Peerstore) != reflect.TypeOf(theirs.Peerstore) {
		t.Errorf("peerstore is a %T; want libp2p's %T", ours.Peerstore, theirs.Peerstore)
	}
	if reflect.TypeOf(ours.ResourceManager) != reflect.TypeOf(theirs.ResourceManager) {
		t.Errorf("resource manager is a %T; want libp2p's %T", ours.ResourceManager, theirs.ResourceManager)
	}
	ol, tl := rcmgr.DefaultLimits, rcmgr.DefaultLimits
	serviceLimits(&ol)
	libp2p.SetDefaultServiceLimits(&tl)
	if !reflect.DeepEqual(ol, tl) {
		t.Errorf("service limits differ from libp2p.SetDefaultServiceLimits")
	}
	if len(ours.Transports) != 2 {
		t.Errorf("%d transports; want 2 (TCP, QUIC)", len(ours.Transports))
	}
}

// TestStackDialsTCPAndQUIC: a host built by NewHost is reached over TCP
// alone (secured and multiplexed) and over QUIC alone.
func TestStackDialsTCPAndQUIC(t *testing.T) {
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
	server := newHost()
	for _, tc := range []struct {
		name, proto string
	}{{"tcp", "tcp"}, {"quic", "quic-v1"}} {
		t.Run(tc.name, func(t *testing.T) {
			client := newHost()
			var only []ma.Multiaddr
			for _, a := range server.Libp2p().Addrs() {
				if strings.Contains(a.String(), "/"+tc.proto) {
					only = append(only, a)
				}
			}
			if len(only) == 0 {
				t.Fatalf("server listens on no %s address: %v", tc.proto, server.Addrs())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := client.Libp2p().Connect(ctx, peer.AddrInfo{ID: server.ID(), Addrs: only}); err != nil {
				t.Fatalf("connect over %s: %v", tc.proto, err)
			}
			conns := client.Libp2p().Network().ConnsToPeer(server.ID())
			if len(conns) != 1 {
				t.Fatalf("%d connections; want 1", len(conns))
			}
			st := conns[0].ConnState()
			if st.Transport != tc.proto {
				t.Errorf("connection %s: transport %q; want %q", conns[0].RemoteMultiaddr(), st.Transport, tc.proto)
			}
			if tc.proto == "tcp" && (st.Security == "" || st.StreamMultiplexer == "") {
				t.Errorf("tcp connection: security %q, muxer %q; want both", st.Security, st.StreamMultiplexer)
			}
			s, err := client.Libp2p().NewStream(ctx, server.ID(), "/ipfs/id/1.0.0")
			if err != nil {
				t.Fatalf("open a stream over %s: %v", tc.proto, err)
			}
			s.Close()
		})
	}
}

// TestStackLinksNoUnusedTransport: the p2p package does not import the root
// go-libp2p package, whose default options link the WebSocket, WebTransport
// and WebRTC transports into the binary (stack.go). go-libp2p/config still
// imports the WebRTC transport for a type, so that package is linked, but
// not the transports' constructors nor their dependencies' code paths.
func TestStackLinksNoUnusedTransport(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("this test lists the package's imports with the go tool: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, gobin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		switch pkg {
		case "github.com/libp2p/go-libp2p",
			"github.com/libp2p/go-libp2p/p2p/transport/websocket",
			"github.com/libp2p/go-libp2p/p2p/transport/webtransport",
			"github.com/quic-go/webtransport-go",
			"github.com/gorilla/websocket":
			t.Errorf("p2p imports %s", pkg)
		}
	}
}
