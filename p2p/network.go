package p2p

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/meshmon/meshmon/p2p/pb"
)

// TopicName is the GossipSub topic of a network.
func TopicName(networkID string) string { return topicPrefix + networkID }

// topicPrefix starts every meshmon topic name.
const topicPrefix = "/meshmon/1/"

// Message is one admitted message of a network.
type Message struct {
	// From is the author (the signer), a member.
	From peer.ID
	// Env is the decoded payload.
	Env *pb.Envelope
	// Raw is the signed pubsub message as received, for audit.
	Raw *pubsubpb.Message
	// Age is how long before delivery the message was received: zero for
	// gossip, the responder's age for messages learnt through sync.
	Age time.Duration
	// Local is true for a message this process published itself.
	Local bool
	// Clash is set when the message shows that its author runs as two
	// incarnations at once (a cloned key): see Clash. Nil otherwise.
	Clash *Clash
}

// Link describes this node's connection to a member.
type Link struct {
	// Connected: at least one live connection.
	Connected bool
	// Relayed: every live connection goes through a relay.
	Relayed bool
	// DialFailed: the member just disconnected and an immediate redial failed;
	// the liveness model treats this as fast evidence of a crash.
	DialFailed bool
	// Stale: connected, but no ping has been answered for staleAfter: the
	// link is cut without the connection knowing yet (it may take a TCP
	// timeout), or the member hangs.
	Stale bool
}

// Handler receives a network's inputs.
//
// Concurrency contract: the methods are called from several goroutines at
// once (the gossip read loop, sync exchanges, the dial loop, one ping loop
// per member and the host's ping handler), so an implementation must be
// safe for concurrent use. No call may block for long: each should only
// hand its input to the implementation's own owner goroutine.
type Handler interface {
	// HandleMessage gets every admitted message, including this node's own
	// (From equal to the host's ID).
	HandleMessage(Message)
	// HandleLink gets changes of this node's connection to a member.
	HandleLink(node string, l Link)
	// HandleRTT gets the round trips of this node's pings to a member it
	// is the pinger of (the smaller peer ID of the pair), as each answer
	// arrives.
	HandleRTT(node string, rtt time.Duration)
	// HandlePinged gets each ping request from a member that pings this
	// node (the pair's smaller peer ID): evidence that it runs.
	HandlePinged(node string)
	// HandleSyncFailed gets each failed exchange with member node over
	// the sync protocol: the sync when node joined the topic (this node
	// may lack some of its state until gossip brings it), or a push of
	// this node's messages to a connected member that gossip does not
	// reach (strand.go; node may not hear this one until a push or gossip
	// gets through; pushes to one member are a minute apart after a
	// failure). err says which.
	HandleSyncFailed(node string, err error)
}

// Endpoint is where a member can be reached.
type Endpoint struct {
	// URL is the member's HTTP sidecar ("" when it has none).
	URL string
	// Addrs are extra multiaddrs from config.
	Addrs []string
}

// NetworkConfig configures Host.Join.
type NetworkConfig struct {
	// ID is the network_id.
	ID string
	// Self is this node's node_id in the network.
	Self string
	// Members are the members with keys.
	Members *Members
	// Endpoints says where members can be reached, by node_id.
	Endpoints map[string]Endpoint
	// Handler receives the network's inputs. Required.
	Handler Handler
	// PingInterval is how often connected members are pinged. Default 1s.
	PingInterval time.Duration
	// PunchRetry is how long a link that is only relayed waits before this
	// node retries hole punching; the wait doubles up to maxPunchRetry.
	// Default 10s.
	PunchRetry time.Duration
	// DialTellAfter is how long a member must have failed every dial
	// before the log says why at INFO (once a spell; the failures before
	// and after go to DEBUG): members coming up with this node fail for
	// a few seconds and are no news. Default 30s.
	DialTellAfter time.Duration
	// HTTPClient fetches members' /api/p2p. Default: NewBootstrapClient().
	HTTPClient *http.Client
	// Logger is narrowed with the network. Default: the host's.
	Logger *slog.Logger
}

