package node_test

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/node/nodetest"
)

// TestLargeConfigMostlyAbsent: three real nodes run a config of 1,000
// members (configsync.MaxMembers) whose other 997 members do not run,
// half of them with a url on a loopback port nobody listens on and half
// without one. The three see each other online and every link among them
// up; the absent members stay unknown (never heard), and no link of
// theirs is listed; /metrics carries a few series per member, not one
// per pair.
func TestLargeConfigMostlyAbsent(t *testing.T) {
	const running, absent = 3, 997
	c := nodetest.StartCluster(t, running, nodetest.Options{Absent: absent})
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge)
	for i := range running {
		var nv *health.NetworkView
		linked := nodetest.Eventually(converge, func() bool {
			v, err := c.View(i)
			if err != nil {
				return false
			}
			nv = v
			up := 0
			for _, e := range v.Connections {
				if e.Status == "up" {
					up++
				}
			}
			return up == running*(running-1)
		})
		if !linked {
			t.Fatalf("view of %s never showed the %d links among the running members up: %+v", c.Names[i], running*(running-1), nv.Connections)
		}
		if len(nv.Nodes) != running+absent {
			t.Errorf("view of %s has %d members; want %d", c.Names[i], len(nv.Nodes), running+absent)
		}
		for id, n := range nv.Nodes {
			if !strings.HasPrefix(id, "absent-") {
				continue
			}
			if n.Status != health.StatusUnknown || n.LastHeardMs != -1 || n.PeerID == "" {
				t.Errorf("view of %s: absent %s is %s, last heard %d ms, peer %q; want unknown, never heard, with its key",
					c.Names[i], id, n.Status, n.LastHeardMs, n.PeerID)
			}
		}
		for _, e := range nv.Connections {
			if strings.HasPrefix(e.Src, "absent-") || strings.HasPrefix(e.Dst, "absent-") {
				t.Errorf("view of %s lists link %s→%s (%s) of an absent member; want it unlisted (unknown)", c.Names[i], e.Src, e.Dst, e.Status)
			}
		}
	}
	series := metricSeries(t, c.URLs[0]+"/metrics")
	if series > 10*(running+absent) {
		t.Errorf("/metrics has %d meshmon_ series for %d members; want at most 10 a member", series, running+absent)
	}
	if rtt := countPrefix(t, c.URLs[0]+"/metrics", "meshmon_peer_rtt_seconds{"); rtt != running-1 {
		t.Errorf("/metrics has %d meshmon_peer_rtt_seconds series; want %d (this node's own links above 100 members)", rtt, running-1)
	}
}

// metricSeries counts the meshmon_ series of a scrape.
func metricSeries(t *testing.T, url string) int { return countPrefix(t, url, "meshmon_") }

// countPrefix counts the lines of a scrape that start with prefix.
func countPrefix(t *testing.T, url, prefix string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatal(fmt.Errorf("GET %s: %s", url, resp.Status))
	}
	n := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}
