package node_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/history"
	"github.com/meshmon/meshmon/internal/syncbuf"
	"github.com/meshmon/meshmon/node"
	"github.com/meshmon/meshmon/node/nodetest"
	"github.com/meshmon/meshmon/notify"
)

// webhookToken is the secret part of the fake webhook's URL: it must never
// show up in logs, events or the API.
const webhookToken = "s3cr3t-T0KEN-do-not-leak"

// settleWindow is how long a test waits, after the awaited message
// arrived, for a duplicate that must not come. The senders in these tests
// deliver within milliseconds, so a duplicate would show well within it.
const settleWindow = 3 * time.Second

// testAlerts are the alert options of these tests: a short tick, a hold
// that rides out start-up blips on a busy machine, and a sender that gives
// up quickly.
var testAlerts = node.AlertOptions{
	Tick: 50 * time.Millisecond,
	Hold: 1500 * time.Millisecond,
	Sender: notify.SenderConfig{
		Timeout:     5 * time.Second,
		MaxAttempts: 3,
		BaseBackoff: 100 * time.Millisecond,
		MaxBackoff:  500 * time.Millisecond,
	},
}

// fakeReply is one scripted answer of the fake webhook.
type fakeReply struct {
	code int
	body string
	// before, when set, runs once the request is recorded and before the
	// answer is written.
	before func()
}

// fakeRequest is one request the fake webhook received.
type fakeRequest struct {
	at   time.Time
	code int // what it answered
	msg  notify.DiscordMessage
}

// sentBy returns the node named in the message's footer.
func (r fakeRequest) sentBy() string {
	for _, e := range r.msg.Embeds {
		if e.Footer != nil {
			s, _, _ := strings.Cut(strings.TrimPrefix(e.Footer.Text, "sent by "), " · ")
			return s
		}
	}
	return ""
}

// fakeDiscord is an httptest Discord webhook that records every request
// and answers 204 unless scripted otherwise.
type fakeDiscord struct {
	t   *testing.T
	srv *httptest.Server

	// mu protects the following fields.
	mu     sync.Mutex
	reqs   []fakeRequest
	script []fakeReply
	bad    []string // problems found in requests
}

func newFakeDiscord(t *testing.T) *fakeDiscord {
	f := &fakeDiscord{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the webhook URL, with the secret token.
func (f *fakeDiscord) URL() string { return f.srv.URL + "/api/webhooks/42/" + webhookToken }

// reply scripts the next answers (after those already scripted).
func (f *fakeDiscord) reply(rs ...fakeReply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = append(f.script, rs...)
}

func (f *fakeDiscord) serve(w http.ResponseWriter, r *http.Request) {
	rep := f.record(r)
	if rep.before != nil {
		rep.before()
	}
	if rep.body != "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(rep.code)
	_, _ = io.WriteString(w, rep.body)
}

// record checks and records a request and returns the answer to give.
func (f *fakeDiscord) record(r *http.Request) fakeReply {
	body, err := io.ReadAll(r.Body)
	var msg notify.DiscordMessage
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case err != nil:
		f.bad = append(f.bad, "read body: "+err.Error())
	case r.Method != http.MethodPost || r.URL.Path != "/api/webhooks/42/"+webhookToken:
		f.bad = append(f.bad, fmt.Sprintf("unexpected %s %s", r.Method, r.URL.Path))
	case r.Header.Get("Content-Type") != "application/json":
		f.bad = append(f.bad, "content type "+r.Header.Get("Content-Type"))
	default:
		if err := json.Unmarshal(body, &msg); err != nil || len(msg.Embeds) == 0 {
			f.bad = append(f.bad, fmt.Sprintf("not a discord message (%v): %s", err, body))
		}
	}
	rep := fakeReply{code: http.StatusNoContent}
	if len(f.script) > 0 {
		rep, f.script = f.script[0], f.script[1:]
	}
	f.reqs = append(f.reqs, fakeRequest{at: time.Now(), code: rep.code, msg: msg})
	return rep
}

// requests returns the requests so far.
func (f *fakeDiscord) requests() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bad) > 0 {
		f.t.Errorf("bad webhook requests: %v", f.bad)
		f.bad = nil
	}
	return slices.Clone(f.reqs)
}

