package p2p

import (
	"context"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshmon/meshmon/p2p/pb"
)

func TestIncarnationsAdmit(t *testing.T) {
	type step struct {
		boot, seq uint64
		sent      int64
		want      RejectReason
		clone     bool
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"first message", []step{{5, 1, 100, rejectNone, false}}},
		{"first message at zero", []step{{0, 0, 100, rejectNone, false}, {0, 0, 100, ignoreDuplicate, false}}},
		{"same boot forward, replay, duplicate", []step{
			{5, 1, 100, rejectNone, false}, {5, 2, 110, rejectNone, false},
			{5, 1, 100, RejectStale, false}, {5, 2, 110, ignoreDuplicate, false}}},
		{"restart: the old run's tail arrives late and stays stale", []step{
			{5, 3, 100, rejectNone, false}, {6, 1, 200, rejectNone, false},
			{5, 4, 150, RejectStale, false}}},
		{"clone: the old incarnation goes on after the new one began", []step{
			{5, 3, 100, rejectNone, false}, {6, 1, 200, rejectNone, false},
			{5, 4, 250, rejectNone, true}, {5, 4, 250, ignoreDuplicate, false},
			{5, 3, 100, RejectStale, false}, {6, 2, 260, rejectNone, false},
			{5, 5, 270, rejectNone, true}}},
		{"the two outbid each other: roles swap", []step{
			{5, 1, 100, rejectNone, false}, {6, 1, 200, rejectNone, false},
			{7, 1, 300, rejectNone, false}, // 5 refuted above 6
			{6, 2, 310, rejectNone, true},
			{5, 1, 100, RejectStale, false}, // a replay of 5
			{5, 2, 320, rejectNone, true}}}, // 5 still publishing after 7 began: a third run
		{"an older run's message sent before the current one began is stale", []step{
			{5, 1, 100, rejectNone, false}, {6, 1, 200, rejectNone, false},
			{4, 9, 150, RejectStale, false}}},
		{"an incarnation missed here, still publishing, is a clone", []step{
			{10, 1, 100, rejectNone, false}, {13, 1, 200, rejectNone, false}, // 11 and 12 missed
			{12, 4, 250, rejectNone, true}, {12, 5, 260, rejectNone, true},
			{12, 4, 250, RejectStale, false}, {10, 2, 150, RejectStale, false}}},
		{"the current incarnation's old message is stale whatever its time", []step{
			{5, 3, 100, rejectNone, false}, {5, 2, 300, RejectStale, false}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var in incarnations
			for i, s := range c.steps {
				got, clone := in.admit(Position{s.boot, s.seq}, s.sent)
				if got != s.want || clone != s.clone {
					t.Errorf("step %d: admit(%d/%d, sent %d) = %v, %v; want %v, %v", i, s.boot, s.seq, s.sent, got, clone, s.want, s.clone)
				}
			}
		})
	}
}

// TestClonedKeyKeepsRealHostHeard: two real hosts hold b's key, the real b
// at incarnation 10 and a copy at 11, both connected to a. a holds one
// gossip stream per peer ID, so the copy's replaces the real b's, and a
// admitted nothing of the real b's lower incarnation any more. Now a keeps
// admitting the real b's messages, flagged as a clash with both
// connections' addresses.
func TestClonedKeyKeepsRealHostHeard(t *testing.T) {
	nodes := newKeys(t, "a", "b")
	a, b := nodes["a"], nodes["b"]
	copyB := &testNode{name: "b", key: b.key, id: b.id, rec: &recorder{}}
	a.start(t, nodes)
	b.start(t, nodes)
	b.connect(t, a)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	publish := func(n *testNode, boot, seq uint64) {
		env := heartbeat("net", "b", boot, seq)
		env.Header.SentUnixMs = time.Now().UnixMilli()
		if err := n.net.Publish(ctx, env); err != nil {
			t.Fatalf("publish %d/%d: %v", boot, seq, err)
		}
	}
	heard := func(boot, seq uint64) func(Message) bool {
		return func(m Message) bool {
			h := m.Env.GetHeader()
			return h.GetBootId() == boot && h.GetSeq() >= seq
		}
	}
	publish(b, 10, 1)
	waitFor(t, 30*time.Second, "a to admit the real b's first message", func() bool {
		_, ok := a.rec.find("b", heard(10, 1))
		return ok
	})

	copyB.start(t, nodes)
	copyB.connect(t, a)
	// The copy publishes until a has admitted one of its messages.
	seq := uint64(0)
	waitFor(t, 30*time.Second, "a to admit the copy's message", func() bool {
		seq++
		publish(copyB, 11, seq)
		_, ok := a.rec.find("b", heard(11, 1))
		return ok
	})

	// The real b goes on at incarnation 10, sending after the copy began,
	// once: a must hear it even though the copy may hold b's gossip stream
	// at a (the catch-up push once a stays off the real b's topic list).
	publish(b, 10, 2)
	var got Message
	waitFor(t, 30*time.Second, "a to admit the real b's message after the copy's", func() bool {
		m, ok := a.rec.find("b", heard(10, 2))
		got = m
		return ok
	})
	seq = 2
	if got.Clash == nil || got.Clash.Boot != 10 || got.Clash.Other != 11 {
		t.Fatalf("the real b's message at a has Clash %+v; want boot 10 beside 11", got.Clash)
	}
	if len(got.Clash.Addrs) < 2 {
		t.Errorf("Clash.Addrs = %v; want a's two connections to b's peer ID", got.Clash.Addrs)
	}
	// And again later: the real b is not cut off after the first.
	next := seq + 1
	waitFor(t, 30*time.Second, "a to admit a later message of the real b", func() bool {
		seq++
		publish(b, 10, seq)
		_, ok := a.rec.find("b", heard(10, next))
		return ok
	})
	if n := a.net.Validator().Rejected()[RejectStale]; n > 0 {
		t.Logf("a refused %d stale messages meanwhile", n)
	}
}

