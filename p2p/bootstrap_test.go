package p2p

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	manet "github.com/multiformats/go-multiaddr/net"
)

// p2pServer serves a P2PInfo at /api/p2p on addr (a loopback host:port).
func p2pServer(t *testing.T, addr string, h http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func serveInfo(info P2PInfo) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(info)
	}
}

func TestFetchP2PInfoRedirects(t *testing.T) {
	want := P2PInfo{PeerID: "12D3KooWLk4RwGp6V2Hb3aZ6b5pyDMa7EJRo6Yb1oKbKB5qS2pEq", Addrs: []string{"/ip4/127.0.0.1/tcp/4001"}}
	var otherHits atomic.Int64
	other := p2pServer(t, "127.0.0.2:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		serveInfo(want)(w, r)
	}))
	mux := http.NewServeMux()
	mux.HandleFunc("/elsewhere/api/p2p", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/api/p2p", http.StatusFound)
	})
	mux.HandleFunc("/moved/api/p2p", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/real/api/p2p", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/loop/api/p2p", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop/api/p2p", http.StatusFound)
	})
	mux.HandleFunc("/real/api/p2p", serveInfo(want))
	member := p2pServer(t, "127.0.0.1:0", mux)

	client := NewBootstrapClient()
	for _, tc := range []struct {
		name, base string
		ok         bool
	}{
		{"redirect on the same host", member.URL + "/moved", true},
		{"redirect to another host", member.URL + "/elsewhere", false},
		{"redirect loop", member.URL + "/loop", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, served, err := FetchP2PInfo(context.Background(), client, tc.base)
			if tc.ok {
				if err != nil || info.PeerID != want.PeerID {
					t.Fatalf("FetchP2PInfo(%s) = %+v, %v; want %+v", tc.base, info, err, want)
				}
				if !served.Equal(net.ParseIP("127.0.0.1")) {
					t.Errorf("served by %v; want 127.0.0.1", served)
				}
				return
			}
			if err == nil {
				t.Fatalf("FetchP2PInfo(%s) = %+v, nil; want an error", tc.base, info)
			}
		})
	}
	if n := otherHits.Load(); n != 0 {
		t.Errorf("the other host got %d requests; want none", n)
	}
}

func TestFetchP2PInfoBodyCap(t *testing.T) {
	big := P2PInfo{PeerID: "x", Addrs: []string{strings.Repeat("a", 2<<20)}}
	srv := p2pServer(t, "127.0.0.1:0", serveInfo(big))
	if info, _, err := FetchP2PInfo(context.Background(), NewBootstrapClient(), srv.URL); err == nil {
		t.Fatalf("FetchP2PInfo of a 2 MiB answer = %d addrs, nil; want an error (1 MiB cap)", len(info.Addrs))
	}
}

