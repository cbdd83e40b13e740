package node

import (
	"context"
	"fmt"

	"github.com/meshmon/meshmon/monitor"
	"github.com/meshmon/meshmon/p2p/pb"
)

// PublishForTest publishes env on network networkID from node n, signed
// with n's key: what a member whose key is compromised can send.
func (n *Node) PublishForTest(ctx context.Context, networkID string, env *pb.Envelope) error {
	n.mu.Lock()
	var r *netRuntime
	for _, nr := range n.nets {
		if nr.cfg.Config.NetworkID == networkID {
			r = nr
		}
	}
	n.mu.Unlock()
	if r == nil {
		return fmt.Errorf("network %s not joined", networkID)
	}
	return r.net.Publish(ctx, env)
}

// BootForTest returns the boot_id in n's message headers (of any network;
// every engine of a node takes its incarnations from one counter).
func (n *Node) BootForTest() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	var boot uint64
	for _, r := range n.nets {
		boot = max(boot, r.engine.Boot())
	}
	return boot
}

// MonitorServices returns every network's monitor service (counters).
func (n *Node) MonitorServices() []*monitor.Service { return n.monitorServices() }