// TestValidatorFlagsClonedAuthor drives the topic validator as GossipSub
// does: b restarts (5 → 6), and the old run's last message arrives late: it
// stays stale and counted. Then a second host goes on at 5 after 6 began:
// its messages are admitted, flagged with both incarnations, and not
// counted as rejections.
func TestValidatorFlagsClonedAuthor(t *testing.T) {
	b := newAuthor(t, "b")
	v := NewValidator(testNetwork, membersOf(b))
	n := gossipNetwork(v, &msgSink{})
	at := func(boot, seq uint64, sent int64) *pb.Envelope {
		env := hb("b", boot, seq)
		env.Header.SentUnixMs = sent
		return env
	}
	steps := []struct {
		env       *pb.Envelope
		want      pubsub.ValidationResult
		wantClash *Clash
	}{
		{at(5, 1, 1000), pubsub.ValidationAccept, nil},
		{at(6, 1, 2000), pubsub.ValidationAccept, nil},
		{at(5, 2, 1500), pubsub.ValidationReject, nil}, // the old run's tail
		{at(5, 3, 2100), pubsub.ValidationAccept, &Clash{Boot: 5, Other: 6}},
		{at(5, 3, 2100), pubsub.ValidationIgnore, nil}, // the same, by sync
		{at(6, 2, 2200), pubsub.ValidationAccept, nil},
		{at(5, 4, 2300), pubsub.ValidationAccept, &Clash{Boot: 5, Other: 6}},
	}
	for i, s := range steps {
		pm, got := received(t, n, b.gossip(t, s.env))
		if got != s.want {
			t.Fatalf("step %d (%d/%d): validate = %v; want %v", i, s.env.Header.BootId, s.env.Header.Seq, got, s.want)
		}
		c, flagged := pm.ValidatorData.(clashed)
		switch {
		case s.wantClash == nil && flagged:
			t.Errorf("step %d: flagged %+v; want no clash", i, c.clash)
		case s.wantClash != nil && (!flagged || c.clash.Boot != s.wantClash.Boot || c.clash.Other != s.wantClash.Other):
			t.Errorf("step %d: ValidatorData = %+v; want clash %+v", i, pm.ValidatorData, s.wantClash)
		}
	}
	wantCounts(t, v, map[RejectReason]uint64{RejectStale: 1})
}

// TestPushFailedRecently: a member a push failed to is left alone for
// pushRetry, then tried again.
func TestPushFailedRecently(t *testing.T) {
	n := &Network{}
	p := newAuthor(t, "b").id
	t0 := time.Unix(1_800_000_000, 0)
	if n.pushFailedRecently(p, t0) {
		t.Error("pushFailedRecently before any failure = true; want false")
	}
	n.pushFailed = map[peer.ID]time.Time{p: t0}
	for _, c := range []struct {
		after time.Duration
		want  bool
	}{{0, true}, {pushRetry - time.Millisecond, true}, {pushRetry, false}, {pushRetry + time.Second, false}} {
		if got := n.pushFailedRecently(p, t0.Add(c.after)); got != c.want {
			t.Errorf("pushFailedRecently(%v after the failure) = %v; want %v", c.after, got, c.want)
		}
	}
}
