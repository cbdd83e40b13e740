package p2p

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/meshmon/meshmon/internal/syncbuf"
)

// TestRedialLimit: a member up a moment ago is redialled twice a second; a
// member not up since this node started, or not for absentAfter, once a
// minute (a large config's absent members); any other every 10 s.
func TestRedialLimit(t *testing.T) {
	now := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		upAt time.Time
		want time.Duration
	}{
		{"never up since start", time.Time{}, time.Minute},
		{"up a second ago", now.Add(-time.Second), 500 * time.Millisecond},
		{"up just under recentlyUp ago", now.Add(-recentlyUp + time.Millisecond), 500 * time.Millisecond},
		{"up recentlyUp ago", now.Add(-recentlyUp), 10 * time.Second},
		{"up just under absentAfter ago", now.Add(-absentAfter + time.Millisecond), 10 * time.Second},
		{"up absentAfter ago", now.Add(-absentAfter), time.Minute},
		{"up a day ago", now.Add(-24 * time.Hour), time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redialLimit(tt.upAt, now); got != tt.want {
				t.Errorf("redialLimit(%v, now) = %v; want %v", now.Sub(tt.upAt), got, tt.want)
			}
		})
	}
}

// TestDialsInFlightCapped: a node whose config lists more members than
// maxDialsInFlight, none of which answers, has at most maxDialsInFlight
// dials in flight; here every member's url leads to one server that holds
// each /api/p2p request open, and counts them.
func TestDialsInFlightCapped(t *testing.T) {
	const members = maxDialsInFlight + 6
	var names []string
	for i := range members + 1 {
		names = append(names, fmt.Sprintf("m%03d", i))
	}
	nodes := newKeys(t, names...)
	self := firstDialer(nodes, names)
	var (
		mu        sync.Mutex
		cur, peak int
		release   = make(chan struct{})
	)
	state := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return cur, peak
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cur++
		peak = max(peak, cur)
		mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		mu.Lock()
		cur--
		mu.Unlock()
		http.Error(w, "held", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	eps := map[string]Endpoint{}
	for _, name := range names {
		if name != self {
			eps[name] = Endpoint{URL: srv.URL}
		}
	}
	nodes[self].startWith(t, nodes, ReachabilityPublic, eps)

	waitFor(t, 30*time.Second, fmt.Sprintf("%d bootstrap fetches held at once", maxDialsInFlight), func() bool {
		c, p := state()
		return c == maxDialsInFlight || p > maxDialsInFlight // the loop below fails the latter
	})
	// For a second, no further dial may start: without the cap the other
	// members' dials would be in flight within milliseconds.
	end := time.Now().Add(time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(end) {
		if _, p := state(); p > maxDialsInFlight {
			t.Fatalf("%d dials in flight at once; want at most %d", p, maxDialsInFlight)
		}
		<-tick.C
	}
}

// TestDialFailuresCountedAndToldOnce: a member whose url does not serve
// /api/p2p is counted at every failed dial; once it has failed for
// DialTellAfter the log says why at INFO, once, and the other failures go
// to DEBUG.
func TestDialFailuresCountedAndToldOnce(t *testing.T) {
	nodes := newKeys(t, "a", "b")
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	var logs syncbuf.Buffer
	self := nodes[firstDialer(nodes, []string{"a", "b"})]
	other := "a"
	if self.name == "a" {
		other = "b"
	}
	self.log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	self.dialTellAfter = time.Millisecond // the second failure is past it
	self.startWith(t, nodes, ReachabilityPublic, map[string]Endpoint{other: {URL: srv.URL}})
	waitFor(t, 30*time.Second, "three failed dials of "+other, func() bool { return self.net.DialFailures() >= 3 })
	var info, debug int
	for line := range strings.Lines(logs.String()) {
		if !strings.Contains(line, "cannot reach member") {
			continue
		}
		if !strings.Contains(line, "node="+other) || !strings.Contains(line, "404") {
			t.Errorf("log line %q lacks the member or the error", line)
		}
		switch {
		case strings.Contains(line, "level=INFO"):
			info++
		case strings.Contains(line, "level=DEBUG"):
			debug++
		}
	}
	if info != 1 || debug < 2 {
		t.Errorf("%d INFO and %d DEBUG lines of the failed dials; want 1 (the second) and the others", info, debug)
	}
}

// firstDialer is the name among names whose node has the smallest peer ID:
// it dials every other public member at once (designatedDialer), where
// the others would wait dialGrace.
func firstDialer(nodes map[string]*testNode, names []string) string {
	return slices.MinFunc(names, func(x, y string) int { return strings.Compare(string(nodes[x].id), string(nodes[y].id)) })
}

// TestForgetPunchAddrs: of a NATed member's known addresses, only the
// public ones (its router's, learnt from a hole punch) are dropped before
// a dial; its LAN, loopback and relay addresses stay.
func TestForgetPunchAddrs(t *testing.T) {
	ps, err := pstoremem.NewPeerstore()
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	p := newKeys(t, "b")["b"].id
	keep := []string{
		"/ip6/fd00:b::2/tcp/4001",
		"/ip4/192.168.1.20/tcp/4001",
		"/ip6/::1/tcp/4001",
		"/ip6/2001:2:0:1100::10/tcp/4001/p2p/12D3KooWG5u6wgFpYW47Y45QJwEPnjnZMQfTxuDVSCfMjoX8AoET/p2p-circuit",
	}
	drop := []string{"/ip6/2001:2:0:a200::1/tcp/4001", "/ip6/2001:2:0:a200::1/udp/4001/quic-v1"}
	for _, s := range append(slices.Clone(keep), drop...) {
		ps.AddAddr(p, ma.StringCast(s), time.Hour)
	}
	forgetPunchAddrs(ps, p)
	var got []string
	for _, a := range ps.Addrs(p) {
		got = append(got, a.String())
	}
	slices.Sort(got)
	want := slices.Clone(keep)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("addresses after forgetPunchAddrs = %v; want %v", got, want)
	}
}