// about returns the requests with an embed about node (any kind), and
// among them those titled title.
func (f *fakeDiscord) about(node, title string) (all, titled []fakeRequest) {
	for _, r := range f.requests() {
		hit, match := false, false
		for _, e := range r.msg.Embeds {
			hit = hit || strings.HasPrefix(e.Title, node+" ")
			match = match || e.Title == title
		}
		if hit {
			all = append(all, r)
		}
		if match {
			titled = append(titled, r)
		}
	}
	return all, titled
}

func (f *fakeDiscord) describe() string {
	var b strings.Builder
	for _, r := range f.requests() {
		var titles []string
		for _, e := range r.msg.Embeds {
			titles = append(titles, e.Title)
		}
		fmt.Fprintf(&b, "\n  %s %d by %s: %q", r.at.Format("15:04:05.000"), r.code, r.sentBy(), titles)
	}
	return b.String()
}

// expectOne waits for a request with an embed titled title, then checks
// for settleWindow that it stays the only answered-2xx request about node
// apart from the earlier ones counted in before. It returns that request.
func (f *fakeDiscord) expectOne(node, title string, before int) fakeRequest {
	f.t.Helper()
	ok := nodetest.Eventually(converge, func() bool {
		_, titled := f.about(node, title)
		return len(titled) > 0
	})
	if !ok {
		f.t.Fatalf("no %q message within %v; requests:%s", title, converge, f.describe())
	}
	// Nothing more about node may arrive: wait out the window, failing
	// at the first extra request.
	extra := nodetest.Eventually(settleWindow, func() bool {
		all, _ := f.about(node, "")
		return len(delivered(all)) > before+1
	})
	all, titled := f.about(node, title)
	if extra || len(delivered(all)) != before+1 || len(titled) == 0 {
		f.t.Fatalf("want exactly one more message about %s (%q) after %d; requests:%s", node, title, before, f.describe())
	}
	return titled[len(titled)-1]
}

// quiet waits until no request has come for a while: on a busy machine a
// node may look degraded for longer than the hold while the cluster
// starts, and that is reported (the tests then count from here).
func (f *fakeDiscord) quiet() {
	f.t.Helper()
	const calm = 2 * time.Second
	ok := nodetest.Eventually(converge, func() bool {
		rs := f.requests()
		return len(rs) == 0 || time.Since(rs[len(rs)-1].at) > calm
	})
	if !ok {
		f.t.Fatalf("the webhook never got quiet:%s", f.describe())
	}
	if rs := f.requests(); len(rs) > 0 {
		f.t.Logf("alerts while the cluster started:%s", f.describe())
	}
}

// count returns how many requests about node were delivered so far.
func (f *fakeDiscord) count(node string) int {
	all, _ := f.about(node, "")
	return len(delivered(all))
}

// delivered keeps the requests answered 2xx.
func delivered(rs []fakeRequest) []fakeRequest {
	return slices.DeleteFunc(slices.Clone(rs), func(r fakeRequest) bool { return r.code/100 != 2 })
}

// clusters reads node i's GET /api/notification_cluster.
func clusters(c *nodetest.Cluster, i int) ([]notify.ClusterStatus, error) {
	var out struct {
		Clusters []notify.ClusterStatus `json:"clusters"`
	}
	err := nodetest.GetJSON(c.URLs[i]+"/api/notification_cluster", &out)
	return out.Clusters, err
}

// states returns a cluster's member states by node_id.
func states(cs notify.ClusterStatus) map[string]notify.MemberState {
	out := map[string]notify.MemberState{}
	for _, m := range cs.Members {
		out[m.NodeID] = m.State
	}
	return out
}

