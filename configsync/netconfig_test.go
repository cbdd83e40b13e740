package configsync

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const networkFile = "networks/test/config.yml"

// validNetworkConfigs are the valid files in testdata/network and what they
// decode to.
var validNetworkConfigs = map[string]NetworkConfig{
	"valid-spec-example.yml": {
		NetworkID: "test",
		NodeConfig: []Member{
			{NodeID: "server-01", URL: "https://server-01.example.com:8000", Reachability: ReachabilityAuto},
			{NodeID: "server-02", URL: "https://server-02.example.com:8000", Reachability: ReachabilityAuto},
			{NodeID: "server-03", URL: "https://server-03.example.com:8000", Reachability: ReachabilityAuto},
		},
		Timing: DefaultTiming(),
	},
	"valid-full.yml": {
		NetworkID: "prod.eu-1",
		NodeConfig: []Member{
			{
				NodeID:       "server-01",
				URL:          "https://server-01.example.com:8000",
				Addrs:        []string{"/dns4/server-01.example.com/tcp/4001", "/ip4/203.0.113.1/udp/4001/quic-v1"},
				Reachability: ReachabilityPublic,
			},
			{NodeID: "home-nas", Reachability: ReachabilityPrivate},
			{NodeID: "laptop", Reachability: ReachabilityAuto},
			{
				NodeID:       "new-node",
				URL:          PlaceholderURL,
				Addrs:        []string{"/ip6/2001:db8::1/tcp/4001"},
				Reachability: ReachabilityAuto,
			},
			{NodeID: "ipv6", URL: "http://[2001:db8::2]:8000/meshmon", Reachability: ReachabilityAuto},
		},
		Timing: Timing{Heartbeat: Duration(500 * time.Millisecond), SuspectAfter: Duration(time.Second)},
	},
	"valid-timing-suspect-only.yml": {
		NetworkID:  "test",
		NodeConfig: []Member{{NodeID: "server-01", URL: "https://server-01.example.com:8000", Reachability: ReachabilityAuto}},
		Timing:     Timing{Heartbeat: Duration(time.Second), SuspectAfter: Duration(10 * time.Second)},
	},
	"valid-monitors.yml": {
		NetworkID:  "test",
		NodeConfig: []Member{{NodeID: "server-01", Reachability: ReachabilityAuto}, {NodeID: "server-02", Reachability: ReachabilityAuto}},
		Timing:     DefaultTiming(),
		Monitors: []Monitor{
			{Name: "shop", Type: "https", Host: "https://shop.example.com/health", Group: "default", Interval: Duration(30 * time.Second),
				Timeout: Duration(10 * time.Second), Retry: 1, Method: "GET", FollowRedirects: true, ExpectStatus: []int{200}, BodyContains: "ok"},
			{Name: "db", Type: "tcp", Host: "db.internal:5432", Group: "default", Interval: Duration(time.Minute),
				Timeout: Duration(10 * time.Second), Retry: 1, Allow: []string{"server-01"}},
			{Name: "resolver", Type: "dns", Host: "example.com", Group: "default", Interval: Duration(time.Minute),
				Timeout: Duration(10 * time.Second), Retry: 1, RecordType: "MX"},
			{Name: "cert", Type: "tls", Host: "example.com:8443", Group: "default", Interval: Duration(time.Minute),
				Timeout: Duration(10 * time.Second), Retry: 1, WarnDays: 30},
			{Name: "gateway", Type: "ping", Host: "192.0.2.1", Group: "default", Interval: Duration(time.Minute),
				Timeout: Duration(10 * time.Second), Retry: 1, Block: []string{"server-02"}},
		},
	},
	"valid-timing-fastest.yml": {
		NetworkID:  "test",
		NodeConfig: []Member{{NodeID: "server-01", Reachability: ReachabilityAuto}},
		Timing:     Timing{Heartbeat: Duration(50 * time.Millisecond), SuspectAfter: Duration(100 * time.Millisecond)},
	},
	"valid-timing-slowest.yml": {
		NetworkID:  "test",
		NodeConfig: []Member{{NodeID: "server-01", Reachability: ReachabilityAuto}},
		Timing:     Timing{Heartbeat: Duration(time.Minute), SuspectAfter: Duration(2 * time.Minute)},
	},
}