// TestBootstrapClientKeepsNoIdleConnections: after many fetches, no socket
// stays open on the member's side (issue 14 found 120-1700 idle ones).
func TestBootstrapClientKeepsNoIdleConnections(t *testing.T) {
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	srv := httptest.NewUnstartedServer(serveInfo(P2PInfo{PeerID: "x"}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch s {
		case http.StateClosed, http.StateHijacked:
			delete(open, c)
		default:
			open[c] = true
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	client := NewBootstrapClient()
	for range 30 {
		if _, _, err := FetchP2PInfo(context.Background(), client, srv.URL); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "every bootstrap connection closed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(open) == 0
	})
}

func TestBootstrapAddrsScope(t *testing.T) {
	addrs := []string{
		"/ip4/127.0.0.1/tcp/4001",
		"/ip4/10.0.0.5/tcp/4001",
		"/ip4/192.168.1.9/udp/4001/quic-v1",
		"/ip4/100.101.102.103/tcp/4001", // CGNAT, e.g. Tailscale
		"/ip4/8.8.8.8/tcp/4001",
		"/ip6/::1/tcp/4001",
		"/ip6/fd00::1/tcp/4001",
		"/ip6/2606:4700::1111/tcp/4001",
		"/ip4/0.0.0.0/tcp/4001",
		"/dns4/node.example.com/tcp/4001",
		"/ip4/10.0.0.7/tcp/4001/p2p/12D3KooWLk4RwGp6V2Hb3aZ6b5pyDMa7EJRo6Yb1oKbKB5qS2pEq/p2p-circuit",
		"not a multiaddr",
	}
	for _, tc := range []struct {
		served string
		want   []string
	}{
		{"127.0.0.1", []string{
			"/ip4/127.0.0.1/tcp/4001", "/ip4/10.0.0.5/tcp/4001", "/ip4/192.168.1.9/udp/4001/quic-v1",
			"/ip4/100.101.102.103/tcp/4001", "/ip4/8.8.8.8/tcp/4001", "/ip6/::1/tcp/4001", "/ip6/fd00::1/tcp/4001",
			"/ip6/2606:4700::1111/tcp/4001", "/dns4/node.example.com/tcp/4001",
			"/ip4/10.0.0.7/tcp/4001/p2p/12D3KooWLk4RwGp6V2Hb3aZ6b5pyDMa7EJRo6Yb1oKbKB5qS2pEq/p2p-circuit",
		}},
		{"10.1.2.3", []string{
			"/ip4/10.0.0.5/tcp/4001", "/ip4/192.168.1.9/udp/4001/quic-v1", "/ip4/100.101.102.103/tcp/4001",
			"/ip4/8.8.8.8/tcp/4001", "/ip6/fd00::1/tcp/4001", "/ip6/2606:4700::1111/tcp/4001",
			"/dns4/node.example.com/tcp/4001",
			"/ip4/10.0.0.7/tcp/4001/p2p/12D3KooWLk4RwGp6V2Hb3aZ6b5pyDMa7EJRo6Yb1oKbKB5qS2pEq/p2p-circuit",
		}},
		{"100.64.0.9", []string{
			"/ip4/10.0.0.5/tcp/4001", "/ip4/192.168.1.9/udp/4001/quic-v1", "/ip4/100.101.102.103/tcp/4001",
			"/ip4/8.8.8.8/tcp/4001", "/ip6/fd00::1/tcp/4001", "/ip6/2606:4700::1111/tcp/4001",
			"/dns4/node.example.com/tcp/4001",
			"/ip4/10.0.0.7/tcp/4001/p2p/12D3KooWLk4RwGp6V2Hb3aZ6b5pyDMa7EJRo6Yb1oKbKB5qS2pEq/p2p-circuit",
		}},
		{"1.1.1.1", []string{
			"/ip4/8.8.8.8/tcp/4001", "/ip6/2606:4700::1111/tcp/4001", "/dns4/node.example.com/tcp/4001",
		}},
		{"", []string{ // unknown: judged as public
			"/ip4/8.8.8.8/tcp/4001", "/ip6/2606:4700::1111/tcp/4001", "/dns4/node.example.com/tcp/4001",
		}},
	} {
		t.Run(tc.served, func(t *testing.T) {
			keep, dropped := BootstrapAddrs(net.ParseIP(tc.served), addrs)
			var got []string
			for _, a := range keep {
				got = append(got, a.String())
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("BootstrapAddrs(%s) =\n\t%q\nwant\n\t%q", tc.served, got, tc.want)
			}
			if dropped != len(addrs)-len(tc.want) {
				t.Errorf("BootstrapAddrs(%s) dropped %d; want %d", tc.served, dropped, len(addrs)-len(tc.want))
			}
		})
	}
}

// FuzzBootstrapAddrs: whatever a member answers, only well-formed
// addresses no further-reaching than the answering address are kept, and
// every other one is counted as dropped.
func FuzzBootstrapAddrs(f *testing.F) {
	f.Add([]byte{127, 0, 0, 1}, "/ip4/10.0.0.1/tcp/4001\n/ip4/8.8.8.8/tcp/4001")
	f.Add([]byte{8, 8, 4, 4}, "/ip4/127.0.0.1/tcp/1\n/dns4/x.example.com/tcp/1\n/ip6/::/tcp/1")
	f.Add([]byte{10, 1, 2, 3}, "/ip4/10.0.0.7/tcp/4001/p2p/12D3KooWLk4RwGp6V2Hb3aZ6b5pyDMa7EJRo6Yb1oKbKB5qS2pEq/p2p-circuit\njunk")
	f.Add([]byte{}, "")
	f.Fuzz(func(t *testing.T, served []byte, list string) {
		addrs := strings.Split(list, "\n")
		var ip net.IP
		if len(served) == 4 || len(served) == 16 {
			ip = net.IP(served)
		}
		keep, dropped := BootstrapAddrs(ip, addrs)
		if len(keep)+dropped != len(addrs) {
			t.Fatalf("BootstrapAddrs kept %d and dropped %d of %d", len(keep), dropped, len(addrs))
		}
		servedScope := scopePublic
		if ip != nil {
			if m, err := manet.FromIP(ip); err == nil {
				servedScope = scopeOf(m)
			}
		}
		for _, a := range keep {
			s := scopeOf(a)
			if s == scopeUnusable || !trusts(servedScope, s) {
				t.Fatalf("kept %s (scope %d) from an answer served by %v (scope %d)", a, s, ip, servedScope)
			}
			if servedScope == scopePublic && (manet.IsPrivateAddr(a) || manet.IsIPLoopback(a)) {
				t.Fatalf("kept private or loopback %s from a public answer", a)
			}
		}
	})
}