// Network is this node's presence on one network's topic.
type Network struct {
	host      *Host
	id        string
	self      string
	topicName string
	topic     *pubsub.Topic
	sub       *pubsub.Subscription
	validator *Validator
	handler   Handler
	log       *slog.Logger
	client    *http.Client
	// pingEvery is the ping interval in nanoseconds (SetPingInterval).
	pingEvery atomic.Int64
	// strandedPushes counts pushStranded's pushes.
	strandedPushes atomic.Uint64
	// strandedPushFailures counts those that failed.
	strandedPushFailures atomic.Uint64
	punchWait            time.Duration
	dialTell             time.Duration

	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	linkCh   chan peer.ID
	staleCh  chan staleEvent
	kick     chan struct{}
	closeOne sync.Once

	// syncStats counts the sync exchanges of this network (SyncStats).
	syncStats syncCounters
	// syncSlots holds a token per sync exchange in flight (syncParallel).
	syncSlots chan struct{}

	// mu protects the following fields.
	mu        sync.Mutex
	latest    map[freshKey]syncEntry
	endpoints map[string]Endpoint
	// lastPinged is when each member last pinged this node.
	lastPinged map[peer.ID]time.Time
	// syncFailures counts failed sync exchanges this node started.
	syncFailures atomic.Uint64
	// dialFailures counts failed dials of members (dialer.go).
	dialFailures atomic.Uint64
	// pushFailed is when a push to a member off the topic last failed
	// (pushStranded); nil until one does.
	pushFailed map[peer.ID]time.Time
	// offTopic is what strandLoop knows of the members off the topic.
	offTopic map[peer.ID]offTopic
	// own is the latest message of each kind but Delivered this node
	// published (rememberOwn), for the catch-up push.
	own map[Kind][]byte
}

type syncEntry struct {
	raw []byte
	at  time.Time
	pos Position
}

// Join subscribes to a network's topic and starts keeping connections to its
// members. Joining a network already joined is an error.
func (h *Host) Join(cfg NetworkConfig) (*Network, error) {
	if cfg.Handler == nil {
		return nil, errors.New("p2p: join: no handler")
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = time.Second
	}
	if cfg.DialTellAfter <= 0 {
		cfg.DialTellAfter = defaultDialTellAfter
	}
	if cfg.PunchRetry <= 0 {
		cfg.PunchRetry = defaultPunchRetry
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = NewBootstrapClient()
	}
	if cfg.Logger == nil {
		cfg.Logger = h.log
	}
	n := &Network{
		host:       h,
		id:         cfg.ID,
		self:       cfg.Self,
		topicName:  TopicName(cfg.ID),
		validator:  NewValidator(cfg.ID, cfg.Members),
		handler:    cfg.Handler,
		log:        cfg.Logger.With("network", cfg.ID),
		client:     cfg.HTTPClient,
		punchWait:  cfg.PunchRetry,
		dialTell:   cfg.DialTellAfter,
		linkCh:     make(chan peer.ID, 256),
		staleCh:    make(chan staleEvent),
		kick:       make(chan struct{}, 1),
		syncSlots:  make(chan struct{}, syncParallel),
		latest:     map[freshKey]syncEntry{},
		endpoints:  cfg.Endpoints,
		lastPinged: map[peer.ID]time.Time{},
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, errors.New("p2p: join: host closed")
	}
	if _, ok := h.networks[cfg.ID]; ok {
		h.mu.Unlock()
		return nil, fmt.Errorf("p2p: join %s: already joined", cfg.ID)
	}
	// Peers that were members of no joined network were blacklisted for
	// pubsub when they connected (memberBlacklist): pubsub has no stream
	// with them. Those of this network are reconnected below.
	passedOver := map[peer.ID]bool{}
	for _, p := range cfg.Members.Peers() {
		passedOver[p] = true
	}
	for _, other := range h.networks {
		for _, p := range other.validator.Members().Peers() {
			delete(passedOver, p)
		}
	}
	h.networks[cfg.ID] = n
	h.mu.Unlock()

	fail := func(err error) (*Network, error) {
		h.removeNetwork(n)
		return nil, err
	}
	if err := h.ps.RegisterTopicValidator(n.topicName, n.validate); err != nil {
		return fail(fmt.Errorf("p2p: join %s: validator: %w", cfg.ID, err))
	}
	topic, err := h.ps.Join(n.topicName)
	if err != nil {
		_ = h.ps.UnregisterTopicValidator(n.topicName)
		return fail(fmt.Errorf("p2p: join %s: %w", cfg.ID, err))
	}
	sub, err := topic.Subscribe()
	if err != nil {
		_ = topic.Close()
		_ = h.ps.UnregisterTopicValidator(n.topicName)
		return fail(fmt.Errorf("p2p: join %s: subscribe: %w", cfg.ID, err))
	}
	events, err := topic.EventHandler()
	if err != nil {
		sub.Cancel()
		_ = topic.Close()
		_ = h.ps.UnregisterTopicValidator(n.topicName)
		return fail(fmt.Errorf("p2p: join %s: topic events: %w", cfg.ID, err))
	}
	n.pingEvery.Store(int64(cfg.PingInterval))
	n.topic, n.sub = topic, sub
	n.ctx, n.cancel = context.WithCancel(h.ctx)
	for _, p := range cfg.Members.Peers() {
		if p != h.ID() {
			h.h.ConnManager().Protect(p, n.protectTag())
		}
	}
	n.evictNonMembers(nil)
	for p := range passedOver {
		if p != h.ID() && isConnected(h, p) {
			_ = h.h.Network().ClosePeer(p)
		}
	}
	n.wg.Add(4)
	go n.readLoop()
	go n.dialLoop()
	go n.syncLoop(events)
	go n.strandLoop()
	return n, nil
}