// waitClusters waits until every observer's single notification cluster
// passes check, or fails the test with the last problem.
func waitClusters(t *testing.T, c *nodetest.Cluster, observers []int, check func(obs int, cs notify.ClusterStatus) error) {
	t.Helper()
	var last error
	ok := nodetest.Eventually(converge, func() bool {
		for _, o := range observers {
			cs, err := clusters(c, o)
			if err == nil && len(cs) != 1 {
				err = fmt.Errorf("%d clusters: %+v", len(cs), cs)
			}
			if err == nil {
				err = check(o, cs[0])
			}
			if err != nil {
				last = fmt.Errorf("%s: %w", c.Names[o], err)
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("notification clusters never as expected: %v", last)
	}
}

// electedCluster waits until the live members of a cluster agree: leader
// is the live participant with the smallest peer ID, the others
// followers, the dead ones offline and outsiders not participating. It
// returns the leader's index.
func electedCluster(t *testing.T, c *nodetest.Cluster, members, dead []int) int {
	t.Helper()
	live := slices.DeleteFunc(slices.Clone(members), func(i int) bool { return slices.Contains(dead, i) })
	slices.SortFunc(live, func(a, b int) int {
		return strings.Compare(c.Node(a).PeerID().String(), c.Node(b).PeerID().String())
	})
	leader := live[0]
	waitClusters(t, c, live, func(_ int, cs notify.ClusterStatus) error {
		st := states(cs)
		if cs.Leader != c.Names[leader] || cs.Waiting {
			return fmt.Errorf("leader %q waiting=%v; want %s", cs.Leader, cs.Waiting, c.Names[leader])
		}
		for i, name := range c.Names {
			want := notify.StateNotParticipating
			switch {
			case i == leader:
				want = notify.StateLeader
			case slices.Contains(live, i):
				want = notify.StateFollower
			case slices.Contains(members, i):
				want = notify.StateOffline
			}
			if st[name] != want {
				return fmt.Errorf("%s is %s; want %s (all: %v)", name, st[name], want, st)
			}
		}
		return nil
	})
	return leader
}

// deliveryEvent waits until node i has a delivery event about subject
// that contains text.
func deliveryEvent(t *testing.T, c *nodetest.Cluster, i int, subject, text string) {
	t.Helper()
	ok := nodetest.Eventually(converge, func() bool {
		n := c.Node(i)
		return n != nil && len(n.Events().List(func(e health.Event) bool {
			return e.Kind == "delivery" && e.Node == subject && strings.Contains(e.Message, text)
		})) > 0
	})
	if !ok {
		t.Errorf("%s has no delivery event about %s containing %q", c.Names[i], subject, text)
	}
}

// checkNoSecret fails the test if the webhook token shows up in any
// running node's events, view, clusters API or in the logs.
func checkNoSecret(t *testing.T, c *nodetest.Cluster, logs *syncbuf.Buffer) {
	t.Helper()
	if logs.String() == "" {
		t.Error("no logs captured")
	}
	if strings.Contains(logs.String(), webhookToken) {
		t.Error("webhook token in the logs")
	}
	for i := range c.Names {
		if c.Node(i) == nil {
			continue
		}
		for _, path := range []string{"/api/view", "/api/events", "/api/notification_cluster"} {
			resp, err := http.Get(c.URLs[i] + path)
			if err != nil {
				t.Errorf("%s GET %s: %v", c.Names[i], path, err)
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s GET %s: %s", c.Names[i], path, resp.Status)
			}
			if strings.Contains(string(body), webhookToken) {
				t.Errorf("%s GET %s shows the webhook token", c.Names[i], path)
			}
		}
		for _, e := range c.Node(i).Events().List(nil) {
			if strings.Contains(e.Message, webhookToken) {
				t.Errorf("%s event shows the webhook token: %s", c.Names[i], e.Message)
			}
		}
	}
}

// startAlertCluster starts n nodes of which those in members configure
// the fake webhook, and waits until they are all online.
func startAlertCluster(t *testing.T, n int, members []int, f *fakeDiscord, logs *syncbuf.Buffer) *nodetest.Cluster {
	return startAlertClusterWith(t, n, members, f, logs, nodetest.Options{Alerts: testAlerts})
}

// startAlertClusterWith is startAlertCluster with other options (timing,
// alert options); their webhooks and logs are set here.
func startAlertClusterWith(t *testing.T, n int, members []int, f *fakeDiscord, logs *syncbuf.Buffer, o nodetest.Options) *nodetest.Cluster {
	hooks := make([]map[string]string, n)
	for _, i := range members {
		hooks[i] = map[string]string{fmt.Sprintf("ops%d", i): f.URL()}
	}
	if logs == nil {
		logs = &syncbuf.Buffer{}
	}
	// On failure, the nodes' own logs (not libp2p's chatter) tell why.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		var keep []string
		for _, l := range strings.Split(logs.String(), "\n") {
			if !strings.Contains(l, "level=DEBUG") && !strings.Contains(l, "component=pubsub") {
				keep = append(keep, l)
			}
		}
		t.Logf("node logs:\n%s", strings.Join(keep, "\n"))
	})
	o.DiscordWebhooks, o.Logs = hooks, logs
	c := nodetest.StartCluster(t, n, o)
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge)
	// A status is taken in once it has lasted the hold: until then a
	// death would go unnoticed, as of a node never seen alive. The election
	// reads the same held statuses, so once every member agrees on a leader
	// with every member live, the hold has passed everywhere.
	waitHeld(t, c, members)
	f.quiet()
	return c
}

