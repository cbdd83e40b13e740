package p2p

import "time"

// Every tunable of p2p is in this file, and Defaults gathers them in one
// struct (as memberlist's DefaultLANConfig does), so a reader finds them in
// one place. The named constants below are the same values for the code
// that needs a constant. Wire limits that every member must agree on
// (MaxEnvelopeSize, MaxAlertIDLen, MaxBoot, MaxSeq) stay beside the code
// that checks them, and are listed here too.

// Defaults are p2p's tunables.
type Defaults struct {
	// PingInterval is how often the pinger of a pair pings (the network's
	// timing.heartbeat; NetworkConfig.PingInterval): 1s.
	PingInterval time.Duration
	// PingIdle is how long the ping handler waits for the next request on
	// a stream before it closes it: 1 min.
	PingIdle time.Duration
	// MinRedial and MaxRedial bound the backoff of redials to a member that
	// cannot be reached: 1s doubling to 10s.
	MinRedial, MaxRedial time.Duration
	// MaxAbsentRedial bounds it instead for a member not up since this
	// node started, or not for AbsentAfter: 60s, after 10 min. Such a
	// member that starts dials this node itself. Each wait is spread by
	// ±10 %.
	MaxAbsentRedial, AbsentAfter time.Duration
	// MaxDialsInFlight bounds the backoff dials a network has in flight at
	// once: 64. A redial right after a disconnect is never held back.
	MaxDialsInFlight int
	// RecentRedial is the redial period, and RecentlyUp how long it
	// applies, for a member whose link was up a moment ago: every 500ms
	// for 5 min, so a restored link is up within about a second.
	RecentRedial, RecentlyUp time.Duration
	// DialTimeout bounds one dial: 5s. FastRedialTimeout bounds the redial
	// right after a disconnect (a crashed process refuses at once): 2s.
	DialTimeout, FastRedialTimeout time.Duration
	// DialGrace is how long the side of a pair that does not dial waits for
	// the other's dial before dialling itself: 15s.
	DialGrace time.Duration
	// QUICAfterTCP is how long QUIC dials wait behind the last TCP dial
	// (TCP resets tell a crash at once): 1s. libp2p dials the next
	// addresses at once when every dial in flight has failed, so the wait
	// only delays QUIC when TCP hangs (a black-holed port); it is half of
	// FastRedialTimeout, so a fast redial still has a second for QUIC.
	QUICAfterTCP time.Duration
	// ProbeAgain is how long the crash probe waits before its second try:
	// 100ms.
	ProbeAgain time.Duration
	// PunchRetry and MaxPunchRetry bound the wait before retrying a hole
	// punch on a link that stays relayed: 10s doubling to 30 min.
	PunchRetry, MaxPunchRetry time.Duration
	// ReserveEvery, RenewBefore and ReserveTimeout drive a private node's
	// relay reservations: look every 2s, renew 10 min before expiry, give
	// a reservation 10s.
	ReserveEvery, RenewBefore, ReserveTimeout time.Duration
	// RelayLimitDuration and RelayLimitData bound one relayed connection
	// through a member's relay: 1 h, 8 MiB.
	RelayLimitDuration time.Duration
	RelayLimitData     int64
	// TopicPeerWait is how long Publish waits for a peer on the topic
	// before it publishes anyway (sync hands the message on): 500ms.
	TopicPeerWait time.Duration
	// SyncTimeout bounds a sync exchange: 5s. MaxSyncResponse bounds a
	// sync answer: 8 MiB (requests are bounded by the member count).
	SyncTimeout     time.Duration
	MaxSyncResponse int
	// BootstrapTimeout bounds one /api/p2p fetch: 5s. MaxP2PInfoBody
	// bounds its answer: 1 MiB.
	BootstrapTimeout time.Duration
	MaxP2PInfoBody   int64
	// GateStrikes dropped RPCs within GateWindow disconnect a peer, whose
	// RPCs are then dropped unread for GateBackoff: 64 in 1 min, 10 min.
	GateStrikes             int
	GateWindow, GateBackoff time.Duration
	// MaxEnvelopeSize bounds a gossip payload: 64 KiB. MaxAlertIDLen
	// bounds a Delivered alert_id: 128 B. MaxBoot and MaxSeq bound a
	// position: 2^50, 2^40.
	MaxEnvelopeSize, MaxAlertIDLen int
	MaxBoot, MaxSeq                uint64
}

