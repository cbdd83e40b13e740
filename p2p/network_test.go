package p2p

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"sync"
	"testing"
	"time"

	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-msgio/pbio"
	"google.golang.org/protobuf/proto"

	"github.com/meshmon/meshmon/p2p/pb"
)

// recorder is a Handler that keeps what it gets.
type recorder struct {
	mu    sync.Mutex
	msgs  []Message
	links map[string]Link
	rtts  map[string]time.Duration
	// rttAt is when each HandleRTT came, in order.
	rttAt []time.Time
	// pinged counts ping requests from each member (this node answers).
	pinged map[string]int
	// syncFailed lists the failed sync exchanges and pushes, "node: error".
	syncFailed []string
}

func (r *recorder) HandleSyncFailed(node string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.syncFailed = append(r.syncFailed, node+": "+err.Error())
}

func (r *recorder) HandlePinged(node string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pinged == nil {
		r.pinged = map[string]int{}
	}
	r.pinged[node]++
}

// evidence tells whether the pair's ping reached this node: an RTT of its
// own pings (it is the pinger) or a ping request from node (it answers).
func (r *recorder) evidence(node string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rtts[node] > 0 || r.pinged[node] > 0
}

func (r *recorder) HandleMessage(m Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
}

func (r *recorder) HandleLink(node string, l Link) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.links == nil {
		r.links = map[string]Link{}
	}
	r.links[node] = l
}

func (r *recorder) HandleRTT(node string, rtt time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rtts == nil {
		r.rtts = map[string]time.Duration{}
	}
	r.rtts[node] = rtt
	r.rttAt = append(r.rttAt, time.Now())
}

// link returns the latest link change reported for node and its latest RTT.
func (r *recorder) link(node string) (Link, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.links[node], r.rtts[node]
}

