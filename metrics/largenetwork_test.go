package metrics_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/metrics"
)

// meshView is a network of n members, every one online and every directed
// link up with an RTT: the all-running case of a large config.
func meshView(n int) *health.View {
	id := func(i int) string { return fmt.Sprintf("m%04d", i) }
	nv := &health.NetworkView{NetworkID: "big", Self: id(0), UpdatedAt: time.Unix(1700000000, 0),
		Nodes: make(map[string]*health.NodeView, n)}
	for i := range n {
		nv.Nodes[id(i)] = &health.NodeView{NodeID: id(i), Status: health.StatusOnline, Confirmed: true}
		for j := range n {
			if i != j {
				nv.Connections = append(nv.Connections, health.Connection{Src: id(i), Dst: id(j), RTTMs: 1, Status: "up"})
			}
		}
	}
	return &health.View{Networks: map[string]*health.NetworkView{"big": nv}}
}

// TestPeerRTTSeriesLinearInMembers: meshmon_peer_rtt_seconds has one series
// per link up to MaxRTTMeshMembers members; above, only this node's own
// links (N-1), not the N(N-1) of a full mesh, and the other families stay
// a few series per member.
func TestPeerRTTSeriesLinearInMembers(t *testing.T) {
	tests := []struct {
		members, rtt int
	}{
		{members: 10, rtt: 90},
		{members: metrics.MaxRTTMeshMembers, rtt: metrics.MaxRTTMeshMembers * (metrics.MaxRTTMeshMembers - 1)},
		{members: metrics.MaxRTTMeshMembers + 1, rtt: metrics.MaxRTTMeshMembers},
		{members: 300, rtt: 299},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.members), func(t *testing.T) {
			v := meshView(tt.members)
			reg := newRegistry(t, metrics.Sources{View: func() *health.View { return v }})
			body := scrape(t, metrics.Handler(reg))
			rtt, meshmon := 0, 0
			for _, l := range strings.Split(body, "\n") {
				if strings.HasPrefix(l, "meshmon_") {
					meshmon++
				}
				if strings.HasPrefix(l, "meshmon_peer_rtt_seconds{") {
					rtt++
					if tt.members > metrics.MaxRTTMeshMembers && !strings.Contains(l, `node="m0000"`) {
						t.Fatalf("series %s: want only this node's (m0000) links above %d members", l, metrics.MaxRTTMeshMembers)
					}
				}
			}
			if rtt != tt.rtt {
				t.Errorf("%d members: %d meshmon_peer_rtt_seconds series; want %d", tt.members, rtt, tt.rtt)
			}
			if perMember := meshmon - rtt; perMember > 8*tt.members+10 {
				t.Errorf("%d members: %d other meshmon_ series; want at most 8 a member", tt.members, perMember)
			}
		})
	}
}
