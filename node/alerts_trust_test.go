package node_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/history"
	"github.com/meshmon/meshmon/node"
	"github.com/meshmon/meshmon/node/nodetest"
	"github.com/meshmon/meshmon/notify"
	"github.com/meshmon/meshmon/p2p/pb"
)

// calm is the timing of these tests: the production default. They shape
// statuses with forged reports, and must not see the extra suspicions a
// starved two-core machine causes with the shorter test timing.
var calm = nodetest.Options{Heartbeat: "1s", SuspectAfter: "3s"}

// calmWith is calm with alert options.
func calmWith(a node.AlertOptions) nodetest.Options {
	o := calm
	o.Alerts = a
	return o
}

// forger publishes messages signed with one member's key, with positions
// far above the member's own so they stick (issue 12, item 5).
type forger struct {
	t   *testing.T
	c   *nodetest.Cluster
	i   int
	seq uint64
}

func newForger(t *testing.T, c *nodetest.Cluster, i int) *forger {
	return &forger{t: t, c: c, i: i, seq: 1 << 30}
}

func (f *forger) publish(body func(*pb.Envelope)) {
	f.t.Helper()
	f.seq++
	n := f.c.Node(f.i)
	env := &pb.Envelope{Header: &pb.Header{
		NetworkId: "test", NodeId: f.c.Names[f.i], BootId: n.BootForTest(), Seq: f.seq,
		SentUnixMs: time.Now().UnixMilli(),
	}}
	body(env)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.PublishForTest(ctx, "test", env); err != nil {
		f.t.Fatalf("%s publish: %v", f.c.Names[f.i], err)
	}
}

// report publishes a Report in which the forger suspects the members in
// suspect and finds every other member reachable.
func (f *forger) report(suspect ...int) {
	f.t.Helper()
	f.publish(func(env *pb.Envelope) {
		r := &pb.Report{}
		for j, name := range f.c.Names {
			if j == f.i {
				continue
			}
			reach := pb.Reachability_REACHABILITY_REACHABLE
			for _, s := range suspect {
				if s == j {
					reach = pb.Reachability_REACHABILITY_SUSPECT
				}
			}
			r.Peers = append(r.Peers, &pb.PeerObservation{NodeId: name, Reachability: reach, Connected: true})
		}
		env.Body = &pb.Envelope_Report{Report: r}
	})
}

// delivered publishes a Delivered mark.
func (f *forger) delivered(id string) {
	f.t.Helper()
	f.publish(func(env *pb.Envelope) {
		env.Body = &pb.Envelope_Delivered{Delivered: &pb.Delivered{AlertId: id}}
	})
}

// waitSeen waits until node obs's view passes check.
func waitSeen(t *testing.T, c *nodetest.Cluster, obs int, what string, check func(*health.NetworkView) bool) {
	t.Helper()
	ok := nodetest.Eventually(converge, func() bool {
		nv, err := c.View(obs)
		return err == nil && check(nv)
	})
	if !ok {
		t.Fatalf("%s never saw %s", c.Names[obs], what)
	}
}

// opinion is observer's opinion of subject in nv.
func opinion(nv *health.NetworkView, subject, observer string) string {
	if n := nv.Nodes[subject]; n != nil {
		return n.Observers[observer].Opinion
	}
	return ""
}

// others returns members of the cluster other than skip, in index order.
func others(c *nodetest.Cluster, skip ...int) []int { return c.Except(skip...) }

