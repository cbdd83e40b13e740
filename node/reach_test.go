package node

import (
	"testing"

	"github.com/meshmon/meshmon/configsync"
	"github.com/meshmon/meshmon/p2p"
)

func TestReachabilityOf(t *testing.T) {
	net := func(self string, members ...configsync.Member) configsync.Network {
		return configsync.Network{
			Ref:    configsync.NetworkRef{NodeID: self},
			Config: &configsync.NetworkConfig{NodeConfig: members},
		}
	}
	m := func(id, url, reach string) configsync.Member {
		return configsync.Member{NodeID: id, URL: url, Reachability: reach}
	}
	cases := []struct {
		name string
		nets []configsync.Network
		want p2p.Reachability
	}{
		{"a url makes a node public", []configsync.Network{net("a", m("a", "http://a:8000", "auto"))}, p2p.ReachabilityPublic},
		{"no url: behind NAT", []configsync.Network{net("a", m("a", "", "auto"), m("b", "http://b:8000", "auto"))}, p2p.ReachabilityPrivate},
		{"the placeholder url is no url", []configsync.Network{net("a", m("a", configsync.PlaceholderURL, "auto"))}, p2p.ReachabilityPrivate},
		{"a url in one network of two", []configsync.Network{net("a", m("a", "", "auto")), net("x", m("x", "http://x:8000", "auto"))}, p2p.ReachabilityPublic},
		{"explicit private beats a url", []configsync.Network{net("a", m("a", "http://a:8000", "private"))}, p2p.ReachabilityPrivate},
		{"explicit public without a url", []configsync.Network{net("a", m("a", "", "public"))}, p2p.ReachabilityPublic},
		{"explicit public beats explicit private", []configsync.Network{net("a", m("a", "", "private")), net("x", m("x", "", "public"))}, p2p.ReachabilityPublic},
		{"other members' settings do not count", []configsync.Network{net("a", m("a", "", "auto"), m("b", "", "public"))}, p2p.ReachabilityPrivate},
		{"no network", nil, p2p.ReachabilityPrivate},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := reachabilityOf(&configsync.Config{Networks: tc.nets}); got != tc.want {
				t.Errorf("reachabilityOf = %s; want %s", got, tc.want)
			}
		})
	}
}