// DefaultValues returns p2p's tunables.
func DefaultValues() Defaults {
	return Defaults{
		PingInterval: time.Second, PingIdle: pingIdle,
		MinRedial: minRedial, MaxRedial: maxRedial, RecentRedial: recentRedial, RecentlyUp: recentlyUp,
		MaxAbsentRedial: maxAbsentRedial, AbsentAfter: absentAfter, MaxDialsInFlight: maxDialsInFlight,
		DialTimeout: dialTimeout, FastRedialTimeout: fastRedialTimeout, DialGrace: dialGrace,
		QUICAfterTCP: quicAfterTCP, ProbeAgain: probeAgain,
		PunchRetry: defaultPunchRetry, MaxPunchRetry: maxPunchRetry,
		ReserveEvery: reserveEvery, RenewBefore: renewBefore, ReserveTimeout: reserveTimeout,
		RelayLimitDuration: relayLimitDuration, RelayLimitData: relayLimitData,
		TopicPeerWait: topicPeerWait, SyncTimeout: syncTimeout, MaxSyncResponse: maxSyncMessage,
		BootstrapTimeout: bootstrapTimeout, MaxP2PInfoBody: maxP2PInfoBody,
		GateStrikes: gateStrikes, GateWindow: gateWindow, GateBackoff: gateBackoff,
		MaxEnvelopeSize: MaxEnvelopeSize, MaxAlertIDLen: MaxAlertIDLen, MaxBoot: MaxBoot, MaxSeq: MaxSeq,
	}
}

// The constants behind DefaultValues.
const (
	pingIdle          = time.Minute
	minRedial         = time.Second
	maxRedial         = 10 * time.Second
	maxAbsentRedial   = time.Minute
	absentAfter       = 10 * time.Minute
	maxDialsInFlight  = 64
	recentRedial      = 500 * time.Millisecond
	recentlyUp        = 5 * time.Minute
	dialTimeout       = 5 * time.Second
	fastRedialTimeout = 2 * time.Second
	dialGrace         = 15 * time.Second
	quicAfterTCP      = time.Second
	probeAgain        = 100 * time.Millisecond
	defaultPunchRetry = 10 * time.Second
	// defaultDialTellAfter: NetworkConfig.DialTellAfter.
	defaultDialTellAfter = 30 * time.Second
	maxPunchRetry        = 30 * time.Minute
	// A private node looks for relays every reserveEvery, renews a
	// reservation renewBefore it expires, and takes it again after a
	// reconnect (a relay forgets the reservations of peers that
	// disconnect).
	reserveEvery   = 2 * time.Second
	renewBefore    = 10 * time.Minute
	reserveTimeout = 10 * time.Second
	// Relay limits. libp2p's defaults (2 min, 128 KiB per relayed
	// connection) suit public relays for strangers; ours serve members
	// only, whose relayed traffic is a ping a second and the occasional
	// sync. A relayed connection that reaches a limit is closed and
	// redialled.
	relayLimitDuration = time.Hour
	relayLimitData     = 8 << 20
	topicPeerWait      = 500 * time.Millisecond
	syncTimeout        = 5 * time.Second
	// maxSyncMessage bounds a member's sync response (requests are
	// bounded by syncRequestLimit).
	maxSyncMessage   = 8 << 20
	bootstrapTimeout = 5 * time.Second
	maxP2PInfoBody   = 1 << 20
	gateStrikes      = 64
	gateWindow       = time.Minute
	gateBackoff      = 10 * time.Minute
)