// A member forges Delivered marks for the alerts about to happen (their
// IDs are predictable): they come from a member that is not the elected
// sender, so they are ignored and the real outage is still reported, once,
// by the leader.
func TestAlertsForgedDeliveredDoesNotSuppress(t *testing.T) {
	f := newFakeDiscord(t)
	members := []int{0, 1, 2, 3}
	c := startAlertClusterWith(t, 4, members, f, nil, calmWith(testAlerts))
	leader := electedCluster(t, c, members, nil)
	rest := others(c, leader)
	victim, liar := rest[0], rest[1]
	name := c.Names[victim]
	nv, err := c.View(leader)
	if err != nil {
		t.Fatal(err)
	}
	boot := nv.Nodes[name].BootID
	hash := notify.ClusterHash("test", f.URL())
	fg := newForger(t, c, liar)
	ignored := func() uint64 {
		var n uint64
		for _, d := range c.Node(leader).AlertDeliveries() {
			for _, v := range d.MarksIgnored {
				n += v
			}
		}
		return n
	}
	// One at a time, each refused by the leader before the next: gossip
	// does not keep a burst's order, and an older position is stale.
	forged, now := 0, time.Now()
	for b := -1; b <= 4; b++ {
		at := now.Add(time.Duration(b) * notify.IDBucket)
		for _, kind := range []notify.Kind{notify.KindOffline, notify.KindDegraded} {
			id := notify.AlertID("test", name, kind, boot, at)
			for _, v := range []string{id, id + "~2"} {
				fg.delivered(notify.DeliveredID(hash, v))
				forged++
				if !nodetest.Eventually(converge, func() bool { return ignored() >= uint64(forged) }) {
					t.Fatalf("the leader did not refuse forged mark %d (%s): %+v", forged, v, c.Node(leader).AlertDeliveries())
				}
			}
		}
	}
	t.Logf("leader %s; %s forged %d Delivered marks about %s, all refused", c.Names[leader], c.Names[liar], forged, name)

	before := f.count(name)
	c.Kill(victim)
	req := f.expectOne(name, name+" is offline", before)
	if by := req.sentBy(); by != c.Names[leader] {
		t.Errorf("offline alert sent by %q; want the leader %s", by, c.Names[leader])
	}
}

// One member's key claims that two healthy members are down. That is one
// observer's opinion, not an agreed status: no alert is sent.
func TestAlertsSingleObserverSendsNothing(t *testing.T) {
	f := newFakeDiscord(t)
	members := []int{0, 1, 2, 3}
	c := startAlertClusterWith(t, 4, members, f, nil, calmWith(testAlerts))
	leader := electedCluster(t, c, members, nil)
	rest := others(c, leader)
	liar, a, b := rest[0], rest[1], rest[2]
	before := len(f.requests())

	fg := newForger(t, c, liar)
	fg.report(a, b)
	waitSeen(t, c, leader, c.Names[liar]+"'s suspicion of "+c.Names[a], func(nv *health.NetworkView) bool {
		return opinion(nv, c.Names[a], c.Names[liar]) == "suspect" && opinion(nv, c.Names[b], c.Names[liar]) == "suspect"
	})
	// The lie stands for three holds: long enough for any alert.
	if nodetest.Eventually(3*testAlerts.Hold, func() bool { return len(f.requests()) > before }) {
		t.Fatalf("an alert on one member's word:%s", f.describe())
	}
	fg.report()
	waitSeen(t, c, leader, "the lie withdrawn", func(nv *health.NetworkView) bool {
		return opinion(nv, c.Names[a], c.Names[liar]) == "reachable" && nv.Nodes[c.Names[a]].Status == health.StatusOnline &&
			nv.Nodes[c.Names[b]].Status == health.StatusOnline
	})
	if nodetest.Eventually(settleWindow, func() bool { return len(f.requests()) > before }) {
		t.Fatalf("an alert on one member's word:%s", f.describe())
	}
}

