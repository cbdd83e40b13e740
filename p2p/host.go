package p2p

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/config"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	libp2pconnmgr "github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
)

// HostConfig configures NewHost.
type HostConfig struct {
	// Key is the node's Ed25519 key; it fixes the peer ID. Required.
	Key ed25519.PrivateKey
	// Listen are the multiaddrs to listen on. Required.
	Listen []string
	// Announce, when set, replaces the addresses told to peers (e.g. the host's
	// public address when running in Docker).
	Announce []string
	// Logger receives the host's logs. Default: slog.Default().
	Logger *slog.Logger
	// Gater, when set, vets connections. Only tests use it (to cut links):
	// meshmon itself never gates by peer ID (AutoNAT dials back from random IDs).
	Gater connmgr.ConnectionGater
	// Registerer, when set, receives libp2p's own metrics.
	Registerer prometheus.Registerer
	// Reachability says whether members can dial this host (public, the
	// default) or it is behind NAT (private): see natConfig.
	Reachability Reachability
	// Options, when set, change the libp2p configuration after NewHost has
	// set its own fields and before libp2p's defaults fill the rest. Only
	// simulations use them (bench: QUIC over a simulated network).
	Options []config.Option
}

// Host is a libp2p host with meshmon's GossipSub router and the networks
// joined on it. Close it to leave every network and stop the host.
type Host struct {
	h    host.Host
	bw   *metrics.BandwidthCounter
	ps   *pubsub.PubSub
	gate *rpcGate
	// refused counts GossipSub's own refusals (gossiptrace.go).
	refused gossipCounts
	log     *slog.Logger
	reach   Reachability

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// mu protects the following fields.
	mu       sync.Mutex
	networks map[string]*Network // by network ID
	closed   bool
	// reservations are the relay slots a private host holds, by relay.
	reservations map[peer.ID]reservation

	// syncRefused counts refused sync requests (syncguard.go).
	syncRefused *syncRefusals
	// bootstrapDropped counts addresses of members' /api/p2p answers
	// dropped for their scope (bootstrap.go).
	bootstrapDropped atomic.Uint64
	// reserveFailures counts failed relay reservations (reserve.go);
	// reserveFailing holds the relays whose latest reservation failed
	// (only reserveLoop uses it).
	reserveFailures atomic.Uint64
	reserveFailing  map[peer.ID]failSpell
}

// gossipParams tunes GossipSub for small meshes where every member is
// connected to every other: flood publishing reaches all members directly, so
// a small mesh degree only has to cover members reached through others (e.g.
// behind NAT) and repair losses; fewer mesh links mean fewer duplicates.
func gossipParams() pubsub.GossipSubParams {
	p := pubsub.DefaultGossipSubParams()
	// Every message is flood-published to all connected members, so the
	// mesh and the IHAVE gossip only add redundancy for links that are down
	// (or relayed). Degree 2 is the least GossipSub allows; gossiping the ids
	// of the last heartbeat window to one lazy peer is enough because our
	// messages repeat every heartbeat anyway. Together these cut a 10-node
	// network's gossip from 13 to 5 kB/s per node (measured by `make bench`).
	p.D, p.Dlo, p.Dhi, p.Dout, p.Dlazy, p.Dscore = 2, 2, 3, 0, 1, 2
	p.HistoryGossip = 1
	return p
}

