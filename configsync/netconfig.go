package configsync

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// PlaceholderURL is the url scaffolded for a new node: a member with it is
// a warning ("set url for node X"), not an error.
const PlaceholderURL = "replace_me"

// NetworkConfig is a network's config.yml, identical on every member.
type NetworkConfig struct {
	// NetworkID names the network; the gossip topic is /meshmon/1/<id>.
	NetworkID string
	// NodeConfig lists every member of the network.
	NodeConfig []Member
	// Timing is the network's liveness timing (defaults: DefaultTiming).
	Timing Timing
	// Monitors are the external services the members probe
	// (docs/monitors.md).
	Monitors []Monitor
}

// Member is one entry of node_config.
type Member struct {
	// NodeID is the member's id, matching its nodeconf and pubkeys/<id>.pub.
	NodeID string
	// URL is where the member's HTTP sidecar is reachable; peers GET
	// <url>/api/p2p to find its libp2p addresses. Empty: no inbound
	// connections (e.g. behind NAT).
	URL string
	// Addrs are extra libp2p multiaddrs to dial the member on.
	Addrs []string
	// Reachability is "auto" (default: public with a url, else private),
	// "public" or "private".
	Reachability string
}

// HasPlaceholderURL reports whether the member's url is still the
// scaffolded placeholder.
func (m Member) HasPlaceholderURL() bool { return m.URL == PlaceholderURL }

// Timing is how fast a network detects failures.
type Timing struct {
	// Heartbeat is how often each node publishes a heartbeat (default 1s).
	Heartbeat Duration
	// SuspectAfter is how long without a heartbeat before an observer
	// suspects a node (default 3s); at least twice Heartbeat.
	SuspectAfter Duration
}

// Reachability values of a member.
const (
	ReachabilityAuto    = "auto"
	ReachabilityPublic  = "public"
	ReachabilityPrivate = "private"
)

// ParseNetworkConfig decodes and validates a network's config.yml. file
// names the file in problems. Every problem is returned at once.
func ParseNetworkConfig(data []byte, file string) (*NetworkConfig, error) {
	d := &decoder{problems{file: file}}
	root := d.parseDocument(data)
	if root == nil {
		return nil, d.err()
	}
	nc := &NetworkConfig{Timing: DefaultTiming()}
	present := d.mapping(root, "", []field{
		{"network_id", func(n *yaml.Node, p string) {
			nc.NetworkID = d.str(n, p)
			if nc.NetworkID != "" && !idPattern.MatchString(nc.NetworkID) {
				d.add(n.Line, p, "%q is not a valid network_id: %s", nc.NetworkID, idRule)
			}
		}},
		{"node_config", func(n *yaml.Node, p string) {
			d.seq(n, p, func(i int, n *yaml.Node, p string) {
				nc.NodeConfig = append(nc.NodeConfig, d.member(n, p))
			})
			if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
				d.add(n.Line, p, "list at least one node")
			}
		}},
		{"timing", func(n *yaml.Node, p string) { d.timing(n, p, &nc.Timing) }},
		{"monitors", func(n *yaml.Node, p string) {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
				return
			}
			nc.Monitors = d.monitors(n, p)
		}},
	})
	if present == nil {
		return nil, d.err()
	}
	if present["network_id"] == nil {
		d.add(root.Line, "network_id", "required")
	} else if missing(present["network_id"]) {
		d.add(present["network_id"].Line, "network_id", "must not be empty")
	}
	if present["node_config"] == nil {
		d.add(root.Line, "node_config", "required: list every node of the network")
	}
	if len(nc.NodeConfig) > MaxMembers {
		d.add(present["node_config"].Line, "node_config",
			"%d members; a network has at most %d (split a larger fleet into several networks)", len(nc.NodeConfig), MaxMembers)
	} else if n := fullReportSize(nc.NodeConfig); n > MaxReportSize {
		d.add(present["node_config"].Line, "node_config",
			"%d members with these node_ids make a report of up to %d bytes, over the %d a gossip message carries: shorten the node_ids or split the network", len(nc.NodeConfig), n, MaxReportSize)
	}
	seen := map[string]int{}
	for i, m := range nc.NodeConfig {
		if m.NodeID == "" {
			continue
		}
		if j, dup := seen[m.NodeID]; dup {
			d.add(lineOf(root, "node_config", i), fmt.Sprintf("node_config[%d].node_id", i),
				"%q is already used by node_config[%d]", m.NodeID, j)
			continue
		}
		seen[m.NodeID] = i
	}
	d.checkMonitors(root, nc)
	if err := d.err(); err != nil {
		return nil, err
	}
	return nc, nil
}