// Two members' reports make a member degraded three times, for about 2 s
// each, with a brief online (one or two evaluations, ~100-200 ms) between
// the spells: each is shorter than the 3 s hold, so nothing is sent, and
// the leader counts each spell as not held. (Sampling the view every tick
// merged two spells into one longer than the hold whenever a sample missed
// a gap.)
func TestAlertsShortDegradedSpellsSendNothing(t *testing.T) {
	f := newFakeDiscord(t)
	members := []int{0, 1, 2, 3, 4}
	opts := testAlerts
	opts.Hold, opts.Tick = 3*time.Second, time.Second
	c := startAlertClusterWith(t, 5, members, f, nil, calmWith(opts))
	leader := electedCluster(t, c, members, nil)
	rest := others(c, leader)
	victim, l1, l2 := rest[0], rest[1], rest[2]
	name := c.Names[victim]
	before := f.count(name)
	f1, f2 := newForger(t, c, l1), newForger(t, c, l2)
	// seen polls the leader's view closely, so the gap stays short.
	seen := func(what string, want health.Status) {
		t.Helper()
		deadline := time.NewTimer(converge)
		defer deadline.Stop()
		tick := time.NewTicker(5 * time.Millisecond) // a tight poll keeps the gap short
		defer tick.Stop()
		for {
			if nv, err := c.View(leader); err == nil && nv.Nodes[name].Status == want {
				return
			}
			select {
			case <-deadline.C:
				t.Fatalf("%s never saw %s", c.Names[leader], what)
			case <-tick.C:
			}
		}
	}

	const spell = 2 * time.Second // each shorter than the hold
	for i := range 3 {
		f1.report(victim)
		f2.report(victim)
		seen(fmt.Sprintf("%s degraded (spell %d)", name, i+1), health.StatusDegraded)
		time.Sleep(spell) // shapes the spell; nothing to wait for
		f1.report()
		f2.report()
		seen(fmt.Sprintf("%s online after spell %d", name, i+1), health.StatusOnline)
	}
	if nodetest.Eventually(2*opts.Hold, func() bool { return f.count(name) > before }) {
		t.Fatalf("short spells merged into an alert:%s", f.describe())
	}
	var notHeld uint64
	for _, d := range c.Node(leader).AlertDeliveries() {
		notHeld += d.Suppressed[string(notify.ReasonNotHeld)]
	}
	if notHeld < 3 {
		t.Errorf("leader counted %d statuses not held; want at least the 3 spells", notHeld)
	}
}

// While a cluster waits for a second live member, a member goes offline;
// by the time the cluster can send, that is older than the late bound: it
// is dropped with an event, never posted as news, and the member's return
// is reported once with the outage it ends.
func TestAlertsLateDroppedWithEvent(t *testing.T) {
	f := newFakeDiscord(t)
	members := []int{0, 1}
	opts := testAlerts
	opts.LateAfter = 4 * time.Second
	c := startAlertClusterWith(t, 4, members, f, nil, calmWith(opts))
	electedCluster(t, c, members, nil)

	sent := f.count("n2")
	c.Kill(1)
	c.WaitStatus([]int{0, 2, 3}, []int{1}, health.StatusOffline, converge)
	ok := nodetest.Eventually(converge, func() bool {
		return len(c.Node(0).Events().List(func(e health.Event) bool {
			return e.Kind == "delivery" && e.Node == "n2" && e.Severity == health.SeverityWarning &&
				strings.Contains(e.Message, "too late") && strings.Contains(e.Message, "n2 is offline")
		})) == 1
	})
	if !ok {
		t.Fatalf("n1 has no event for the late offline alert: %+v", c.Node(0).Events().List(nil))
	}
	var late uint64
	for _, d := range c.Node(0).AlertDeliveries() {
		late += d.Suppressed[string(notify.ReasonLate)]
	}
	if late != 1 {
		t.Errorf("n1 counted %d late alerts; want 1", late)
	}
	// n1's history keeps the dropped alert and why (not as sent).
	var hist struct {
		Alerts []history.Alert `json:"alerts"`
	}
	ok = nodetest.Eventually(converge, func() bool {
		hist.Alerts = nil
		if getJSON(t, c.URLs[0]+"/api/history/alerts?network=test", &hist) != http.StatusOK {
			return false
		}
		for _, a := range hist.Alerts {
			if a.Outcome == history.AlertSuppressed && a.Node == "n2" && strings.HasPrefix(a.Reason, "late: ") && a.ID != "" {
				return true
			}
		}
		return false
	})
	if !ok {
		t.Errorf("n1's alert history = %+v; want the late offline alert of n2, suppressed as late", hist.Alerts)
	}
	for _, a := range hist.Alerts {
		if a.Outcome == history.AlertSent && strings.Contains(a.Reason, "too late") {
			t.Errorf("the late alert is in the history as sent: %+v", a)
		}
	}

	c.Start(1)
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge)
	req := f.expectOne("n2", "n2 is back online", sent)
	if d := req.msg.Embeds[0].Description; !strings.Contains(d, "Was offline from") {
		t.Errorf("online alert description %q; want the outage (Was offline from …)", d)
	}
	if _, offline := f.about("n2", "n2 is offline"); len(offline) != 0 {
		t.Errorf("the late offline alert was posted:%s", f.describe())
	}
}