// invalidNetworkConfigs are the invalid files in testdata/network, one per
// rule, and every problem each must report, in order.
var invalidNetworkConfigs = map[string][]string{
	"invalid-empty-file.yml":          {"networks/test/config.yml: file is empty"},
	"invalid-yaml.yml":                {"networks/test/config.yml: not valid YAML: line 4: mapping values are not allowed in this context"},
	"invalid-not-mapping.yml":         {"networks/test/config.yml:1: want a mapping of keys to values, got a list"},
	"invalid-missing-network-id.yml":  {"networks/test/config.yml:1: network_id: required"},
	"invalid-empty-network-id.yml":    {"networks/test/config.yml:1: network_id: must not be empty"},
	"invalid-network-id-chars.yml":    {`networks/test/config.yml:1: network_id: "my network" is not a valid network_id: ` + idRuleText},
	"invalid-missing-node-config.yml": {"networks/test/config.yml:1: node_config: required: list every node of the network"},
	"invalid-empty-node-config.yml":   {"networks/test/config.yml:2: node_config: list at least one node"},
	"invalid-too-many-members.yml": {
		"networks/test/config.yml:3: node_config: 1001 members; a network has at most 1000 (split a larger fleet into several networks)",
	},
	"invalid-report-too-large.yml": {
		"networks/test/config.yml:3: node_config: 1000 members with these node_ids make a report of up to 87113 bytes, over the 65536 a gossip message carries: shorten the node_ids or split the network",
	},
	"invalid-null-node-config.yml": {"networks/test/config.yml:2: node_config: want a list, got nothing"},
	"invalid-node-config-not-list.yml": {
		"networks/test/config.yml:3: node_config: want a list, got a mapping",
	},
	"invalid-member-not-mapping.yml": {
		`networks/test/config.yml:3: node_config[0]: want a mapping of keys to values, got "server-01"`,
	},
	"invalid-member-without-node-id.yml": {"networks/test/config.yml:5: node_config[1].node_id: required"},
	"invalid-member-empty-node-id.yml":   {"networks/test/config.yml:3: node_config[0].node_id: required"},
	"invalid-member-node-id-kind.yml": {
		"networks/test/config.yml:3: node_config[0].node_id: want a single value, got a list",
	},
	"invalid-member-node-id-chars.yml": {
		`networks/test/config.yml:3: node_config[0].node_id: "server/01" is not a valid node_id: ` + idRuleText,
	},
	"invalid-duplicate-node-id.yml": {
		`networks/test/config.yml:5: node_config[1].node_id: "server-01" is already used by node_config[0]`,
	},
	"invalid-url-ftp.yml": {
		`networks/test/config.yml:4: node_config[0].url: "ftp://server-01.example.com": want an http:// or https:// URL, e.g. https://node.example.com:8000`,
	},
	"invalid-url-no-host.yml": {
		`networks/test/config.yml:4: node_config[0].url: "https:///api": the URL has no host, e.g. https://node.example.com:8000`,
	},
	"invalid-url-port-only.yml": {
		`networks/test/config.yml:4: node_config[0].url: "http://:8000": the URL has no host, e.g. https://node.example.com:8000`,
	},
	"invalid-url-no-scheme.yml": {
		`networks/test/config.yml:4: node_config[0].url: "server-01.example.com:8000": want an http:// or https:// URL, e.g. https://node.example.com:8000`,
	},
	"invalid-url-unparsable.yml": {
		`networks/test/config.yml:4: node_config[0].url: "http://[::1": cannot parse it, e.g. https://node.example.com:8000`,
	},
	"invalid-reachability.yml": {
		`networks/test/config.yml:5: node_config[0].reachability: "nat" is not a reachability: use auto, public or private`,
	},
	"invalid-addrs.yml": {
		`networks/test/config.yml:4: node_config[0].addrs[1]: "server-01.example.com:4001" is not a multiaddr (e.g. /ip4/0.0.0.0/tcp/4001): ` +
			`failed to parse multiaddr "server-01.example.com:4001": must begin with /`,
	},
	"invalid-addrs-kind.yml": {"networks/test/config.yml:5: node_config[0].addrs: want a list, got a mapping"},
	"invalid-heartbeat-too-short.yml": {
		"networks/test/config.yml:5: timing.heartbeat: 10ms is out of range: use 50ms to 1m",
	},
	"invalid-heartbeat-too-long.yml": {
		"networks/test/config.yml:5: timing.heartbeat: 2m0s is out of range: use 50ms to 1m",
	},
	"invalid-suspect-after.yml": {
		"networks/test/config.yml:6: timing.suspect_after: 1.5s is too short for heartbeat 1s: use at least twice the heartbeat",
	},
	"invalid-suspect-after-default.yml": {
		"networks/test/config.yml:5: timing.suspect_after: 3s is too short for heartbeat 2s: use at least twice the heartbeat",
	},
	"invalid-duration.yml": {
		`networks/test/config.yml:5: timing.heartbeat: "1" is not a duration: write it with a unit, e.g. 1s or 500ms`,
	},
	"invalid-timing-not-mapping.yml": {
		`networks/test/config.yml:4: timing: want a mapping of keys to values, got "1s"`,
	},
	"invalid-misspelt-key.yml": {
		`networks/test/config.yml:4: timng: unknown field "timng" (did you mean "timing"?)`,
	},
	"invalid-misspelt-member-key.yml": {
		`networks/test/config.yml:4: node_config[0].adrs: unknown field "adrs" (did you mean "addrs"?)`,
	},
	"invalid-misspelt-timing-key.yml": {
		`networks/test/config.yml:5: timing.heartbeats: unknown field "heartbeats" (did you mean "heartbeat"?)`,
	},
	"invalid-duplicate-key.yml": {"networks/test/config.yml:5: node_config[0].url: key appears more than once"},
	"invalid-several.yml": {
		`networks/test/config.yml:2: network_id: "my network" is not a valid network_id: ` + idRuleText,
		`networks/test/config.yml:5: node_config[0].url: "ftp://server-01.example.com": want an http:// or https:// URL, e.g. https://node.example.com:8000`,
		`networks/test/config.yml:7: node_config[1].reachability: "nat" is not a reachability: use auto, public or private`,
		"networks/test/config.yml:6: node_config[1].node_id: required",
		"networks/test/config.yml:10: timing.heartbeat: 10ms is out of range: use 50ms to 1m",
		`networks/test/config.yml:11: timing.suspect_after: "soon" is not a duration: write it with a unit, e.g. 1s or 500ms`,
		`networks/test/config.yml:8: node_config[2].node_id: "server-01" is already used by node_config[0]`,
	},
}