// NewHost starts a libp2p host and its GossipSub router.
func NewHost(cfg HostConfig) (*Host, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	priv, err := PrivKey(cfg.Key)
	if err != nil {
		return nil, err
	}
	if len(cfg.Listen) == 0 {
		return nil, errors.New("p2p: no listen addresses")
	}
	announce := make([]ma.Multiaddr, 0, len(cfg.Announce))
	for _, s := range cfg.Announce {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("announce address %q: %w", s, err)
		}
		announce = append(announce, a)
	}
	cm, err := libp2pconnmgr.NewConnManager(192, 256, libp2pconnmgr.WithGracePeriod(time.Minute))
	if err != nil {
		return nil, fmt.Errorf("connection manager: %w", err)
	}
	if cfg.Reachability == "" {
		cfg.Reachability = ReachabilityPublic
	}
	bw := metrics.NewBandwidthCounter()
	syncRefused, err := newSyncRefusals(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	hh := &Host{bw: bw, log: cfg.Logger, reach: cfg.Reachability, ctx: ctx, cancel: cancel, networks: map[string]*Network{}, reservations: map[peer.ID]reservation{}, reserveFailing: map[peer.ID]failSpell{},
		syncRefused: syncRefused}
	hh.gate = newRPCGate(hh)
	listen := make([]ma.Multiaddr, 0, len(cfg.Listen))
	for _, s := range cfg.Listen {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("listen address %q: %w", s, err)
		}
		listen = append(listen, a)
	}
	// What libp2p.New would build from the matching options (stack.go says
	// why NewHost fills the config itself).
	lc := config.Config{
		PeerKey:     priv,
		ListenAddrs: listen,
		ConnManager: cm,
		SwarmOpts:   []swarm.Option{swarm.WithDialRanker(tcpFirstRanker)},
		// meshmon answers pings itself (handlePing): a ping request is
		// liveness evidence for the side that answers.
		DisablePing:     true,
		Reporter:        bw,
		AddrsFactory:    hh.addrsFactory(announce),
		ConnectionGater: cfg.Gater,
		// libp2p's own metrics go to the registry passed in, or nowhere.
		PrometheusRegisterer: cfg.Registerer,
		DisableMetrics:       cfg.Registerer == nil,
	}
	if err := hh.natConfig(&lc, cfg.Reachability); err != nil {
		cancel()
		return nil, err
	}
	if err := lc.Apply(cfg.Options...); err != nil {
		cancel()
		return nil, fmt.Errorf("libp2p options: %w", err)
	}
	if err := withStackDefaults(&lc); err != nil {
		cancel()
		return nil, fmt.Errorf("libp2p host: %w", err)
	}
	h, err := lc.NewNode()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("libp2p host: %w", err)
	}
	hh.h = h
	ps, err := pubsub.NewGossipSub(ctx, h,
		pubsub.WithGossipSubParams(gossipParams()),
		pubsub.WithFloodPublish(true),
		pubsub.WithMessageSignaturePolicy(pubsub.StrictSign),
		pubsub.WithPeerFilter(hh.peerFilter),
		pubsub.WithBlacklist(memberBlacklist{hh}),
		pubsub.WithAppSpecificRpcInspector(hh.gate.inspect),
		pubsub.WithSubscriptionFilter(subFilter{hh}),
		pubsub.WithMaxMessageSize(MaxEnvelopeSize+4096),
		pubsub.WithLogger(slog.New(countingHandler{inner: cfg.Logger.With("component", "pubsub").Handler(), c: &hh.refused})),
		pubsub.WithRawTracer(gossipTracer{&hh.refused}),
	)
	if err != nil {
		cancel()
		h.Close()
		return nil, fmt.Errorf("gossipsub: %w", err)
	}
	hh.ps = ps
	if err := hh.registerHostMetrics(cfg.Registerer); err != nil {
		cancel()
		h.Close()
		return nil, err
	}
	h.SetStreamHandler(SyncProtocol, hh.handleSync)
	h.SetStreamHandler(ping.ID, hh.handlePing)
	h.Network().Notify(&network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) { hh.connectivity(c.RemotePeer()) },
		DisconnectedF: func(_ network.Network, c network.Conn) {
			hh.forgetReservation(c.RemotePeer())
			hh.connectivity(c.RemotePeer())
		},
	})
	if cfg.Reachability == ReachabilityPrivate {
		hh.wg.Add(1)
		go hh.reserveLoop()
	}
	return hh, nil
}

// ID is this host's peer ID.
func (h *Host) ID() peer.ID { return h.h.ID() }

// Libp2p exposes the underlying host (for tests and read-only inspection).
func (h *Host) Libp2p() host.Host { return h.h }

// Addrs returns the addresses peers are told, as /p2p-less multiaddr strings.
func (h *Host) Addrs() []string {
	addrs := h.h.Addrs()
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, a.String())
	}
	return out
}

// Bandwidth is this host's traffic so far.
type Bandwidth struct {
	// TotalIn and TotalOut count every byte of every protocol.
	TotalIn  int64 `json:"total_in_bytes"`
	TotalOut int64 `json:"total_out_bytes"`
	// GossipIn and GossipOut count GossipSub's bytes.
	GossipIn  int64 `json:"gossip_in_bytes"`
	GossipOut int64 `json:"gossip_out_bytes"`
	// GossipRateIn and GossipRateOut are GossipSub's recent rates in bytes/s.
	GossipRateIn  float64 `json:"gossip_rate_in_bps"`
	GossipRateOut float64 `json:"gossip_rate_out_bps"`
}

// Bandwidth returns the host's traffic counters.
func (h *Host) Bandwidth() Bandwidth {
	t := h.bw.GetBandwidthTotals()
	b := Bandwidth{TotalIn: t.TotalIn, TotalOut: t.TotalOut}
	for proto, s := range h.bw.GetBandwidthByProtocol() {
		if strings.HasPrefix(string(proto), "/meshsub/") {
			b.GossipIn += s.TotalIn
			b.GossipOut += s.TotalOut
			b.GossipRateIn += s.RateIn
			b.GossipRateOut += s.RateOut
		}
	}
	return b
}

// peerFilter admits a peer to a topic only if it is a member of that topic's
// network, so non-members can neither read nor inject gossip.
func (h *Host) peerFilter(p peer.ID, topic string) bool {
	_, member := h.topicMember(p, topic)
	return member
}

// topicMember tells whether topic belongs to a joined network and whether p
// is a member of it.
func (h *Host) topicMember(p peer.ID, topic string) (joined, member bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.networks {
		if n.topicName == topic {
			_, ok := n.validator.Members().NodeID(p)
			return true, ok
		}
	}
	return false, false
}

func (h *Host) connectivity(p peer.ID) {
	h.mu.Lock()
	nets := make([]*Network, 0, len(h.networks))
	for _, n := range h.networks {
		nets = append(nets, n)
	}
	h.mu.Unlock()
	for _, n := range nets {
		n.connectivity(p)
	}
}

func (h *Host) network(id string) *Network {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.networks[id]
}

func (h *Host) removeNetwork(n *Network) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.networks[n.id] == n {
		delete(h.networks, n.id)
	}
}

// Close leaves every network and stops the host. It is idempotent.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	nets := make([]*Network, 0, len(h.networks))
	for _, n := range h.networks {
		nets = append(nets, n)
	}
	h.mu.Unlock()
	for _, n := range nets {
		n.Close()
	}
	h.cancel()
	h.wg.Wait()
	return h.h.Close()
}
