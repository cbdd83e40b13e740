package configsync

import "time"

// Every default and limit of configsync is in this file, and Defaults
// gathers them in one struct (as memberlist's DefaultLANConfig does), so a
// reader finds them in one place. The named constants and functions below
// are the same values for the places that need a constant.

// Defaults are configsync's defaults: the values used where the config
// files say nothing, and the limits it applies to what it reads.
type Defaults struct {
	// NodeConfName is the nodeconf file's name inside the config dir:
	// "nodeconf.yml" (CONFIG_FILE_NAME overrides it).
	NodeConfName string
	// Listen is where a node listens when nodeconf has no listen:
	// HTTP ":8000"; libp2p on TCP and QUIC, port 4001, IPv4 and IPv6.
	Listen Listen
	// Timing is a network's failure detection when config.yml has no
	// timing: a heartbeat every 1s, suspect after 3s.
	Timing Timing
	// GitInterval is how often a git network is fetched without
	// git_interval: 60s.
	GitInterval Duration
	// TokenUser is the HTTP user sent with a git_token_env token when
	// git_repo names none: "x-access-token".
	TokenUser string
	// SSHDialTimeout bounds connecting to an ssh git server (go-git does
	// not tie it to the context): 30s.
	SSHDialTimeout time.Duration
	// MaxConfigSize bounds nodeconf.yml and config.yml: 1 MiB.
	MaxConfigSize int64
	// MaxKeySize bounds a key file (pubkeys/<node_id>.pub, node.key):
	// 64 KiB.
	MaxKeySize int64
	// MaxMembers bounds a network's node_config: 1,000 members.
	MaxMembers int
	// MaxReportSize bounds the report a member makes on every other:
	// 64 KiB, a gossip message.
	MaxReportSize int
}

// DefaultValues returns configsync's defaults.
func DefaultValues() Defaults {
	return Defaults{
		NodeConfName: DefaultNodeConfName,
		Listen: Listen{
			// HTTP serves the dashboard, API and /metrics.
			HTTP: ":8000",
			// P2P listens on TCP and QUIC, port 4001, all IPv4 and IPv6 addresses.
			P2P: []string{
				"/ip4/0.0.0.0/tcp/4001",
				"/ip4/0.0.0.0/udp/4001/quic-v1",
				"/ip6/::/tcp/4001",
				"/ip6/::/udp/4001/quic-v1",
			},
		},
		Timing: Timing{
			// Heartbeat: each member link is pinged once a second.
			Heartbeat: Duration(time.Second),
			// SuspectAfter: three missed pings mark a hung node suspect.
			SuspectAfter: Duration(3 * time.Second),
		},
		GitInterval:    DefaultGitInterval,
		TokenUser:      DefaultTokenUser,
		SSHDialTimeout: sshDialTimeout,
		MaxConfigSize:  MaxConfigSize,
		MaxKeySize:     maxPubkeySize,
		MaxMembers:     MaxMembers,
		MaxReportSize:  MaxReportSize,
	}
}

// DefaultNodeConfName is the node configuration's file name inside the
// config dir; CONFIG_FILE_NAME overrides it.
const DefaultNodeConfName = "nodeconf.yml"

// DefaultGitInterval is how often a git-mode network is fetched when
// git_interval is not set.
const DefaultGitInterval = Duration(60 * time.Second)

// DefaultTokenUser is the HTTP user name sent with a git_token_env token
// when git_repo names no user. GitHub, GitLab and Gitea accept any user
// name with a personal access token; GitHub App tokens need this one.
const DefaultTokenUser = "x-access-token"

// sshDialTimeout bounds connecting to an ssh git server, which go-git does
// not tie to the context.
const sshDialTimeout = 30 * time.Second

// Size limits for the files meshmon reads as config. A real nodeconf or
// network config is a few KiB and a key file a few hundred bytes; a file
// far larger is a mistake (a log or an image under the wrong name), and
// reading it whole would take memory and time for nothing.
const (
	// MaxConfigSize bounds nodeconf.yml and config.yml: 1 MiB.
	MaxConfigSize = 1 << 20
	// maxPubkeySize bounds pubkeys/<node_id>.pub and node.key: 64 KiB.
	maxPubkeySize = 64 << 10
)

// MaxMembers bounds the members of one network: 1,000.
//
// A node's own work is linear in the member count: one dial state, one
// ping loop per connected member, one row of the view, a handful of
// metric series and one entry in each report (docs/performance.md,
// "Large configs", has the figures measured at 250, 500 and 1,000
// members). What grows with the square of the count is what every
// member says of every other: each of N members reports on N-1 others,
// so with every member running a node holds about N² opinions and its
// view N² links. 1,000 members keep that within a node's memory budget
// (32 MB per 10 members) and one member's report inside a gossip message
// for node_ids of up to about 40 characters (MaxReportSize). The
// 2,003-member config of round 1, which took a node to 3.3 GB and to
// flapping, is refused: a larger fleet is several networks.
const MaxMembers = 1000

// MaxReportSize bounds a network's node_ids: a member's report lists its
// opinion of every other member, and must fit in one gossip message
// (p2p.MaxEnvelopeSize, 64 KiB, which every member enforces). With 1,000
// members that leaves about 40 characters a node_id.
const MaxReportSize = 64 << 10

// reportEntryOverhead is the most bytes one entry of a report takes
// besides its node_id (field tags, lengths, opinion, link flags, RTT and
// age), and reportHeaderSize the most its header takes (network_id and
// node_id of 64 characters, position, time), as the wire format
// (p2p/pb) encodes them.
const (
	reportEntryOverhead = 23
	reportHeaderSize    = 200
)

// DefaultListen returns the listen addresses used where nodeconf sets none.
func DefaultListen() Listen { return DefaultValues().Listen }

// DefaultTiming returns the timing used where config.yml sets none.
func DefaultTiming() Timing { return DefaultValues().Timing }