// find returns the first message from node matching pred.
func (r *recorder) find(node string, pred func(Message) bool) (Message, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.msgs {
		if m.Env.GetHeader().GetNodeId() == node && (pred == nil || pred(m)) {
			return m, true
		}
	}
	return Message{}, false
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

type testNode struct {
	name string
	key  ed25519.PrivateKey
	id   peer.ID
	host *Host
	net  *Network
	rec  *recorder
	// punchRetry, when set, is the network's PunchRetry.
	punchRetry time.Duration
	// pingEvery, when set, is the network's PingInterval.
	pingEvery time.Duration
	// log, when set, is the host's logger (default: discard).
	log *slog.Logger
	// dialTellAfter, when set, is the network's DialTellAfter.
	dialTellAfter time.Duration
}

func newKeys(t *testing.T, names ...string) map[string]*testNode {
	t.Helper()
	out := map[string]*testNode{}
	for _, n := range names {
		_, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		id, err := PeerIDFromPublicKey(priv.Public().(ed25519.PublicKey))
		if err != nil {
			t.Fatal(err)
		}
		out[n] = &testNode{name: n, key: priv, id: id, rec: &recorder{}}
	}
	return out
}

// start starts n's host and joins network "net" whose members are given.
func (n *testNode) start(t *testing.T, members map[string]*testNode) {
	t.Helper()
	n.startWith(t, members, ReachabilityPublic, nil)
}

// startWith is start with a reachability and the members' endpoints.
func (n *testNode) startWith(t *testing.T, members map[string]*testNode, r Reachability, eps map[string]Endpoint) {
	t.Helper()
	log := n.log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h, err := NewHost(HostConfig{Key: n.key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Logger: log, Reachability: r})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	byNode := map[string]peer.ID{}
	for name, m := range members {
		byNode[name] = m.id
	}
	nw, err := h.Join(NetworkConfig{ID: "net", Self: n.name, Members: NewMembers(byNode), Handler: n.rec, Endpoints: eps, PunchRetry: n.punchRetry, PingInterval: n.pingEvery, DialTellAfter: n.dialTellAfter})
	if err != nil {
		t.Fatal(err)
	}
	n.host, n.net = h, nw
}

// connectedPair starts members a and b of network "net" and has b dial a.
func connectedPair(t *testing.T) (a, b *testNode) {
	t.Helper()
	nodes := newKeys(t, "a", "b")
	a, b = nodes["a"], nodes["b"]
	a.start(t, nodes)
	b.start(t, nodes)
	b.connect(t, a)
	return a, b
}

func (n *testNode) connect(t *testing.T, to *testNode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.host.Libp2p().Connect(ctx, peer.AddrInfo{ID: to.id, Addrs: to.host.Libp2p().Addrs()}); err != nil {
		t.Fatal(err)
	}
}

func heartbeat(network, node string, boot, seq uint64) *pb.Envelope {
	return &pb.Envelope{
		Header: &pb.Header{NetworkId: network, NodeId: node, BootId: boot, Seq: seq},
		Body:   &pb.Envelope_Heartbeat{Heartbeat: &pb.Heartbeat{State: pb.State_STATE_RUNNING}},
	}
}

// TestPublishRightAfterConnect: GossipSub drops a message published before
// it knows any peer on the topic. Publish waits for one, so the very first
// heartbeat after connecting arrives.
func TestPublishRightAfterConnect(t *testing.T) {
	nodes := newKeys(t, "a", "b")
	a, b := nodes["a"], nodes["b"]
	b.start(t, nodes)
	a.start(t, nodes)
	a.connect(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.net.Publish(ctx, heartbeat("net", "a", 1, 1)); err != nil {
		t.Fatalf("Publish = %v; want nil", err)
	}
	waitFor(t, 30*time.Second, "b to receive a's first heartbeat", func() bool {
		_, ok := b.rec.find("a", nil)
		return ok
	})
}

// TestNonMemberIsShutOut: a host that is not a member can neither read the
// topic nor inject into it, even when connected to members.
func TestNonMemberIsShutOut(t *testing.T) {
	nodes := newKeys(t, "a", "b", "x")
	a, b, x := nodes["a"], nodes["b"], nodes["x"]
	members := map[string]*testNode{"a": a, "b": b}
	a.start(t, members)
	b.start(t, members)
	// x believes it is a member (its own config lists it), the others don't.
	x.start(t, nodes)
	b.connect(t, a)
	x.connect(t, a)
	x.connect(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.net.Publish(ctx, heartbeat("net", "a", 1, 1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "b to receive a's heartbeat", func() bool {
		_, ok := b.rec.find("a", nil)
		return ok
	})
	// x's publish has no topic peer to go to: the members filter it out.
	xctx, xcancel := context.WithTimeout(context.Background(), time.Second)
	defer xcancel()
	_ = x.net.Publish(xctx, heartbeat("net", "x", 1, 1))
	// A message both members see proves the topic kept flowing meanwhile.
	if err := a.net.Publish(ctx, heartbeat("net", "a", 1, 2)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "b to receive a's second heartbeat", func() bool {
		_, ok := b.rec.find("a", func(m Message) bool { return m.Env.GetHeader().GetSeq() == 2 })
		return ok
	})
	if _, ok := x.rec.find("a", nil); ok {
		t.Error("non-member x received a member's gossip")
	}
	if _, ok := a.rec.find("x", nil); ok {
		t.Error("member a admitted gossip from non-member x")
	}
	if _, ok := b.rec.find("x", nil); ok {
		t.Error("member b admitted gossip from non-member x")
	}
}

// TestSyncOnJoin: a node that joins late gets the latest messages of every
// author from the first member it connects to, signed and validated.
func TestSyncOnJoin(t *testing.T) {
	nodes := newKeys(t, "a", "b", "c")
	a, b, c := nodes["a"], nodes["b"], nodes["c"]
	a.start(t, nodes)
	b.start(t, nodes)
	b.connect(t, a)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.net.Publish(ctx, heartbeat("net", "a", 7, 3)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "b to receive a's heartbeat", func() bool {
		_, ok := b.rec.find("a", nil)
		return ok
	})
	// c joins later and connects only to b; a publishes nothing more.
	c.start(t, nodes)
	c.connect(t, b)
	waitFor(t, 30*time.Second, "c to learn a's heartbeat through sync", func() bool {
		_, ok := c.rec.find("a", nil)
		return ok
	})
	m, _ := c.rec.find("a", nil)
	if m.From != a.id || m.Env.GetHeader().GetBootId() != 7 || m.Env.GetHeader().GetSeq() != 3 {
		t.Errorf("synced message = from %s boot %d seq %d; want from %s boot 7 seq 3",
			m.From, m.Env.GetHeader().GetBootId(), m.Env.GetHeader().GetSeq(), a.id)
	}
	if m.Raw == nil || len(m.Raw.GetSignature()) == 0 {
		t.Error("synced message carries no signature")
	}
	// What c keeps for audit is a's message exactly as signed.
	latest := c.net.Latest()
	if len(latest) != 1 {
		t.Fatalf("c's Latest() = %d messages; want a's heartbeat only", len(latest))
	}
	var got pubsubpb.Message
	if err := proto.Unmarshal(latest[0].Raw, &got); err != nil {
		t.Fatalf("Latest()[0] is not a pubsub message: %v", err)
	}
	if _, err := verifySigned(&got); err != nil {
		t.Errorf("Latest()[0] does not verify: %v", err)
	}
}

// TestSyncWithEveryMemberThatJoins: a message published before two members
// saw each other on the topic, and gone from GossipSub's gossip window, still
// reaches the other member through the push-pull exchange both start when
// they see each other join the topic — whatever members each met before.
func TestSyncWithEveryMemberThatJoins(t *testing.T) {
	nodes := newKeys(t, "a", "b", "c", "d", "x")
	for _, n := range []string{"a", "b", "c", "d", "x"} {
		nodes[n].start(t, nodes)
	}
	a, c, x := nodes["a"], nodes["c"], nodes["x"]
	a.connect(t, nodes["b"])
	a.connect(t, nodes["d"])
	c.connect(t, x)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.net.Publish(ctx, heartbeat("net", "c", 1, 1)); err != nil {
		t.Fatal(err)
	}
	published := time.Now()
	if err := a.net.Publish(ctx, heartbeat("net", "a", 1, 1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "x to receive c's heartbeat", func() bool {
		_, ok := x.rec.find("c", nil)
		return ok
	})
	// GossipSub gossips message IDs for HistoryGossip heartbeats (1s each)
	// only; past that, only sync can carry the message.
	waitFor(t, 10*time.Second, "c's heartbeat to leave the gossip window", func() bool {
		return time.Since(published) > 3*time.Second
	})
	if _, ok := a.rec.find("c", nil); ok {
		t.Fatal("a has c's heartbeat before meeting c or anyone who has it")
	}
	c.connect(t, a)
	waitFor(t, 30*time.Second, "a to get c's heartbeat through sync", func() bool {
		_, ok := a.rec.find("c", nil)
		return ok
	})
	waitFor(t, 30*time.Second, "c to get a's heartbeat through sync", func() bool {
		_, ok := c.rec.find("a", nil)
		return ok
	})
}

// TestSyncRejectsTampered: a synced message whose payload was altered fails
// the signature check and is counted, never delivered.
func TestSyncRejectsTampered(t *testing.T) {
	a, b := connectedPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.net.Publish(ctx, heartbeat("net", "a", 1, 1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "a's own message to be remembered", func() bool {
		return len(a.net.syncResponse(time.Now()).GetEntries()) > 0
	})
	entry := a.net.syncResponse(time.Now()).GetEntries()[0]
	raw := append([]byte(nil), entry.GetMessage()...)
	raw[len(raw)/2] ^= 0xff
	before := b.net.Validator().Rejected()
	b.net.acceptSynced(&pb.SyncEntry{Message: raw})
	after := b.net.Validator().Rejected()
	total := func(m map[RejectReason]uint64) (s uint64) {
		for _, v := range m {
			s += v
		}
		return s
	}
	if total(after) != total(before)+1 {
		t.Errorf("rejections %v -> %v; want one more", before, after)
	}
}

// TestSyncPushAsksForNothing: a push (to a member off the topic) gets an
// empty answer, not every author's latest messages: a push must not cost a
// full sync. A plain request still gets them.
func TestSyncPushAsksForNothing(t *testing.T) {
	a, b := connectedPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.net.Publish(ctx, heartbeat("net", "a", 7, 3)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "b to receive a's heartbeat", func() bool {
		_, ok := b.rec.find("a", nil)
		return ok
	})
	answer := func(pushOnly bool) int {
		t.Helper()
		s, err := b.net.host.h.NewStream(ctx, a.id, SyncProtocol)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := pbio.NewDelimitedWriter(s).WriteMsg(&pb.SyncRequest{NetworkId: "net", PushOnly: pushOnly}); err != nil {
			t.Fatal(err)
		}
		var resp pb.SyncResponse
		if err := pbio.NewDelimitedReader(s, maxSyncMessage).ReadMsg(&resp); err != nil {
			t.Fatal(err)
		}
		return len(resp.GetEntries())
	}
	if n := answer(false); n == 0 {
		t.Fatal("a plain sync request got no entries; want a's latest heartbeat")
	}
	if n := answer(true); n != 0 {
		t.Errorf("a push got %d entries back; want none", n)
	}
}
