package node_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshmon/meshmon/configsync"
	"github.com/meshmon/meshmon/configsync/gittest"
	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/node"
	"github.com/meshmon/meshmon/node/nodetest"
)

// Every git test follows a repository on this machine, fetched every
// second, on a network with test timing.
const (
	gitNet       = "gitnet" // network_id
	gitDir       = "gitdir" // its directory: not the network_id, so events must name the network_id
	gitHeartbeat = "250ms"
	gitSuspect   = "1s"
)

// gitNode is one node of a git test: its own config dir, a loopback HTTP
// listener (its url in the network config) and, while running, the node.
type gitNode struct {
	t    *testing.T
	name string
	dir  string
	url  string
	pem  []byte // its public key, for the repository's pubkeys/

	logOff atomic.Bool

	// mu protects the following fields.
	mu   sync.Mutex
	ln   net.Listener
	n    *node.Node
	stop func() error
}

// newGitNode makes a node's config dir and key and reserves its HTTP port.
// It is not started.
func newGitNode(t *testing.T, name string) *gitNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gitNode{t: t, name: name, dir: filepath.Join(t.TempDir(), name), url: "http://" + ln.Addr().String(), ln: ln}
	// The key exists before the repository lists it.
	g.pem = nodetest.NodePublicKeyPEM(t, g.dir)
	t.Cleanup(func() { g.logOff.Store(true) })
	t.Cleanup(g.shutdown)
	return g
}

func (g *gitNode) member() nodetest.NetworkMember {
	return nodetest.NetworkMember{NodeID: g.name, URL: g.url}
}

// gitEntry is a nodeconf networks entry of the git network, following repo
// (at gitRef when set), fetched every second.
func (g *gitNode) gitEntry(repo, gitRef string) string {
	s := fmt.Sprintf("  - directory: %s\n    node_id: %s\n    config_type: git\n    git_repo: %q\n    git_interval: 1s\n", gitDir, g.name, repo)
	if gitRef != "" {
		s += fmt.Sprintf("    git_ref: %s\n", gitRef)
	}
	return s
}

// writeNodeconf writes nodeconf.yml with the given networks entries and
// loopback-only libp2p listen addresses.
func (g *gitNode) writeNodeconf(entries ...string) {
	g.t.Helper()
	nc := "networks:\n" + strings.Join(entries, "") +
		"listen:\n  p2p:\n    - /ip4/127.0.0.1/tcp/0\n    - /ip4/127.0.0.1/udp/0/quic-v1\n"
	if err := os.WriteFile(filepath.Join(g.dir, configsync.DefaultNodeConfName), []byte(nc), 0o644); err != nil {
		g.t.Fatal(err)
	}
}

// start creates the node and runs it until the test ends.
func (g *gitNode) start() {
	g.t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	log := slog.New(slog.NewTextHandler(testLog{g.t, &g.logOff}, &slog.HandlerOptions{Level: slog.LevelWarn})).With("test_node", g.name)
	n, err := node.New(g.t.Context(), node.Options{ConfigDir: g.dir, HTTPListener: g.ln, Logger: log, LeaveGrace: 200 * time.Millisecond})
	if err != nil {
		g.t.Fatalf("start %s: %v", g.name, err)
	}
	g.ln = nil // the node owns it now
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	g.n = n
	g.stop = func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return fmt.Errorf("node %s did not stop within 30s", g.name)
		}
	}
}

func (g *gitNode) shutdown() {
	g.mu.Lock()
	stop, ln := g.stop, g.ln
	g.stop, g.ln, g.n = nil, nil, nil
	g.mu.Unlock()
	if stop != nil {
		if err := stop(); err != nil {
			g.t.Errorf("stop %s: %v", g.name, err)
		}
	}
	if ln != nil {
		ln.Close()
	}
}