func (n *Network) protectTag() string { return "meshmon:" + n.id }

// ID is the network_id.
func (n *Network) ID() string { return n.id }

// Validator exposes the network's validator (its counters and member set).
func (n *Network) Validator() *Validator { return n.validator }

// Host returns the host the network is joined on.
func (n *Network) Host() *Host { return n.host }

// SetMembers swaps the member set and endpoints (on config reload).
func (n *Network) SetMembers(m *Members, endpoints map[string]Endpoint) {
	old := n.validator.Members()
	reset := n.validator.SetMembers(m)
	cm := n.host.h.ConnManager()
	for _, p := range old.Peers() {
		if _, ok := m.NodeID(p); !ok {
			cm.Unprotect(p, n.protectTag())
		}
	}
	for _, p := range m.Peers() {
		if p != n.host.ID() {
			cm.Protect(p, n.protectTag())
		}
	}
	n.mu.Lock()
	n.endpoints = endpoints
	// A member whose key changed starts clean: its messages signed with the
	// old key are not handed out by sync any more.
	for _, node := range reset {
		for k := range numKinds {
			delete(n.latest, freshKey{node, k})
		}
	}
	n.mu.Unlock()
	n.evictNonMembers(old)
	n.Kick()
}

// evictNonMembers closes connections whose topic subscription GossipSub
// recorded under a member set that no longer holds: peers subscribed to the
// topic that are not members (they subscribed before this host joined), and
// members new since old (their subscription was dropped while they were not
// members). They reconnect and announce their subscriptions afresh, which
// the subscription filter then judges by the current member set.
func (n *Network) evictNonMembers(old *Members) {
	cur := n.validator.Members()
	for _, p := range n.topic.ListPeers() {
		if _, ok := cur.NodeID(p); !ok {
			_ = n.host.h.Network().ClosePeer(p)
		}
	}
	if old == nil {
		return
	}
	for _, p := range cur.Peers() {
		if _, was := old.NodeID(p); !was && p != n.host.ID() {
			_ = n.host.h.Network().ClosePeer(p)
		}
	}
}

// pingInterval is how often this node pings the members it is the pinger of.
func (n *Network) pingInterval() time.Duration { return time.Duration(n.pingEvery.Load()) }

// SetPingInterval changes the ping interval (a timing change applied in
// place); ping loops take it at their next ping.
func (n *Network) SetPingInterval(d time.Duration) {
	if d > 0 {
		n.pingEvery.Store(int64(d))
	}
}

// Kick makes the dial loop look at members now instead of at its next tick.
func (n *Network) Kick() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// Peers returns the peers GossipSub currently knows on this topic.
func (n *Network) Peers() []peer.ID { return n.topic.ListPeers() }