func TestParseNetworkConfigTestdata(t *testing.T) {
	for _, name := range testdataNames(t, "network", validNetworkConfigs, invalidNetworkConfigs) {
		t.Run(name, func(t *testing.T) {
			data := readTestdata(t, "network", name)
			call := fmt.Sprintf("ParseNetworkConfig(%s)", name)
			nc, err := ParseNetworkConfig(data, networkFile)
			if want, ok := invalidNetworkConfigs[name]; ok {
				if nc != nil {
					t.Errorf("%s = %+v; want nil", call, nc)
				}
				checkProblems(t, call, err, networkFile, want)
				return
			}
			if err != nil {
				t.Fatalf("%s = %v; want no error", call, err)
			}
			if want := validNetworkConfigs[name]; !reflect.DeepEqual(*nc, want) {
				t.Errorf("%s =\n\t%+v\nwant\n\t%+v", call, *nc, want)
			}
		})
	}
}

func TestParseNetworkConfigSeveralProblems(t *testing.T) {
	_, err := ParseNetworkConfig(readTestdata(t, "network", "invalid-several.yml"), networkFile)
	ps := Problems(err)
	var lines []int
	for _, p := range ps {
		lines = append(lines, p.Line)
	}
	if want := []int{2, 5, 7, 6, 10, 11, 8}; !slices.Equal(lines, want) {
		t.Errorf("lines of Problems(ParseNetworkConfig(invalid-several.yml)) = %v; want %v", lines, want)
	}
}

func TestDefaultTiming(t *testing.T) {
	want := Timing{Heartbeat: Duration(time.Second), SuspectAfter: Duration(3 * time.Second)}
	if got := DefaultTiming(); got != want {
		t.Errorf("DefaultTiming() = %+v; want %+v", got, want)
	}
}

func TestNetworkConfigMember(t *testing.T) {
	nc, err := ParseNetworkConfig(readTestdata(t, "network", "valid-full.yml"), networkFile)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id          string
		ok          bool
		placeholder bool
	}{
		{"server-01", true, false},
		{"new-node", true, true},
		{"laptop", true, false},
		{"nobody", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		m, ok := nc.Member(tt.id)
		if ok != tt.ok || (ok && m.NodeID != tt.id) {
			t.Errorf("Member(%q) = %+v, %v; want node %q, %v", tt.id, m, ok, tt.id, tt.ok)
		}
		if got := m.HasPlaceholderURL(); got != tt.placeholder {
			t.Errorf("Member(%q).HasPlaceholderURL() = %v; want %v", tt.id, got, tt.placeholder)
		}
	}
}

