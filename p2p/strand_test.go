package p2p

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TestNextOffTopic: a member becomes stranded, and the catch-up is due to
// it, once it has stayed off the topic for strandAfter; once only; and a
// member back on the topic is forgotten, so leaving it again starts anew.
func TestNextOffTopic(t *testing.T) {
	a, b := newAuthor(t, "a").id, newAuthor(t, "b").id
	t0 := time.Unix(1_800_000_000, 0)
	steps := []struct {
		at       time.Duration
		off      []peer.ID
		due      []peer.ID
		stranded []peer.ID
	}{
		{0, []peer.ID{a}, nil, nil},
		{strandAfter - time.Millisecond, []peer.ID{a, b}, nil, nil},
		{strandAfter, []peer.ID{a, b}, []peer.ID{a}, []peer.ID{a}},
		{strandAfter + time.Second, []peer.ID{a, b}, nil, []peer.ID{a}},
		{2 * strandAfter, []peer.ID{b}, []peer.ID{b}, []peer.ID{b}},
		{2*strandAfter + time.Second, []peer.ID{a, b}, nil, []peer.ID{b}},
		{3*strandAfter + time.Second, []peer.ID{a, b}, []peer.ID{a}, []peer.ID{a, b}},
		{4 * strandAfter, nil, nil, nil},
	}
	var state map[peer.ID]offTopic
	for i, s := range steps {
		var due []peer.ID
		state, due = nextOffTopic(state, s.off, t0.Add(s.at))
		var stranded []peer.ID
		for p, st := range state {
			if st.stranded {
				stranded = append(stranded, p)
			}
		}
		slices.Sort(due)
		slices.Sort(stranded)
		want := slices.Clone(s.due)
		slices.Sort(want)
		wantStranded := slices.Clone(s.stranded)
		slices.Sort(wantStranded)
		if !slices.Equal(due, want) || !slices.Equal(stranded, wantStranded) {
			t.Errorf("step %d (+%v): due %v, stranded %v; want %v, %v", i, s.at, due, stranded, want, wantStranded)
		}
		if len(state) != len(s.off) {
			t.Errorf("step %d: %d members known off the topic; want %d", i, len(state), len(s.off))
		}
	}
}

