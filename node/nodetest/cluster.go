// Package nodetest runs clusters of real meshmon nodes in one process for
// tests: real libp2p hosts and HTTP sidecars on loopback, built through the
// node package exactly as the binary builds them.
package nodetest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"

	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/node"
)

// Options tunes StartCluster.
type Options struct {
	// NetworkID defaults to "test".
	NetworkID string
	// Heartbeat and SuspectAfter default to "250ms" and "1s", fast enough for
	// tests and slow enough for a busy two-core machine.
	Heartbeat, SuspectAfter string
	// Start, when set, says which nodes to start at once (default all).
	Start func(i int) bool
	// LogLevel of the nodes' logs (written to the test log). Default Warn.
	LogLevel slog.Level
	// Logs, when set, also receives every node's logs at every level
	// (e.g. to check what they do not contain).
	Logs io.Writer
	// DiscordWebhooks and Webhooks, when set, are each node's
	// discord_webhook and webhook entries (name → URL), by node index.
	DiscordWebhooks, Webhooks []map[string]string
	// Alerts tunes every node's alert delivery.
	Alerts node.AlertOptions
	// Monitors is the network's monitors list in YAML (node.ClusterSpec).
	Monitors string
	// History tunes every node's history store.
	History node.HistoryOptions
	// Absent is how many more members node_config lists that no node
	// runs (node_ids absent-0001…, each with a key): every other one has
	// a url on a loopback port nobody listens on, the rest none (as
	// behind NAT).
	Absent int
	// AbsentURL, when set, is the url of those absent members that have
	// one, instead of a port nobody listens on (a benchmark counts the
	// fetches there).
	AbsentURL string
}

// Cluster is a set of nodes on one network.
type Cluster struct {
	t     testing.TB
	Names []string
	URLs  []string
	Dirs  []string
	opts  Options

	logOff atomic.Bool

	// mu protects the following fields.
	mu     sync.Mutex
	nodes  []*node.Node
	gaters []*Gater
	lns    []net.Listener
	stops  []func() error
}

// StartCluster writes configs for n nodes and starts them. Everything is
// stopped when the test ends.
func StartCluster(t testing.TB, n int, o Options) *Cluster {
	t.Helper()
	if o.NetworkID == "" {
		o.NetworkID = "test"
	}
	if o.Heartbeat == "" {
		o.Heartbeat = "250ms"
	}
	if o.SuspectAfter == "" {
		o.SuspectAfter = "1s"
	}
	if o.LogLevel == 0 {
		o.LogLevel = slog.LevelWarn
	}
	c := &Cluster{t: t, opts: o, nodes: make([]*node.Node, n), gaters: make([]*Gater, n),
		lns: make([]net.Listener, n), stops: make([]func() error, n)}
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		c.lns[i] = ln
		c.Names = append(c.Names, fmt.Sprintf("n%d", i+1))
		c.URLs = append(c.URLs, "http://"+ln.Addr().String())
		c.gaters[i] = NewGater()
	}
	dirs, err := node.WriteCluster(node.ClusterSpec{
		Dir: t.TempDir(), NetworkID: o.NetworkID, Names: c.Names, URLs: c.URLs,
		Heartbeat: o.Heartbeat, SuspectAfter: o.SuspectAfter,
		DiscordWebhooks: o.DiscordWebhooks, Webhooks: o.Webhooks, Monitors: o.Monitors,
		Absent: absentMembers(t, o.Absent, o.AbsentURL),
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Dirs = dirs
	t.Cleanup(func() { c.logOff.Store(true) })
	t.Cleanup(c.StopAll)
	for i := range n {
		if o.Start == nil || o.Start(i) {
			c.Start(i)
		}
	}
	return c
}

// Start starts node i (again, after Stop or Kill), on the same HTTP address.
func (c *Cluster) Start(i int) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nodes[i] != nil {
		c.t.Fatalf("node %s already running", c.Names[i])
	}
	ln := c.lns[i]
	c.lns[i] = nil
	if ln == nil {
		var err error
		addr := c.URLs[i][len("http://"):]
		// The port was ours a moment ago; the kernel may hold it briefly.
		Eventually(10*time.Second, func() bool {
			ln, err = net.Listen("tcp", addr)
			return err == nil
		})
		if err != nil {
			c.t.Fatalf("restart %s: %v", c.Names[i], err)
		}
	}
	var h slog.Handler = slog.NewTextHandler(testWriter{c.t, &c.logOff}, &slog.HandlerOptions{Level: c.opts.LogLevel})
	if c.opts.Logs != nil {
		h = slog.NewMultiHandler(h, slog.NewTextHandler(c.opts.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	log := slog.New(h).With("test_node", c.Names[i])
	n, err := node.New(context.Background(), node.Options{
		ConfigDir:    c.Dirs[i],
		HTTPListener: ln,
		Logger:       log,
		Gater:        c.gaters[i],
		LeaveGrace:   200 * time.Millisecond,
		Alerts:       c.opts.Alerts,
		History:      c.opts.History,
	})
	if err != nil {
		ln.Close()
		c.t.Fatalf("start %s: %v", c.Names[i], err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	c.nodes[i] = n
	c.stops[i] = func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return fmt.Errorf("node %s did not stop within 30s", c.Names[i])
		}
	}
}

// Node returns node i (nil when stopped).
func (c *Cluster) Node(i int) *node.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i]
}

// Stop stops node i gracefully (it announces that it leaves).
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	c.mu.Lock()
	stop := c.stops[i]
	c.nodes[i], c.stops[i] = nil, nil
	c.mu.Unlock()
	if stop != nil {
		if err := stop(); err != nil {
			c.t.Errorf("stop %s: %v", c.Names[i], err)
		}
	}
}