func TestDurationString(t *testing.T) {
	tests := []struct {
		in   Duration
		want string
	}{
		{Duration(time.Second), "1s"},
		{Duration(500 * time.Millisecond), "500ms"},
		{Duration(2 * time.Minute), "2m0s"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("Duration(%d).String() = %q; want %q", int64(tt.in), got, tt.want)
		}
		if got, err := tt.in.MarshalYAML(); err != nil || got != tt.want {
			t.Errorf("Duration(%d).MarshalYAML() = %v, %v; want %q, nil", int64(tt.in), got, err, tt.want)
		}
	}
}

// FuzzParseNetworkConfig checks that ParseNetworkConfig never panics and
// that what it accepts obeys every rule it checks.
func FuzzParseNetworkConfig(f *testing.F) {
	addTestdataSeeds(f, "network")
	f.Fuzz(func(t *testing.T, data []byte) {
		nc, err := ParseNetworkConfig(data, networkFile)
		if err != nil {
			if nc != nil {
				t.Fatalf("ParseNetworkConfig(%q) = %+v, %v; want nil config with an error", data, nc, err)
			}
			checkFuzzProblems(t, data, err, networkFile)
			return
		}
		if nc == nil || !idPattern.MatchString(nc.NetworkID) || len(nc.NodeConfig) == 0 {
			t.Fatalf("ParseNetworkConfig(%q) = %+v, nil; want a valid network_id and members", data, nc)
		}
		ids := map[string]bool{}
		for i, m := range nc.NodeConfig {
			if !idPattern.MatchString(m.NodeID) || ids[m.NodeID] {
				t.Errorf("ParseNetworkConfig(%q).NodeConfig[%d].NodeID = %q; want a valid, unique id", data, i, m.NodeID)
			}
			ids[m.NodeID] = true
			if m.URL != "" && !m.HasPlaceholderURL() && checkHTTPURL(m.URL) != nil {
				t.Errorf("ParseNetworkConfig(%q).NodeConfig[%d].URL = %q; want an http(s) URL", data, i, m.URL)
			}
			switch m.Reachability {
			case ReachabilityAuto, ReachabilityPublic, ReachabilityPrivate:
			default:
				t.Errorf("ParseNetworkConfig(%q).NodeConfig[%d].Reachability = %q; want auto, public or private", data, i, m.Reachability)
			}
		}
		tm := nc.Timing
		if tm.Heartbeat < Duration(50*time.Millisecond) || tm.Heartbeat > Duration(time.Minute) || tm.SuspectAfter < 2*tm.Heartbeat {
			t.Errorf("ParseNetworkConfig(%q).Timing = %+v; want heartbeat in [50ms, 1m] and suspect_after >= 2x", data, tm)
		}
	})
}

// membersYAML is a config.yml listing n members, each with a url and an
// address, as a large fleet's would.
func membersYAML(n int) []byte {
	var b strings.Builder
	b.WriteString("network_id: test\nnode_config:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - node_id: server-%04d\n    url: https://server-%04d.example.com:8000\n    addrs: [/dns4/server-%04d.example.com/tcp/4001]\n", i, i, i)
	}
	return []byte(b.String())
}

// TestParseNetworkConfigMemberLimit: a network of up to MaxMembers (1,000)
// members loads; round 1's 2,003-member config, which took a node to
// 3.3 GB, is refused with the limit named.
func TestParseNetworkConfigMemberLimit(t *testing.T) {
	tests := []struct {
		members int
		want    string // "" when it loads
	}{
		{members: 250},
		{members: 1000},
		{members: 1001, want: "networks/test/config.yml:3: node_config: 1001 members; a network has at most 1000 (split a larger fleet into several networks)"},
		{members: 2003, want: "networks/test/config.yml:3: node_config: 2003 members; a network has at most 1000 (split a larger fleet into several networks)"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.members), func(t *testing.T) {
			data := membersYAML(tt.members)
			if int64(len(data)) > MaxConfigSize {
				t.Fatalf("%d members make %d bytes, over MaxConfigSize: the member limit would never be reached", tt.members, len(data))
			}
			nc, err := ParseNetworkConfig(data, networkFile)
			if tt.want != "" {
				checkProblems(t, fmt.Sprintf("ParseNetworkConfig(%d members)", tt.members), err, networkFile, []string{tt.want})
				return
			}
			if err != nil {
				t.Fatalf("ParseNetworkConfig(%d members) = %v; want no error", tt.members, err)
			}
			if len(nc.NodeConfig) != tt.members {
				t.Errorf("ParseNetworkConfig(%d members) has %d members", tt.members, len(nc.NodeConfig))
			}
		})
	}
}
