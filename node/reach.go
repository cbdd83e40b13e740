package node

import (
	"github.com/meshmon/meshmon/configsync"
	"github.com/meshmon/meshmon/p2p"
)

// reachabilityOf decides whether members can dial this node, from its own
// node_config entries: an explicit `reachability: public` in any network
// wins, then an explicit `private`; with `auto` everywhere (the default) the
// node is public if it has a url in some network, else private (behind NAT:
// it dials out and is reached through relays). libp2p's AutoNAT would need
// 4 observers before trusting a public address, more than small meshes have,
// so config decides.
func reachabilityOf(cfg *configsync.Config) p2p.Reachability {
	var public, private, url bool
	for _, nw := range cfg.Networks {
		for _, m := range nw.Config.NodeConfig {
			if m.NodeID != nw.Ref.NodeID {
				continue
			}
			switch m.Reachability {
			case configsync.ReachabilityPublic:
				public = true
			case configsync.ReachabilityPrivate:
				private = true
			}
			if m.URL != "" && !m.HasPlaceholderURL() {
				url = true
			}
		}
	}
	switch {
	case public:
		return p2p.ReachabilityPublic
	case private:
		return p2p.ReachabilityPrivate
	case url:
		return p2p.ReachabilityPublic
	}
	return p2p.ReachabilityPrivate
}