// fullReportSize is the most bytes a member's report on every other
// member can take: each entry is its node_id and at most
// reportEntryOverhead bytes of opinion, link, RTT and age, plus the
// message's header.
func fullReportSize(members []Member) int {
	n, shortest := reportHeaderSize, 0
	for i, m := range members {
		n += len(m.NodeID) + reportEntryOverhead
		if i == 0 || len(m.NodeID) < shortest {
			shortest = len(m.NodeID)
		}
	}
	if len(members) > 0 {
		// The largest report is the shortest-named member's: it does
		// not report on itself.
		n -= shortest + reportEntryOverhead
	}
	return n
}

func (d *decoder) member(n *yaml.Node, path string) Member {
	m := Member{Reachability: ReachabilityAuto}
	present := d.mapping(n, path, []field{
		{"node_id", func(n *yaml.Node, p string) {
			m.NodeID = d.str(n, p)
			if m.NodeID != "" && !idPattern.MatchString(m.NodeID) {
				d.add(n.Line, p, "%q is not a valid node_id: %s", m.NodeID, idRule)
			}
		}},
		{"url", func(n *yaml.Node, p string) {
			m.URL = d.str(n, p)
			if m.URL == "" || m.URL == PlaceholderURL {
				return
			}
			if err := checkHTTPURL(m.URL); err != nil {
				d.add(n.Line, p, "%q: %v, e.g. https://node.example.com:8000", m.URL, err)
			}
		}},
		{"addrs", func(n *yaml.Node, p string) { m.Addrs = d.multiaddrs(n, p) }},
		{"reachability", func(n *yaml.Node, p string) {
			m.Reachability = d.str(n, p)
			switch m.Reachability {
			case ReachabilityAuto, ReachabilityPublic, ReachabilityPrivate:
			default:
				d.add(n.Line, p, "%q is not a reachability: use auto, public or private", m.Reachability)
			}
		}},
	})
	if present != nil && missing(present["node_id"]) {
		d.add(n.Line, join(path, "node_id"), "required")
	}
	return m
}

func (d *decoder) timing(n *yaml.Node, path string, t *Timing) {
	lines := map[string]int{}
	d.mapping(n, path, []field{
		{"heartbeat", func(n *yaml.Node, p string) {
			lines["heartbeat"] = n.Line
			if v, ok := d.duration(n, p); ok {
				t.Heartbeat = v
				if v < Duration(50*time.Millisecond) || v > Duration(time.Minute) {
					d.add(n.Line, p, "%s is out of range: use 50ms to 1m", v)
				}
			}
		}},
		{"suspect_after", func(n *yaml.Node, p string) {
			lines["suspect_after"] = n.Line
			if v, ok := d.duration(n, p); ok {
				t.SuspectAfter = v
			}
		}},
	})
	if t.SuspectAfter < 2*t.Heartbeat {
		line := lines["suspect_after"]
		if line == 0 {
			line = lines["heartbeat"]
		}
		d.add(line, join(path, "suspect_after"), "%s is too short for heartbeat %s: use at least twice the heartbeat", t.SuspectAfter, t.Heartbeat)
	}
}

// memberSet returns the members' node_ids as a set, for checks that look
// up many ids (one lookup per pubkey file or monitor entry would otherwise
// scan node_config each time: quadratic in the member count).
func (c *NetworkConfig) memberSet() map[string]bool {
	set := make(map[string]bool, len(c.NodeConfig))
	for _, m := range c.NodeConfig {
		set[m.NodeID] = true
	}
	return set
}

// Member returns the member with the given node id. It scans node_config:
// a caller that looks up many ids builds a set once instead.
func (c *NetworkConfig) Member(nodeID string) (Member, bool) {
	for _, m := range c.NodeConfig {
		if m.NodeID == nodeID {
			return m, true
		}
	}
	return Member{}, false
}
