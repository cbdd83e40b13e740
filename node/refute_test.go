package node_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/meshmon/meshmon/configsync"
	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/node/nodetest"
	"github.com/meshmon/meshmon/p2p"
	"github.com/meshmon/meshmon/p2p/p2ptest"
	"github.com/meshmon/meshmon/p2p/pb"
)

// TestForgedPositionIsRefuted: a holder of n2's key pushes one announce of
// n2 at a position far ahead (just within the bounds; beyond them it is
// refused outright). In round 1 such a message kept n2's own messages out
// everywhere, through restarts. Now n2 jumps its incarnation above it and
// its messages flow again; n2 never leaves online; and a node that
// restarts later learns n2's new position, not the forged one.
func TestForgedPositionIsRefuted(t *testing.T) {
	c := nodetest.StartCluster(t, 4, nodetest.Options{Start: func(i int) bool { return i < 3 }})
	live := []int{0, 1, 2}
	c.WaitStatus(live, live, health.StatusOnline, converge)

	key2 := nodeKey(t, c.Dirs[1])
	forgerKey := nodeKey(t, c.Dirs[3]) // n4 never runs: its key is a member's
	forger, err := p2p.NewHost(p2p.HostConfig{Key: forgerKey, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { forger.Close() })

	const forgedBoot = p2p.MaxBoot - 10
	forged, err := p2ptest.Sign(key2, "test", &pb.Envelope{
		Header: &pb.Header{NetworkId: "test", NodeId: "n2", BootId: forgedBoot, Seq: 1},
		Body:   &pb.Envelope_Heartbeat{Heartbeat: &pb.Heartbeat{State: pb.State_STATE_RUNNING}},
	}, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, i := range []int{0, 1} { // as gossip would: to n1 and to n2 itself
		info, err := p2p.FetchP2PInfo(ctx, http.DefaultClient, c.URLs[i])
		if err != nil {
			t.Fatal(err)
		}
		id, err := peer.Decode(info.PeerID)
		if err != nil {
			t.Fatal(err)
		}
		ai := peer.AddrInfo{ID: id}
		for _, a := range info.Addrs {
			if m, err := ma.NewMultiaddr(a); err == nil {
				ai.Addrs = append(ai.Addrs, m)
			}
		}
		if err := forger.Libp2p().Connect(ctx, ai); err != nil {
			t.Fatal(err)
		}
		if err := p2ptest.PushSync(ctx, forger.Libp2p(), id, "test", forged); err != nil {
			t.Fatalf("push to %s: %v", c.Names[i], err)
		}
	}

	// n2 jumps above the forged position, and its announce reaches n1.
	start := time.Now()
	var boot uint64
	ok := nodetest.Eventually(converge, func() bool {
		v, err := c.View(0)
		if err != nil {
			return false
		}
		if n := v.Nodes["n2"]; n != nil {
			boot = n.BootID
			if n.Status != health.StatusOnline {
				t.Errorf("n1 sees n2 as %s after the forgery; want online throughout", n.Status)
			}
		}
		return boot > forgedBoot
	})
	if !ok {
		t.Fatalf("n1 still holds n2 at boot %d; want above the forged %d", boot, forgedBoot)
	}
	t.Logf("n2 refuted the forged position in %v (heartbeat 250ms)", time.Since(start).Round(time.Millisecond))
	c.WaitStatus(live, live, health.StatusOnline, converge)

	// A node that restarts later learns n2's position from the others: the
	// refuting one, not the forged one.
	c.Stop(2)
	c.Start(2)
	c.WaitStatus(live, live, health.StatusOnline, converge)
	if !nodetest.Eventually(converge, func() bool {
		v, err := c.View(2)
		return err == nil && v.Nodes["n2"] != nil && v.Nodes["n2"].BootID > forgedBoot
	}) {
		v, _ := c.View(2)
		t.Errorf("restarted n3 holds n2 at %+v; want above the forged boot", v.Nodes["n2"])
	}
}

func nodeKey(t *testing.T, dir string) []byte {
	t.Helper()
	k, _, _, err := configsync.LoadOrCreateNodeKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