// TestCatchUpReachesMemberOffTopic: c stays connected to b but leaves the
// topic, so b's gossip no longer reaches it. A message b published once,
// before c counted as stranded, reaches c by the catch-up push; a later one
// by the push of each message.
func TestCatchUpReachesMemberOffTopic(t *testing.T) {
	nodes := newKeys(t, "a", "b", "c")
	a, b, c := nodes["a"], nodes["b"], nodes["c"]
	for _, n := range []*testNode{a, b, c} {
		n.start(t, nodes)
	}
	b.connect(t, a)
	b.connect(t, c)
	on := func(id peer.ID) func() bool {
		return func() bool { return slices.Contains(b.net.Peers(), id) }
	}
	waitFor(t, 30*time.Second, "b to see a and c on the topic", func() bool { return on(a.id)() && on(c.id)() })

	c.net.sub.Cancel()
	waitFor(t, 30*time.Second, "b to see c leave the topic", func() bool { return !on(c.id)() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	publish := func(seq uint64) {
		env := heartbeat("net", "b", 1, seq)
		env.Header.SentUnixMs = time.Now().UnixMilli()
		if err := b.net.Publish(ctx, env); err != nil {
			t.Fatalf("publish %d: %v", seq, err)
		}
	}
	heard := func(n *testNode, seq uint64) func() bool {
		return func() bool {
			_, ok := n.rec.find("b", func(m Message) bool { return m.Env.GetHeader().GetSeq() == seq })
			return ok
		}
	}
	publish(1)
	waitFor(t, 30*time.Second, "a to hear b's message by gossip", heard(a, 1))
	waitFor(t, 30*time.Second, "c to hear b's message by the catch-up push", heard(c, 1))
	publish(2)
	waitFor(t, 30*time.Second, "c to hear b's next message by push", heard(c, 2))
	if got := b.net.StrandedPushes(); got < 2 {
		t.Errorf("StrandedPushes = %d; want at least the catch-up and one message", got)
	}
	if got := a.net.StrandedPushes(); got != 0 {
		t.Errorf("a pushed %d times; want none (c was never connected to a)", got)
	}
}

// TestFailedPushReachesHandler: a push to a stranded member that cannot
// take it (here it no longer speaks the sync protocol) is counted and
// handed to the handler with the member's name.
func TestFailedPushReachesHandler(t *testing.T) {
	a, b := connectedPair(t)
	waitFor(t, 30*time.Second, "b to see a on the topic", func() bool { return slices.Contains(b.net.Peers(), a.id) })
	a.host.Libp2p().RemoveStreamHandler(SyncProtocol)
	a.net.sub.Cancel()
	waitFor(t, 30*time.Second, "b to see a leave the topic", func() bool { return !slices.Contains(b.net.Peers(), a.id) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env := heartbeat("net", "b", 1, 1)
	env.Header.SentUnixMs = time.Now().UnixMilli()
	if err := b.net.Publish(ctx, env); err != nil {
		t.Fatal(err)
	}
	got := waitSyncFailed(t, b, "b's handler to hear of the failed push to a")
	if !strings.HasPrefix(got[0], "a: gossip does not reach it") {
		t.Errorf("failed exchanges %q; want the first a push naming a", got)
	}
	if n := b.net.StrandedPushFailures(); n < uint64(len(got)) {
		t.Errorf("StrandedPushFailures = %d; want at least the %d handed over", n, len(got))
	}
}

// TestFailedSyncReachesHandler: the sync exchange with a member that
// joins the topic but cannot take it is counted and handed to the handler
// with the member's name.
func TestFailedSyncReachesHandler(t *testing.T) {
	nodes := newKeys(t, "a", "b")
	a, b := nodes["a"], nodes["b"]
	a.start(t, nodes)
	b.start(t, nodes)
	a.host.Libp2p().RemoveStreamHandler(SyncProtocol)
	b.connect(t, a)
	got := waitSyncFailed(t, b, "b's handler to hear of the failed sync with a")
	if !strings.HasPrefix(got[0], "a: the exchange when it joined the topic failed") {
		t.Errorf("failed exchanges %q; want the first the sync naming a", got)
	}
	if n := b.net.SyncFailures(); n != 1 {
		t.Errorf("SyncFailures = %d; want 1", n)
	}
	if n := a.net.SyncFailures(); n != 0 {
		t.Errorf("a's SyncFailures = %d; want 0 (b answers)", n)
	}
}

// waitSyncFailed waits until n's handler has heard of a failed sync
// exchange and returns what it heard.
func waitSyncFailed(t *testing.T, n *testNode, what string) []string {
	t.Helper()
	heard := func() []string {
		n.rec.mu.Lock()
		defer n.rec.mu.Unlock()
		return slices.Clone(n.rec.syncFailed)
	}
	waitFor(t, 30*time.Second, what, func() bool { return len(heard()) > 0 })
	return heard()
}

// TestLeftTopicStrandsAtOnce: a member that leaves the topic while still
// connected is due its catch-up at the next check, not after strandAfter;
// a member already stranded keeps its state (no second catch-up).
func TestLeftTopicStrandsAtOnce(t *testing.T) {
	a, b := newAuthor(t, "a").id, newAuthor(t, "b").id
	t0 := time.Unix(1_800_000_000, 0)
	state, due := nextOffTopic(nil, []peer.ID{b}, t0)
	if len(due) != 0 {
		t.Fatalf("due %v at first sight; want none", due)
	}
	state = leftTopic(state, a, t0.Add(time.Millisecond))
	state, due = nextOffTopic(state, []peer.ID{a, b}, t0.Add(strandCheck))
	if !slices.Equal(due, []peer.ID{a}) {
		t.Fatalf("due %v one check after a left; want [a]", due)
	}
	state = leftTopic(state, a, t0.Add(2*strandCheck))
	if _, due = nextOffTopic(state, []peer.ID{a, b}, t0.Add(2*strandCheck)); len(due) != 0 {
		t.Errorf("due %v after a stranded member left again; want none", due)
	}
	if got := leftTopic(nil, a, t0); !got[a].since.Equal(t0.Add(-strandAfter)) {
		t.Errorf("leftTopic on no state = %+v; want a off since strandAfter ago", got)
	}
}

// TestHealthyNetworkPushesNothing: members that all stay on the topic are
// never stranded, so nothing is pushed to them, through start-up and past
// strandAfter.
func TestHealthyNetworkPushesNothing(t *testing.T) {
	nodes := newKeys(t, "a", "b", "c")
	a, b, c := nodes["a"], nodes["b"], nodes["c"]
	for _, n := range []*testNode{a, b, c} {
		n.start(t, nodes)
	}
	a.connect(t, b)
	a.connect(t, c)
	b.connect(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, n := range []*testNode{a, b, c} {
		env := heartbeat("net", n.name, 1, 1)
		env.Header.SentUnixMs = time.Now().UnixMilli()
		if err := n.net.Publish(ctx, env); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	waitFor(t, 30*time.Second, "every node on the others' topic list", func() bool {
		return len(a.net.Peers()) == 2 && len(b.net.Peers()) == 2 && len(c.net.Peers()) == 2
	})
	// Watch for two strandAfter periods: no push may happen.
	deadline := time.Now().Add(2 * strandAfter)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		for _, n := range []*testNode{a, b, c} {
			if got := n.net.StrandedPushes(); got != 0 {
				t.Fatalf("%s pushed %d times to members on the topic; want none", n.name, got)
			}
		}
		<-tick.C
	}
}