func (g *gitNode) node() *node.Node {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// network returns the running node's view of network id, nil if it has not
// joined it.
func (g *gitNode) network(id string) *health.NetworkView {
	return g.node().View().Networks[id]
}

// gitEvents returns the node's git events of the git network.
func (g *gitNode) gitEvents() []health.Event {
	return g.node().Events().List(func(e health.Event) bool { return e.Kind == "git" })
}

// waitEvent waits for an event matching keep and returns it.
func (g *gitNode) waitEvent(what string, keep func(health.Event) bool) health.Event {
	g.t.Helper()
	var found health.Event
	if !nodetest.Eventually(converge, func() bool {
		evs := g.node().Events().List(keep)
		if len(evs) == 0 {
			return false
		}
		found = evs[0]
		return true
	}) {
		g.t.Fatalf("%s: no event %s; events: %+v", g.name, what, g.node().Events().List(nil))
	}
	return found
}

// waitCommit waits until the node runs the git network at commit, and
// returns that network's view.
func (g *gitNode) waitCommit(commit string) *health.NetworkView {
	g.t.Helper()
	var last *health.NetworkView
	if !nodetest.Eventually(converge, func() bool {
		last = g.network(gitNet)
		return last != nil && last.Config != nil && last.Config.Commit == commit
	}) {
		g.t.Fatalf("%s: git network never ran commit %s; view: %+v; events: %+v", g.name, commit, last, g.gitEvents())
	}
	return last
}

// waitStatus waits until every observer sees every subject with status
// want on the git network.
func waitStatus(t *testing.T, observers, subjects []*gitNode, want health.Status) {
	t.Helper()
	var last string
	if !nodetest.Eventually(converge, func() bool {
		for _, o := range observers {
			nv := o.network(gitNet)
			if nv == nil {
				last = o.name + " has not joined " + gitNet
				return false
			}
			for _, s := range subjects {
				if got := nv.Nodes[s.name]; got == nil || got.Status != want {
					last = fmt.Sprintf("%s sees %s as %v", o.name, s.name, got)
					return false
				}
			}
		}
		return true
	}) {
		t.Fatalf("after %v: want %s; %s", converge, want, last)
	}
}

// seedRepo pushes a network of members (and their keys) to a new
// repository whose default branch is branch; it returns the repository and
// the commit.
func seedRepo(t *testing.T, path, branch string, members ...*gitNode) (*gittest.Remote, string) {
	t.Helper()
	r := gittest.NewRemote(t, path, branch)
	writeMembers(r, members...)
	return r, r.CommitAndPush("network " + gitNet)
}

// writeMembers writes config.yml listing members and their pubkeys.
func writeMembers(r *gittest.Remote, members ...*gitNode) {
	var ms []nodetest.NetworkMember
	for _, m := range members {
		ms = append(ms, m.member())
		r.Write("pubkeys/"+m.name+".pub", m.pem)
	}
	r.Write("config.yml", nodetest.NetworkYAML(gitNet, gitHeartbeat, gitSuspect, ms...))
}

// TestGitCloneOnFirstStart: a git-mode node clones the repository (whose
// default branch is not "main") on its first start, exports its own public
// key for the maintainers, and runs the network at the pushed commit.
func TestGitCloneOnFirstStart(t *testing.T) {
	n1, n2 := newGitNode(t, "n1"), newGitNode(t, "n2")
	repo, c1 := seedRepo(t, "", "trunk", n1, n2)
	for _, n := range []*gitNode{n1, n2} {
		n.writeNodeconf(n.gitEntry(repo.Path, ""))
		n.start()
	}
	for _, n := range []*gitNode{n1, n2} {
		// The clone happened in New: the network runs as soon as Run
		// applies the config.
		var nv *health.NetworkView
		if !nodetest.Eventually(converge, func() bool { nv = n.network(gitNet); return nv != nil }) {
			t.Fatalf("%s: network %s never joined", n.name, gitNet)
		}
		if nv.Config.Type != configsync.ConfigGit || nv.Config.Commit != c1 || nv.Config.Ref != "refs/heads/trunk" || nv.Config.Directory != gitDir {
			t.Errorf("%s: config = %+v; want type git, commit %s, ref refs/heads/trunk, directory %s", n.name, nv.Config, c1, gitDir)
		}
		if nv.Config.SyncedAt == nil || nv.Config.LastError != "" {
			t.Errorf("%s: synced_at = %v, last_error = %q; want a sync time and no error", n.name, nv.Config.SyncedAt, nv.Config.LastError)
		}
		exp := filepath.Join(n.dir, ".public_keys", gitDir, n.name+".pub")
		if got, err := os.ReadFile(exp); err != nil || !bytes.Equal(got, n.pem) {
			t.Errorf("%s: %s = %q, %v; want its public key", n.name, exp, got, err)
		}
		checkout := filepath.Join(n.dir, "networks", gitDir)
		if got, err := configsync.ReadCommit(checkout); err != nil || got != c1 {
			t.Errorf("%s: checkout commit = %s, %v; want %s", n.name, got, err, c1)
		}
		// The node writes nothing into the checkout.
		if st, err := configsync.ReadGitState(checkout); err != nil || len(st.LocalChanges) != 0 {
			t.Errorf("%s: checkout local changes = %v, %v; want none", n.name, st.LocalChanges, err)
		}
		e := n.waitEvent("of the first commit", func(e health.Event) bool {
			return e.Kind == "git" && strings.Contains(e.Message, c1[:10])
		})
		if e.Network != gitDir && e.Network != gitNet {
			t.Errorf("%s: event network = %q; want %q", n.name, e.Network, gitNet)
		}
	}
	waitStatus(t, []*gitNode{n1, n2}, []*gitNode{n1, n2}, health.StatusOnline)
}

// TestGitCommitAddsMember: a commit adding a third member and its key is
// applied by the running nodes, and the new member, started afterwards, is
// admitted: everyone sees everyone online.
func TestGitCommitAddsMember(t *testing.T) {
	n1, n2, n3 := newGitNode(t, "n1"), newGitNode(t, "n2"), newGitNode(t, "n3")
	repo, c1 := seedRepo(t, "", "main", n1, n2)
	for _, n := range []*gitNode{n1, n2, n3} {
		n.writeNodeconf(n.gitEntry(repo.Path, ""))
	}
	n1.start()
	n2.start()
	waitStatus(t, []*gitNode{n1, n2}, []*gitNode{n1, n2}, health.StatusOnline)
	for _, n := range []*gitNode{n1, n2} {
		n.waitCommit(c1)
	}

	writeMembers(repo, n1, n2, n3)
	c2 := repo.CommitAndPush("add n3")
	for _, n := range []*gitNode{n1, n2} {
		nv := n.waitCommit(c2)
		if nv.Nodes["n3"] == nil {
			// The commit is recorded before the reload applies it.
			if !nodetest.Eventually(converge, func() bool { return n.network(gitNet).Nodes["n3"] != nil }) {
				t.Fatalf("%s: commit %s recorded but n3 never in the view", n.name, c2)
			}
		}
		n.waitEvent("applied commit", func(e health.Event) bool {
			return e.Kind == "git" && e.Network == gitNet && strings.Contains(e.Message, "applied commit "+c2[:10])
		})
	}
	n3.start()
	all := []*gitNode{n1, n2, n3}
	waitStatus(t, all, all, health.StatusOnline)
	for _, n := range all {
		if nv := n.network(gitNet); nv.Nodes["n3"].PeerID == "" {
			t.Errorf("%s: n3 has no peer id: %+v", n.name, nv.Nodes["n3"])
		}
	}
}

// TestGitNewcomerWaitsForMaintainers: a node that the repository does not
// list yet (as after `meshmon init`) refuses the commit, says why, and
// joins once a commit adds it.
func TestGitNewcomerWaitsForMaintainers(t *testing.T) {
	n1, n2 := newGitNode(t, "n1"), newGitNode(t, "n2")
	repo, _ := seedRepo(t, "", "main", n1)
	for _, n := range []*gitNode{n1, n2} {
		n.writeNodeconf(n.gitEntry(repo.Path, ""))
		n.start()
	}
	e := n2.waitEvent("refusing a commit without n2", func(e health.Event) bool {
		return e.Kind == "git" && e.Severity == health.SeverityError
	})
	for _, want := range []string{"not joined", `"n2"`, "node_config"} {
		if !strings.Contains(e.Message, want) {
			t.Errorf("event %q; want it to contain %q", e.Message, want)
		}
	}
	if nv := n2.network(gitNet); nv != nil {
		t.Fatalf("n2 joined a network that does not list it: %+v", nv)
	}
	if _, err := os.Stat(filepath.Join(n2.dir, ".public_keys", gitDir, "n2.pub")); err != nil {
		t.Errorf("n2's key for the maintainers: %v", err)
	}

	writeMembers(repo, n1, n2)
	c2 := repo.CommitAndPush("add n2")
	n2.waitCommit(c2)
	both := []*gitNode{n1, n2}
	waitStatus(t, both, both, health.StatusOnline)
}

// TestGitInvalidCommitRefused: a pushed commit whose config does not
// validate is refused with an event naming the commit and every problem
// with its line; the old config keeps running; a following good commit is
// applied.
func TestGitInvalidCommitRefused(t *testing.T) {
	n1, n2 := newGitNode(t, "n1"), newGitNode(t, "n2")
	repo, c1 := seedRepo(t, "", "main", n1, n2)
	for _, n := range []*gitNode{n1, n2} {
		n.writeNodeconf(n.gitEntry(repo.Path, ""))
		n.start()
	}
	both := []*gitNode{n1, n2}
	waitStatus(t, both, both, health.StatusOnline)

	bad := fmt.Sprintf(`network_id: %s
node_config:
  - node_id: n1
    url: %s
  - node_id: n2
    url: %s
    colour: red
timing:
  heartbeat: soon
`, gitNet, n1.url, n2.url)
	repo.Write("config.yml", []byte(bad))
	c2 := repo.CommitAndPush("break the config")
	for _, n := range both {
		e := n.waitEvent("refusing the bad commit", func(e health.Event) bool {
			return e.Kind == "git" && strings.Contains(e.Message, c2[:10])
		})
		if e.Severity != health.SeverityError || e.Network != gitNet {
			t.Errorf("%s: event %+v; want severity error on network %s", n.name, e, gitNet)
		}
		for _, want := range []string{"refused", "config.yml:7: node_config[1].colour", "config.yml:9: timing.heartbeat"} {
			if !strings.Contains(e.Message, want) {
				t.Errorf("%s: event message %q; want it to contain %q", n.name, e.Message, want)
			}
		}
		nv := n.network(gitNet)
		if nv.Config.Commit != c1 || !strings.Contains(nv.Config.LastError, c2) {
			t.Errorf("%s: config = %+v; want commit %s and last_error naming %s", n.name, nv.Config, c1, c2)
		}
		if got, err := configsync.ReadCommit(filepath.Join(n.dir, "networks", gitDir)); err != nil || got != c1 {
			t.Errorf("%s: checkout at %s, %v; want it kept at %s", n.name, got, err, c1)
		}
	}
	// The refused commit is fetched again every second; it raises no
	// further event, and the network keeps working.
	waitStatus(t, both, both, health.StatusOnline)
	for _, n := range both {
		refusals := n.node().Events().List(func(e health.Event) bool { return strings.Contains(e.Message, c2[:10]) })
		if len(refusals) != 1 {
			t.Errorf("%s: %d events about %s; want 1: %+v", n.name, len(refusals), c2, refusals)
		}
	}

	// A good commit follows: a fourth member without a key, so that the
	// applied config is visible in the view.
	extra := nodetest.NetworkMember{NodeID: "n9", URL: "http://127.0.0.1:1"}
	repo.Write("config.yml", nodetest.NetworkYAML(gitNet, gitHeartbeat, gitSuspect, n1.member(), n2.member(), extra))
	c3 := repo.CommitAndPush("fix the config, add n9")
	for _, n := range both {
		n.waitCommit(c3)
		if !nodetest.Eventually(converge, func() bool {
			nv := n.network(gitNet)
			return nv.Nodes["n9"] != nil && nv.Config.LastError == ""
		}) {
			t.Fatalf("%s: commit %s not applied: %+v", n.name, c3, n.network(gitNet))
		}
	}
	waitStatus(t, both, both, health.StatusOnline)
}

// TestGitForcePush: a force-push that rewrites history is followed.
func TestGitForcePush(t *testing.T) {
	n1, n2 := newGitNode(t, "n1"), newGitNode(t, "n2")
	repo, c1 := seedRepo(t, "", "main", n1, n2)
	for _, n := range []*gitNode{n1, n2} {
		n.writeNodeconf(n.gitEntry(repo.Path, ""))
		n.start()
	}
	both := []*gitNode{n1, n2}
	waitStatus(t, both, both, health.StatusOnline)

	repo.Write("README.md", []byte("history to be rewritten\n"))
	c2 := repo.CommitAndPush("soon gone")
	for _, n := range both {
		n.waitCommit(c2)
	}
	// Rewrite: c3 replaces c2 on top of c1, and adds a member.
	repo.ResetTo(c1)
	repo.Write("README.md", []byte("the rewritten history\n"))
	repo.Write("config.yml", nodetest.NetworkYAML(gitNet, gitHeartbeat, gitSuspect, n1.member(), n2.member(),
		nodetest.NetworkMember{NodeID: "n9", URL: "http://127.0.0.1:1"}))
	c3 := repo.CommitAndPush("rewritten")
	for _, n := range both {
		n.waitCommit(c3)
		if !nodetest.Eventually(converge, func() bool { return n.network(gitNet).Nodes["n9"] != nil }) {
			t.Fatalf("%s: rewritten commit's config not applied: %+v", n.name, n.network(gitNet))
		}
		got, err := os.ReadFile(filepath.Join(n.dir, "networks", gitDir, "README.md"))
		if err != nil || string(got) != "the rewritten history\n" {
			t.Errorf("%s: README.md = %q, %v; want the rewritten one", n.name, got, err)
		}
		if st, err := configsync.ReadGitState(filepath.Join(n.dir, "networks", gitDir)); err != nil || len(st.LocalChanges) != 0 {
			t.Errorf("%s: checkout local changes = %v, %v; want none", n.name, st.LocalChanges, err)
		}
	}
	waitStatus(t, both, both, health.StatusOnline)
}

// TestGitUnreachableAtStart: a node whose git network cannot be cloned
// starts anyway, runs its local network, says why in an event, and joins
// the git network once the repository exists.
func TestGitUnreachableAtStart(t *testing.T) {
	n1 := newGitNode(t, "n1")
	later := filepath.Join(t.TempDir(), "later.git")
	// A local network of its own.
	local := filepath.Join(n1.dir, "networks", "localnet")
	if err := os.MkdirAll(filepath.Join(local, "pubkeys"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(local, "config.yml"), nodetest.NetworkYAML("localnet", gitHeartbeat, gitSuspect, n1.member()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(local, "pubkeys", "n1.pub"), n1.pem, 0o644); err != nil {
		t.Fatal(err)
	}
	n1.writeNodeconf("  - directory: localnet\n    node_id: n1\n", n1.gitEntry(later, ""))
	n1.start()

	if !nodetest.Eventually(converge, func() bool { return n1.network("localnet") != nil }) {
		t.Fatal("local network not running")
	}
	if nv := n1.network(gitNet); nv != nil {
		t.Fatalf("git network running without a repository: %+v", nv)
	}
	e := n1.waitEvent("about the failed clone", func(e health.Event) bool {
		return e.Kind == "git" && e.Network == gitDir && e.Severity == health.SeverityError
	})
	for _, want := range []string{"cannot clone", "not joined", "retrying every 1s", later, "repository not found"} {
		if !strings.Contains(e.Message, want) {
			t.Errorf("clone event %q; want it to contain %q", e.Message, want)
		}
	}
	if _, err := os.Stat(filepath.Join(n1.dir, "networks", gitDir)); !os.IsNotExist(err) {
		t.Errorf("checkout dir after a failed clone: %v; want none", err)
	}
	// The key for the maintainers is there even though the clone failed.
	if _, err := os.Stat(filepath.Join(n1.dir, ".public_keys", gitDir, "n1.pub")); err != nil {
		t.Errorf("own public key not exported: %v", err)
	}

	_, c1 := seedRepo(t, later, "main", n1)
	n1.waitCommit(c1)
	waitStatus(t, []*gitNode{n1}, []*gitNode{n1}, health.StatusOnline)
	if nv := n1.network("localnet"); nv == nil {
		t.Fatal("local network gone after the git network joined")
	}
}

// TestGitUnreachableDuringSync: when the repository goes away, the
// checkout is kept, an event says so, and the network keeps running; when
// it is back, sync resumes.
func TestGitUnreachableDuringSync(t *testing.T) {
	n1, n2 := newGitNode(t, "n1"), newGitNode(t, "n2")
	repo, c1 := seedRepo(t, "", "main", n1, n2)
	for _, n := range []*gitNode{n1, n2} {
		n.writeNodeconf(n.gitEntry(repo.Path, ""))
		n.start()
	}
	both := []*gitNode{n1, n2}
	waitStatus(t, both, both, health.StatusOnline)

	moved := repo.Path + ".moved"
	if err := os.Rename(repo.Path, moved); err != nil {
		t.Fatal(err)
	}
	for _, n := range both {
		e := n.waitEvent("about the failed fetch", func(e health.Event) bool {
			return e.Kind == "git" && e.Severity == health.SeverityError
		})
		if e.Network != gitNet || !strings.Contains(e.Message, "checkout is kept") {
			t.Errorf("%s: event %+v; want network %s, saying the checkout is kept", n.name, e, gitNet)
		}
		checkout := filepath.Join(n.dir, "networks", gitDir)
		if got, err := configsync.ReadCommit(checkout); err != nil || got != c1 {
			t.Errorf("%s: checkout = %s, %v; want kept at %s", n.name, got, err, c1)
		}
		if _, err := os.Stat(filepath.Join(checkout, "config.yml")); err != nil {
			t.Errorf("%s: checkout's config.yml: %v", n.name, err)
		}
		nv := n.network(gitNet)
		if nv == nil || nv.Config.Commit != c1 || nv.Config.LastError == "" {
			t.Errorf("%s: view %+v; want commit %s with last_error", n.name, nv, c1)
		}
	}
	waitStatus(t, both, both, health.StatusOnline)

	if err := os.Rename(moved, repo.Path); err != nil {
		t.Fatal(err)
	}
	for _, n := range both {
		n.waitEvent("saying sync works again", func(e health.Event) bool {
			return e.Kind == "git" && e.Network == gitNet && strings.Contains(e.Message, "works again")
		})
		if !nodetest.Eventually(converge, func() bool { return n.network(gitNet).Config.LastError == "" }) {
			t.Errorf("%s: last_error stays %q", n.name, n.network(gitNet).Config.LastError)
		}
	}
	repo.Write("README.md", []byte("after the outage\n"))
	c2 := repo.CommitAndPush("after the outage")
	for _, n := range both {
		n.waitCommit(c2)
	}
}

// TestGitRef: with git_ref, the node follows that branch, not the default
// one.
func TestGitRef(t *testing.T) {
	n1, n2 := newGitNode(t, "n1"), newGitNode(t, "n2")
	// main lists n1 only; prod lists both.
	repo, cMain := seedRepo(t, "", "main", n1)
	repo.SwitchTo("prod")
	writeMembers(repo, n1, n2)
	cProd := repo.CommitAndPush("prod: n1 and n2")
	for _, n := range []*gitNode{n1, n2} {
		n.writeNodeconf(n.gitEntry(repo.Path, "prod"))
		n.start()
	}
	both := []*gitNode{n1, n2}
	for _, n := range both {
		nv := n.waitCommit(cProd)
		if nv.Config.Ref != "refs/heads/prod" {
			t.Errorf("%s: ref = %q; want refs/heads/prod", n.name, nv.Config.Ref)
		}
	}
	waitStatus(t, both, both, health.StatusOnline)

	// A commit to main is not followed; the next one to prod is.
	repo.SwitchTo("main")
	repo.Write("README.md", []byte("main only\n"))
	cMain2 := repo.CommitAndPush("main moves")
	repo.SwitchTo("prod")
	repo.Write("README.md", []byte("prod\n"))
	cProd2 := repo.CommitAndPush("prod moves")
	for _, n := range both {
		n.waitCommit(cProd2)
		for _, e := range n.gitEvents() {
			if strings.Contains(e.Message, cMain[:10]) || strings.Contains(e.Message, cMain2[:10]) {
				t.Errorf("%s: event about main's commit: %+v", n.name, e)
			}
		}
	}
	waitStatus(t, both, both, health.StatusOnline)
}

// TestGitLocalChangesAndStaleOwnKey: edits inside a checkout are reported
// and never overwritten; a commit holding a stale key for this node runs
// with a warning instead of being refused.
func TestGitLocalChangesAndStaleOwnKey(t *testing.T) {
	n1 := newGitNode(t, "n1")
	repo, c1 := seedRepo(t, "", "main", n1)
	n1.writeNodeconf(n1.gitEntry(repo.Path, ""))
	n1.start()
	n1.waitCommit(c1)

	// A file added locally: reported at the next sync.
	checkout := filepath.Join(n1.dir, "networks", gitDir)
	readme := filepath.Join(checkout, "LOCAL.md")
	if err := os.WriteFile(readme, []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n1.waitEvent("about the local change", func(e health.Event) bool {
		return e.Kind == "git" && e.Severity == health.SeverityWarning && strings.Contains(e.Message, "LOCAL.md")
	})
	// A commit that would overwrite it is held back, the file kept.
	repo.Write("LOCAL.md", []byte("theirs\n"))
	c2 := repo.CommitAndPush("LOCAL.md upstream")
	n1.waitEvent("about the blocked update", func(e health.Event) bool {
		return e.Kind == "git" && strings.Contains(e.Message, "block updates") && strings.Contains(e.Message, "LOCAL.md")
	})
	if got, _ := os.ReadFile(readme); string(got) != "mine\n" {
		t.Errorf("local file = %q; want it kept", got)
	}
	if got := n1.network(gitNet).Config.Commit; got != c1 {
		t.Errorf("commit = %s; want %s while blocked", got, c1)
	}
	if err := os.Remove(readme); err != nil {
		t.Fatal(err)
	}
	n1.waitCommit(c2)

	// The maintainers hold a stale key for n1: the commit runs, with a
	// warning saying what to send them.
	stale := nodetest.NodePublicKeyPEM(t, t.TempDir())
	repo.Write("pubkeys/n1.pub", stale)
	c3 := repo.CommitAndPush("stale key for n1")
	n1.waitCommit(c3)
	n1.waitEvent("about the stale key", func(e health.Event) bool {
		return e.Severity == health.SeverityWarning && strings.Contains(e.Message, "not this node's key")
	})
	if !nodetest.Eventually(converge, func() bool { return n1.node().ReloadStatus().OK }) {
		t.Errorf("reload status = %+v; want ok", n1.node().ReloadStatus())
	}
}

// testLog sends logs to the test log until the test's cleanup has run.
type testLog struct {
	t   testing.TB
	off *atomic.Bool
}

func (w testLog) Write(p []byte) (int, error) {
	if !w.off.Load() {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}