// waitHeld waits until every webhook member sees, in every cluster, one
// leader that all of them agree on and every member as LEADER or FOLLOWER.
func waitHeld(t *testing.T, c *nodetest.Cluster, members []int) {
	t.Helper()
	var last string
	ok := nodetest.Eventually(converge, func() bool {
		leader := ""
		for _, i := range members {
			for _, cs := range c.Node(i).NotificationClusters() {
				last = fmt.Sprintf("%s sees leader %q, members %v", c.Names[i], cs.Leader, cs.Members)
				if cs.Leader == "" || (leader != "" && cs.Leader != leader) {
					return false
				}
				leader = cs.Leader
				live := 0
				for _, m := range cs.Members {
					if m.State == notify.StateLeader || m.State == notify.StateFollower {
						live++
					}
				}
				if live != len(members) {
					return false
				}
			}
		}
		return leader != ""
	})
	if !ok {
		t.Fatalf("the cluster never settled on a leader: %s", last)
	}
}

// Four nodes, three of which share a webhook: a follower dies and comes
// back; the leader alone reports each change, exactly once, and records it
// as an event. The webhook URL appears nowhere.
func TestAlertsFollowerOfflineAndBack(t *testing.T) {
	f := newFakeDiscord(t)
	logs := &syncbuf.Buffer{}
	members := []int{0, 1, 2}
	c := startAlertCluster(t, 4, members, f, logs)
	leader := electedCluster(t, c, members, nil)
	follower := members[0]
	if follower == leader {
		follower = members[1]
	}
	name, lname := c.Names[follower], c.Names[leader]
	t.Logf("leader %s, killing follower %s", lname, name)

	before := f.count(name)
	c.Kill(follower)
	req := f.expectOne(name, name+" is offline", before)
	if by := req.sentBy(); by != lname {
		t.Errorf("offline alert sent by %q; want the leader %s", by, lname)
	}
	deliveryEvent(t, c, leader, name, name+" is offline")
	electedCluster(t, c, members, []int{follower})

	c.Start(follower)
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge)
	req = f.expectOne(name, name+" is back online", before+1)
	if by := req.sentBy(); by != lname {
		t.Errorf("online alert sent by %q; want the leader %s", by, lname)
	}
	if d := req.msg.Embeds[0].Description; !strings.Contains(d, "Was offline from") {
		t.Errorf("online alert description %q; want the outage (Was offline from …)", d)
	}
	deliveryEvent(t, c, leader, name, name+" is back online")
	electedCluster(t, c, members, nil)
	checkNoSecret(t, c, logs)
}

// The leader dies: the runner-up becomes leader and reports it, exactly
// once; when the old leader returns it leads again, and its return is
// reported once (by another member: a node never reports itself) with no
// repeat of the offline alert.
func TestAlertsLeaderKilled(t *testing.T) {
	f := newFakeDiscord(t)
	members := []int{0, 1, 2}
	c := startAlertCluster(t, 4, members, f, nil)
	leader := electedCluster(t, c, members, nil)
	name := c.Names[leader]

	before := f.count(name)
	c.Kill(leader)
	next := electedCluster(t, c, members, []int{leader})
	req := f.expectOne(name, name+" is offline", before)
	if by := req.sentBy(); by != c.Names[next] {
		t.Errorf("alert about the dead leader sent by %q; want the new leader %s", by, c.Names[next])
	}
	deliveryEvent(t, c, next, name, name+" is offline")

	c.Start(leader)
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge)
	if again := electedCluster(t, c, members, nil); again != leader {
		t.Errorf("after its return the leader is %s; want %s again", c.Names[again], name)
	}
	req = f.expectOne(name, name+" is back online", before+1)
	if by := req.sentBy(); by != c.Names[next] {
		t.Errorf("return of the old leader reported by %q; want %s", by, c.Names[next])
	}
	if _, offline := f.about(name, name+" is offline"); len(delivered(offline)) != 1 {
		t.Errorf("%d offline alerts about %s; want 1:%s", len(offline), name, f.describe())
	}
}