// Kill stops node i abruptly, as a crash would.
func (c *Cluster) Kill(i int) {
	c.t.Helper()
	c.mu.Lock()
	n, stop := c.nodes[i], c.stops[i]
	c.nodes[i], c.stops[i] = nil, nil
	c.mu.Unlock()
	if n == nil {
		return
	}
	n.Kill()
	if err := stop(); err != nil {
		c.t.Errorf("kill %s: %v", c.Names[i], err)
	}
}

// StopAll stops every running node gracefully.
func (c *Cluster) StopAll() {
	var wg sync.WaitGroup
	for i := range c.Names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Stop(i)
		}()
	}
	wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, ln := range c.lns {
		if ln != nil {
			ln.Close()
			c.lns[i] = nil
		}
	}
}

// Partition cuts every link between the nodes in a and those in b.
func (c *Cluster) Partition(a, b []int) {
	c.t.Helper()
	for _, i := range a {
		for _, j := range b {
			c.cut(i, j)
			c.cut(j, i)
		}
	}
}

func (c *Cluster) cut(i, j int) {
	ni, nj := c.Node(i), c.Node(j)
	if ni == nil || nj == nil {
		c.t.Fatalf("partition: %s or %s is not running", c.Names[i], c.Names[j])
	}
	c.gaters[i].Block(nj.PeerID())
	_ = ni.Host().Libp2p().Network().ClosePeer(nj.PeerID())
}

// Heal removes every cut.
func (c *Cluster) Heal() {
	for _, g := range c.gaters {
		g.UnblockAll()
	}
}

// View returns node i's agreed view of the cluster's network, read through
// its HTTP API as a user would.
func (c *Cluster) View(i int) (*health.NetworkView, error) {
	resp, err := http.Get(c.URLs[i] + "/api/view")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/view: %s", resp.Status)
	}
	var v health.View
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return nil, err
	}
	nv := v.Networks[c.opts.NetworkID]
	if nv == nil {
		return nil, fmt.Errorf("view has no network %q", c.opts.NetworkID)
	}
	return nv, nil
}

// Statuses returns node i's agreed status of every member, by node_id.
func (c *Cluster) Statuses(i int) (map[string]health.Status, error) {
	nv, err := c.View(i)
	if err != nil {
		return nil, err
	}
	out := make(map[string]health.Status, len(nv.Nodes))
	for id, n := range nv.Nodes {
		out[id] = n.Status
	}
	return out, nil
}

// WaitStatus waits until every node in observers sees every node in subjects
// with status want, or fails the test after timeout with the last views.
func (c *Cluster) WaitStatus(observers, subjects []int, want health.Status, timeout time.Duration) {
	c.t.Helper()
	var last string
	ok := Eventually(timeout, func() bool {
		for _, o := range observers {
			st, err := c.Statuses(o)
			if err != nil {
				last = fmt.Sprintf("%s: %v", c.Names[o], err)
				return false
			}
			for _, s := range subjects {
				if st[c.Names[s]] != want {
					last = fmt.Sprintf("%s sees %s as %s (all: %v)", c.Names[o], c.Names[s], st[c.Names[s]], st)
					return false
				}
			}
		}
		return true
	})
	if !ok {
		c.t.Fatalf("after %v: want %s; %s", timeout, want, last)
	}
}

// Eventually polls cond every 50ms until it holds or timeout passes.
func Eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		<-t.C
	}
}

// All returns 0..n-1.
func (c *Cluster) All() []int {
	out := make([]int, len(c.Names))
	for i := range out {
		out[i] = i
	}
	return out
}

// Except returns every index not in skip.
func (c *Cluster) Except(skip ...int) []int {
	var out []int
	for i := range c.Names {
		keep := true
		for _, s := range skip {
			keep = keep && s != i
		}
		if keep {
			out = append(out, i)
		}
	}
	return out
}

// testWriter sends logs to the test log until the test's cleanup has run;
// after that (a straggling libp2p goroutine) they are dropped, since logging
// to a finished test panics.
type testWriter struct {
	t   testing.TB
	off *atomic.Bool
}

func (w testWriter) Write(p []byte) (int, error) {
	if !w.off.Load() {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// absentMembers returns n members that no node runs: every other one with
// url, or by default a url on a loopback port that nobody listens on (one
// taken from the system and closed again), the rest without one.
func absentMembers(t testing.TB, n int, url string) []node.AbsentMember {
	t.Helper()
	if n == 0 {
		return nil
	}
	dead := url
	if dead == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead = "http://" + ln.Addr().String()
		if err := ln.Close(); err != nil {
			t.Fatal(err)
		}
	}
	out := make([]node.AbsentMember, n)
	for i := range out {
		out[i].Name = fmt.Sprintf("absent-%04d", i+1)
		if i%2 == 0 {
			out[i].URL = dead
		}
	}
	return out
}