// Publish signs and publishes env on the topic. GossipSub sends a message
// only to the peers it knows on the topic, so Publish first waits a moment
// (topicPeerWait, within ctx) for one; with none it publishes all the
// same: the message is delivered locally, kept as this node's latest, and
// handed to every member that joins later by the sync exchange.
func (n *Network) Publish(ctx context.Context, env *pb.Envelope) error {
	data, err := proto.Marshal(env)
	if err != nil {
		return fmt.Errorf("publish: marshal: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, topicPeerWait)
	_ = n.waitTopicPeer(wctx)
	cancel()
	if err := n.topic.Publish(ctx, data); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	return nil
}

// waitTopicPeer waits until GossipSub knows a peer on the topic.
//
// Not pubsub.MinTopicSize: GossipSub's readiness counts mesh peers only, and
// a member that restarts within its peers' prune backoff (they got its
// PRUNE when it left the topic) stays out of every mesh for up to a minute,
// so it could not publish at all, although flood publishing reaches every
// peer on the topic, mesh or not.
func (n *Network) waitTopicPeer(ctx context.Context) error {
	if len(n.topic.ListPeers()) > 0 {
		return nil
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if len(n.topic.ListPeers()) > 0 {
				return nil
			}
		}
	}
}

// validate is the topic validator: only members' fresh, well-formed messages pass.
func (n *Network) validate(_ context.Context, _ peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
	// This node's own messages are not peer input: a stale one (published
	// after a newer one was admitted) is ignored and not counted.
	own := n.published(msg)
	env, reason, other := n.validator.admit(msg.GetFrom(), msg.GetData(), !own)
	if reason != rejectNone {
		if IsDuplicate(reason) || (reason == RejectStale && own) {
			return pubsub.ValidationIgnore
		}
		n.log.Debug("gossip rejected", "reason", reason.String(), "peer", msg.GetFrom().String(), "via", msg.ReceivedFrom.String())
		return pubsub.ValidationReject
	}
	msg.ValidatorData = env
	if other != 0 {
		msg.ValidatorData = clashed{env, n.clash(msg.GetFrom(), env, other)}
	}
	return pubsub.ValidationAccept
}

// clashed is the validator's data for an admitted message whose author
// runs as two incarnations at once.
type clashed struct {
	env   *pb.Envelope
	clash *Clash
}

// clash describes the clash that env, admitted from author beside its
// newer incarnation other, revealed.
func (n *Network) clash(author peer.ID, env *pb.Envelope, other uint64) *Clash {
	c := &Clash{Boot: env.GetHeader().GetBootId(), Other: other}
	if n.host != nil && n.host.h != nil {
		for _, conn := range n.host.h.Network().ConnsToPeer(author) {
			c.Addrs = append(c.Addrs, conn.RemoteMultiaddr().String())
		}
		slices.Sort(c.Addrs)
		c.Addrs = slices.Compact(c.Addrs)
	}
	return c
}

// published tells whether msg was published by this process: pubsub hands
// a local publish to the validator and the subscription with ReceivedFrom
// set to this host (its Local flag only marks WithLocalPublication).
func (n *Network) published(msg *pubsub.Message) bool {
	return msg.Local || (n.host != nil && n.host.h != nil && msg.ReceivedFrom == n.host.ID())
}

func (n *Network) readLoop() {
	defer n.wg.Done()
	for {
		msg, err := n.sub.Next(n.ctx)
		if err != nil {
			return
		}
		var clash *Clash
		env, ok := msg.ValidatorData.(*pb.Envelope)
		if c, isClash := msg.ValidatorData.(clashed); isClash {
			env, clash, ok = c.env, c.clash, true
		}
		if !ok {
			continue
		}
		n.remember(env, msg.Message, time.Now())
		local := n.published(msg)
		if local {
			n.rememberOwn(env, msg.Message)
			n.pushStranded(msg.Message)
		}
		n.handler.HandleMessage(Message{From: msg.GetFrom(), Env: env, Raw: msg.Message, Local: local, Clash: clash})
	}
}

// kept is what remember and rememberOwn keep of a message: its kind and its
// encoding; ok is false for a Delivered, which sync does not carry.
func kept(env *pb.Envelope, raw *pubsubpb.Message) (Kind, []byte, bool) {
	kind, _ := KindOf(env)
	if kind == KindDelivered {
		return kind, nil, false
	}
	b, err := proto.Marshal(raw)
	return kind, b, err == nil
}

// remember keeps the latest message of each kind but Delivered of each
// author for sync.
func (n *Network) remember(env *pb.Envelope, raw *pubsubpb.Message, at time.Time) {
	kind, b, ok := kept(env, raw)
	if !ok {
		return
	}
	h := env.GetHeader()
	k := freshKey{h.GetNodeId(), kind}
	pos := PositionOf(h)
	n.mu.Lock()
	defer n.mu.Unlock()
	// Gossip and sync deliver concurrently: never replace a newer message.
	if old, ok := n.latest[k]; ok && !pos.After(old.pos) {
		return
	}
	n.latest[k] = syncEntry{raw: b, at: at, pos: pos}
}

func (n *Network) connectivity(p peer.ID) {
	if _, ok := n.validator.Members().NodeID(p); !ok || p == n.host.ID() {
		return
	}
	select {
	case n.linkCh <- p:
	default:
		n.log.Warn("link event queue full", "peer", p.String())
	}
}

// linkOf describes the current connection to p.
func (n *Network) linkOf(p peer.ID) Link {
	conns := n.host.h.Network().ConnsToPeer(p)
	l := Link{Connected: len(conns) > 0, Relayed: len(conns) > 0}
	for _, c := range conns {
		if !isRelayed(c) {
			l.Relayed = false
		}
	}
	return l
}

// isRelayed tells whether c goes through a relay.
func isRelayed(c network.Conn) bool {
	return isCircuitAddr(c.RemoteMultiaddr()) || c.Stat().Limited
}

// Close leaves the topic and stops the network's goroutines. Idempotent.
func (n *Network) Close() {
	n.closeOne.Do(func() {
		n.cancel()
		n.wg.Wait()
		n.sub.Cancel()
		_ = n.topic.Close()
		_ = n.host.ps.UnregisterTopicValidator(n.topicName)
		for _, p := range n.validator.Members().Peers() {
			n.host.h.ConnManager().Unprotect(p, n.protectTag())
		}
		n.host.removeNetwork(n)
	})
}

func isConnected(h *Host, p peer.ID) bool {
	return h.h.Network().Connectedness(p) == network.Connected
}