// With one live member the cluster waits: nothing is sent, and the members
// show WAITING_FOR_CONSENSUS (the dead one OFFLINE). When the second member
// returns, the outage is reported once, as "back online" with its span.
func TestAlertsWaitForConsensus(t *testing.T) {
	f := newFakeDiscord(t)
	members := []int{0, 1}
	c := startAlertCluster(t, 4, members, f, nil)
	electedCluster(t, c, members, nil)

	before := len(f.requests())
	c.Kill(1)
	c.WaitStatus([]int{0, 2, 3}, []int{1}, health.StatusOffline, converge)
	waitClusters(t, c, []int{0}, func(_ int, cs notify.ClusterStatus) error {
		st := states(cs)
		if !cs.Waiting || cs.Leader != "" || st["n1"] != notify.StateWaiting || st["n2"] != notify.StateOffline ||
			st["n3"] != notify.StateNotParticipating {
			return fmt.Errorf("waiting=%v leader=%q states %v; want n1 waiting, n2 offline, n3 not participating", cs.Waiting, cs.Leader, st)
		}
		return nil
	})
	for _, i := range []int{2, 3} {
		if cs, err := clusters(c, i); err != nil || len(cs) != 0 {
			t.Errorf("%s (no webhook) lists clusters %+v (%v); want none", c.Names[i], cs, err)
		}
	}
	if nodetest.Eventually(settleWindow, func() bool { return len(f.requests()) > before }) {
		t.Fatalf("a lone member sent alerts:%s", f.describe())
	}

	sent := f.count("n2")
	c.Start(1)
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge)
	req := f.expectOne("n2", "n2 is back online", sent)
	if by := req.sentBy(); by != "n1" {
		t.Errorf("return of n2 reported by %q; want n1", by)
	}
	if d := req.msg.Embeds[0].Description; !strings.Contains(d, "Was offline from") {
		t.Errorf("online alert description %q; want the outage (Was offline from …)", d)
	}
	if _, offline := f.about("n2", "n2 is offline"); len(offline) != 0 {
		t.Errorf("the outage was also sent on its own:%s", f.describe())
	}
	electedCluster(t, c, members, nil)

	// The sender's history keeps the delivery.
	var got struct {
		Alerts []history.Alert `json:"alerts"`
	}
	ok := nodetest.Eventually(converge, func() bool {
		got.Alerts = nil
		if getJSON(t, c.URLs[0]+"/api/history/alerts?network=test", &got) != http.StatusOK {
			return false
		}
		for _, a := range got.Alerts {
			if a.Outcome == history.AlertSent && a.Node == "n2" && strings.Contains(a.Reason, "n2 is back online") {
				return true
			}
		}
		return false
	})
	if !ok {
		t.Errorf("n1's alert history = %+v; want n2's return, sent", got.Alerts)
	}
}

// The webhook rate limits the first alert (delivered after retry_after,
// once) and answers the next with 404 (an error event, no retry loop).
func TestAlertsWebhookErrors(t *testing.T) {
	f := newFakeDiscord(t)
	members := []int{0, 1, 2}
	c := startAlertCluster(t, 3, members, f, nil)
	leader := electedCluster(t, c, members, nil)
	follower := (leader + 1) % 3
	name := c.Names[follower]

	prior, _ := f.about(name, "")
	f.reply(fakeReply{code: http.StatusTooManyRequests, body: `{"message":"You are being rate limited.","retry_after":0.4,"global":false}`})
	c.Kill(follower)
	f.expectOne(name, name+" is offline", len(delivered(prior)))
	all, _ := f.about(name, "")
	all = all[len(prior):]
	if len(all) != 2 || all[0].code != http.StatusTooManyRequests || all[1].at.Sub(all[0].at) < 400*time.Millisecond {
		t.Errorf("want a 429 then, after retry_after, the delivery:%s", f.describe())
	}
	deliveryEvent(t, c, leader, name, name+" is offline")

	f.reply(fakeReply{code: http.StatusNotFound, body: `{"message":"Unknown Webhook","code":10015}`})
	c.Start(follower)
	ok := nodetest.Eventually(converge, func() bool {
		return len(c.Node(leader).Events().List(func(e health.Event) bool {
			return e.Kind == "delivery" && e.Severity == health.SeverityError &&
				strings.Contains(e.Message, "http status 404") && strings.Contains(e.Message, name+" is back online")
		})) == 1
	})
	if !ok {
		t.Fatalf("no error event for the 404 on %s:%s", c.Names[leader], f.describe())
	}
	if nodetest.Eventually(settleWindow, func() bool { all, _ := f.about(name, ""); return len(all) > len(prior)+3 }) {
		t.Errorf("the 404 was retried:%s", f.describe())
	}
}

