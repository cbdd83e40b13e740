package node_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/node/nodetest"
)

// converge is how long a cluster gets to agree; generous for a busy two-core machine.
const converge = 60 * time.Second

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// libp2p and quic-go keep a few process-wide workers.
		goleak.IgnoreAnyFunction("github.com/ipfs/go-log/v2/writer.(*MirrorWriter).logRoutine"),
		goleak.IgnoreTopFunction("github.com/libp2p/go-libp2p/p2p/transport/tcpreuse.(*ConnMgr).serve"),
		goleak.IgnoreAnyFunction("github.com/quic-go/quic-go.(*Transport).runSendQueue"),
		goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"),
		goleak.IgnoreTopFunction("github.com/libp2p/go-libp2p/p2p/host/resource-manager.(*resourceManager).background"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		// go-flow-metrics (bandwidth counters) runs one process-wide sweeper.
		goleak.IgnoreTopFunction("github.com/libp2p/go-flow-metrics.(*sweeper).runActive"),
		goleak.IgnoreTopFunction("github.com/libp2p/go-flow-metrics.(*sweeper).run"),
	)
}

func TestFiveNodesOnline(t *testing.T) {
	c := nodetest.StartCluster(t, 5, nodetest.Options{})
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge)
	// Every observer's report arrives: each node is vouched for by every
	// other node (4), and a node's view of itself also counts itself (5).
	var nv *health.NetworkView
	complete := nodetest.Eventually(converge, func() bool {
		v, err := c.View(0)
		if err != nil {
			return false
		}
		nv = v
		for id, n := range v.Nodes {
			want := 4
			if id == v.Self {
				want = 5
			}
			if !n.Confirmed || n.AgreedBy != want || n.LiveObservers != want {
				return false
			}
		}
		for _, e := range v.Connections {
			if e.Status != "up" {
				return false
			}
		}
		return len(v.Connections) == 5*4
	})
	if !complete {
		for id, n := range nv.Nodes {
			t.Errorf("node %s: confirmed=%v agreed_by=%d live=%d", id, n.Confirmed, n.AgreedBy, n.LiveObservers)
		}
		t.Fatalf("view of n1 never showed every node confirmed by every observer (connections: %d)", len(nv.Connections))
	}
	for _, e := range nv.Connections {
		if e.Status != "up" {
			t.Errorf("edge %s→%s = %s; want up", e.Src, e.Dst, e.Status)
		}
	}
	for id, n := range nv.Nodes {
		if n.PeerID == "" || n.Version == "" {
			t.Errorf("node %s: peer_id=%q version=%q; want both set", id, n.PeerID, n.Version)
		}
		if len(n.Observers) != n.LiveObservers {
			t.Errorf("node %s: %d observers listed; want %d (the evidence behind the verdict)", id, len(n.Observers), n.LiveObservers)
		}
	}
}

func TestCrashDetectedAndRecovery(t *testing.T) {
	c := nodetest.StartCluster(t, 5, nodetest.Options{})
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge)

	c.Kill(4)
	c.WaitStatus(c.Except(4), []int{4}, health.StatusOffline, converge)
	nv, err := c.View(0)
	if err != nil {
		t.Fatal(err)
	}
	// A confirmed majority of the observers live at that moment (their
	// number grows as the survivors' reports come in).
	if n := nv.Nodes["n5"]; !n.Confirmed || 2*n.AgreedBy <= n.LiveObservers || n.LiveObservers < 2 {
		t.Errorf("n5 offline: confirmed=%v agreed_by=%d of %d; want a confirmed majority", n.Confirmed, n.AgreedBy, n.LiveObservers)
	}
	// Every observer's report of its link to n5 follows: all edges down.
	var bad []string
	down := nodetest.Eventually(converge, func() bool {
		v, err := c.View(0)
		if err != nil {
			return false
		}
		bad = bad[:0]
		for _, e := range v.Connections {
			if (e.Src == "n5" || e.Dst == "n5") && e.Status != "down" {
				bad = append(bad, e.Src+"→"+e.Dst+"="+e.Status)
			}
		}
		return len(bad) == 0
	})
	if !down {
		t.Errorf("edges of the dead n5 not down: %v", bad)
	}

	c.Start(4)
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge)
}

func TestGracefulStopIsLeft(t *testing.T) {
	c := nodetest.StartCluster(t, 5, nodetest.Options{})
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge)
	c.Stop(2)
	c.WaitStatus(c.Except(2), []int{2}, health.StatusLeft, converge)
	// left is final until the node comes back: it never turns offline,
	// even long after its last heartbeat (suspect_after is 1s here).
	var last health.Status
	turned := nodetest.Eventually(3*time.Second, func() bool {
		st, err := c.Statuses(0)
		if err != nil {
			return false
		}
		last = st["n3"]
		return last != health.StatusLeft
	})
	if turned {
		t.Fatalf("n3 = %s after leaving; want left", last)
	}
	c.Start(2)
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge)
}

func TestPartitionAndHeal(t *testing.T) {
	c := nodetest.StartCluster(t, 5, nodetest.Options{})
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge)

	a, b := []int{0, 1, 2}, []int{3, 4}
	c.Partition(a, b)
	c.WaitStatus(a, b, health.StatusOffline, converge)
	c.WaitStatus(b, a, health.StatusOffline, converge)
	c.WaitStatus(a, a, health.StatusOnline, converge)
	c.WaitStatus(b, b, health.StatusOnline, converge)

	c.Heal()
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge)
}

func TestLateJoinerHasCompleteViewAtOnce(t *testing.T) {
	c := nodetest.StartCluster(t, 5, nodetest.Options{
		Start: func(i int) bool { return i < 4 },
		// A one-minute heartbeat: without the sync request the joiner would
		// wait for the others' next heartbeats, up to a minute, to know
		// they are alive (all four within the window below: about 1%).
		Heartbeat: "1m", SuspectAfter: "3m",
	})
	c.WaitStatus(c.Except(4), c.Except(4), health.StatusOnline, converge)
	c.Start(4)
	// Well within one heartbeat, the joiner knows every member and what
	// every other observer says.
	var nv *health.NetworkView
	ok := nodetest.Eventually(20*time.Second, func() bool {
		v, err := c.View(4)
		if err != nil {
			return false
		}
		nv = v
		for _, n := range v.Nodes {
			if n.Status != health.StatusOnline || n.LiveObservers < 4 {
				return false
			}
		}
		return true
	})
	if !ok {
		for id, n := range nv.Nodes {
			t.Logf("joiner's view of %s: %s, live observers %d, observers %v", id, n.Status, n.LiveObservers, n.Observers)
		}
		t.Fatal("late joiner's view never complete")
	}
}
