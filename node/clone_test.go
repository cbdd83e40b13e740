package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/node"
	"github.com/meshmon/meshmon/node/nodetest"
	"github.com/meshmon/meshmon/web"
)

// TestClonedMemberKeepsReporting: a second host starts from a copy of n2's
// config dir (its key and incarnation counter), so it publishes as n2 at a
// newer incarnation, and connects to n1 beside the real n2. In round 2 the
// observers then refused every later message of the real n2 as stale: its
// reports were lost while the copy's stood. Now n1 keeps taking the real
// n2's reports (the copy cannot see n3, so only the real n2 ever says
// anything of n3), finds the clash, and shows it: an identity error event,
// meshmon_member_identity_clashes_total, identity_clash in the view and a
// reason in /api/health.
func TestClonedMemberKeepsReporting(t *testing.T) {
	c := nodetest.StartCluster(t, 4, nodetest.Options{Start: func(i int) bool { return i < 3 }})
	live := []int{0, 1, 2}
	c.WaitStatus(live, live, health.StatusOnline, converge)

	realBoot := c.Node(1).View().Networks["test"].Nodes["n2"].BootID
	clone := startClone(t, c, 1, 2)
	// n1 takes the copy's messages: it holds n2 above the real n2's
	// incarnation (the copy's, or the real n2's refute of it).
	if !nodetest.Eventually(converge, func() bool {
		v, err := c.View(0)
		return err == nil && v.Nodes["n2"].BootID > realBoot
	}) {
		v, _ := c.View(0)
		t.Fatalf("n1 holds n2 at boot %d; want above the real n2's %d once the copy runs (copy: %d, %d peers)",
			v.Nodes["n2"].BootID, realBoot, clone.View().Networks["test"].Nodes["n2"].BootID,
			len(clone.Host().Libp2p().Network().Peers()))
	}

	// The real n2 loses n3 (the copy never had it): only the real n2
	// reports n3 suspect, and n1 must take that report.
	c.Partition([]int{1}, []int{2})
	n2Says := func(want string, connected bool) string {
		var last string
		if nodetest.Eventually(converge, func() bool {
			v, err := c.View(0)
			if err != nil {
				last = err.Error()
				return false
			}
			o, ok := v.Nodes["n3"].Observers["n2"]
			last = fmt.Sprintf("n2's opinion of n3 at n1: %+v (held: %v)", o, ok)
			return ok && o.Opinion == want && o.Connected == connected
		}) {
			return ""
		}
		return last
	}
	if last := n2Says("suspect", false); last != "" {
		t.Fatalf("the real n2's report of n3 never reached n1: %s", last)
	}

	// n4 starts: both hosts of n2 see it and report it, whichever
	// incarnation is newer, so n1 has messages of both after both began.
	c.Start(3)
	var clash *health.IdentityClash
	if !nodetest.Eventually(converge, func() bool {
		v, err := c.View(0)
		if err == nil {
			clash = v.Nodes["n2"].IdentityClash
		}
		return clash != nil
	}) {
		t.Fatal("n1's view shows no identity_clash for n2")
	}
	if len(clash.BootIDs) != 2 || clash.BootIDs[0] == clash.BootIDs[1] {
		t.Errorf("identity_clash.boot_ids = %v; want two incarnations", clash.BootIDs)
	}
	events := c.Node(0).Events().List(func(e health.Event) bool {
		return e.Kind == "identity" && e.Node == "n2" && e.Severity == health.SeverityError
	})
	if len(events) == 0 || !strings.Contains(events[0].Message, "two hosts") {
		t.Errorf("n1's identity events about n2: %+v; want an error naming the two hosts", events)
	}
	metrics := get(t, c.URLs[0]+"/metrics")
	if !strings.Contains(metrics, `meshmon_member_identity_clashes_total{network="test",node="n2"} 1`) {
		t.Errorf("n1's /metrics lacks meshmon_member_identity_clashes_total{node=\"n2\"} 1:\n%s", grepLines(metrics, "identity_clashes"))
	}
	var h web.Health
	if err := json.Unmarshal([]byte(get(t, c.URLs[0]+"/api/health")), &h); err != nil {
		t.Fatal(err)
	}
	if h.Status != "degraded" || !strings.Contains(strings.Join(h.Reasons, "\n"), "n2 runs as two hosts") {
		t.Errorf("n1's /api/health = %+v; want degraded with n2's clash", h)
	}

	// The real n2 gets n3 back, and says so: n1 takes that too.
	c.Heal()
	if last := n2Says("reachable", true); last != "" {
		t.Fatalf("the real n2's report of n3 after the heal never reached n1: %s", last)
	}
	if st, err := c.Statuses(0); err != nil || st["n2"] != health.StatusOnline {
		t.Errorf("n1 sees n2 as %v (%v); want online", st["n2"], err)
	}
}

// startClone starts a node from a copy of member i's config dir, as a
// second host started from the same config dir would be, that cannot reach
// the members in blind. It stops at the end of the test.
func startClone(t *testing.T, c *nodetest.Cluster, i int, blind ...int) *node.Node {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "clone")
	if err := os.CopyFS(dir, os.DirFS(c.Dirs[i])); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, ".private_keys", "node.key"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := nodetest.NewGater()
	for _, b := range blind {
		g.Block(c.Node(b).PeerID())
	}
	n, err := node.New(context.Background(), node.Options{ConfigDir: dir, HTTPListener: ln, Gater: g,
		LeaveGrace: 200 * time.Millisecond,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("the clone did not stop within 30s")
		}
	})
	return n
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