// The leader dies after the webhook took its message but before it heard
// the 2xx, so it never announced the delivery: the new leader sends the
// alert again. This is the one duplicate the design allows (at most one
// per leader death, DESIGN.md §7); receivers can drop it by alert ID (the
// JSON payload carries it).
func TestAlertsLeaderDiesAfterPost(t *testing.T) {
	f := newFakeDiscord(t)
	members := []int{0, 1, 2, 3}
	c := startAlertCluster(t, 4, members, f, nil)
	leader := electedCluster(t, c, members, nil)
	follower := (leader + 1) % 4
	name, lname := c.Names[follower], c.Names[leader]
	t.Logf("leader %s, killing follower %s; the leader dies while posting", lname, name)

	before := f.count(name)
	f.reply(fakeReply{code: http.StatusNoContent, before: func() { c.Kill(leader) }})
	c.Kill(follower)
	ok := nodetest.Eventually(converge, func() bool { return f.count(name) >= before+2 })
	if !ok {
		t.Fatalf("the new leader did not send the undelivered alert:%s", f.describe())
	}
	if nodetest.Eventually(settleWindow, func() bool { return f.count(name) > before+2 }) {
		t.Fatalf("more than one duplicate:%s", f.describe())
	}
	all, _ := f.about(name, "")
	all = delivered(all)[before:]
	if all[0].sentBy() != lname || all[1].sentBy() == lname || all[1].sentBy() == "" {
		t.Errorf("want the alert from the old leader %s, then once from the new one:%s", lname, f.describe())
	}
	// The old leader's own death is reported once, by the new leader.
	_, dead := f.about(lname, lname+" is offline")
	if len(delivered(dead)) != 1 || dead[0].sentBy() != all[1].sentBy() {
		t.Errorf("want one alert about %s from the new leader:%s", lname, f.describe())
	}
}

// Webhooks added to and removed from nodeconf take effect without a
// restart: the cluster's membership follows.
func TestAlertsWebhooksReload(t *testing.T) {
	f := newFakeDiscord(t)
	c := startAlertCluster(t, 3, []int{0, 1}, f, nil)
	electedCluster(t, c, []int{0, 1}, nil)
	if cs, err := clusters(c, 2); err != nil || len(cs) != 0 {
		t.Fatalf("n3 lists clusters %+v (%v) before it has a webhook", cs, err)
	}
	nodeconf := func(i int) string { return filepath.Join(c.Dirs[i], "nodeconf.yml") }
	orig := readFile(t, nodeconf(2))
	line := "    node_id: n3\n"
	if !strings.Contains(orig, line) {
		t.Fatalf("unexpected nodeconf:\n%s", orig)
	}
	writeRename(t, nodeconf(2), strings.Replace(orig, line, line+"    discord_webhook: "+strconv.Quote(f.URL())+"\n", 1))
	electedCluster(t, c, []int{0, 1, 2}, nil)

	// n1 drops the webhook: it leaves the cluster, the others go on.
	orig = readFile(t, nodeconf(0))
	cut := regexp.MustCompile(`(?m)^    discord_webhook:\n(      .*\n)+`)
	if !cut.MatchString(orig) {
		t.Fatalf("no webhook in n1's nodeconf:\n%s", orig)
	}
	writeRename(t, nodeconf(0), cut.ReplaceAllString(orig, ""))
	electedCluster(t, c, []int{1, 2}, nil)
	ok := nodetest.Eventually(converge, func() bool {
		cs, err := clusters(c, 0)
		return err == nil && len(cs) == 0
	})
	if !ok {
		t.Fatal("n1 still lists its cluster after dropping the webhook")
	}
}
