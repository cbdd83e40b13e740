//go:build linux

package nat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meshmon/meshmon/internal/netlab"
)

// networkID is the network every test runs.
const networkID = "nat"

// httpPort and p2pPort are the same for every node: each has its own
// namespace.
const (
	httpPort = 8000
	p2pPort  = 4001
)

// The API shapes these tests read: web/openapi.yaml, decoded here on their
// own so that the tests check the JSON contract, not the Go types behind it.
type (
	p2pInfo struct {
		PeerID       string   `json:"peer_id"`
		Addrs        []string `json:"addrs"`
		Reachability string   `json:"reachability"`
		RelayService *bool    `json:"relay_service"`
		HolePunching string   `json:"hole_punching"`
	}
	view struct {
		Networks map[string]*networkView `json:"networks"`
	}
	networkView struct {
		NetworkID   string               `json:"network_id"`
		Self        string               `json:"self"`
		Nodes       map[string]*nodeView `json:"nodes"`
		Connections []edge               `json:"connections"`
	}
	nodeView struct {
		Status        string               `json:"status"`
		Confirmed     bool                 `json:"confirmed"`
		AgreedBy      int                  `json:"agreed_by"`
		LiveObservers int                  `json:"live_observers"`
		Reachability  string               `json:"reachability"`
		Observers     map[string]*observer `json:"observers"`
	}
	observer struct {
		Opinion   string  `json:"opinion"`
		RTTMs     float64 `json:"rtt_ms"`
		Connected bool    `json:"connected"`
		Relayed   bool    `json:"relayed"`
	}
	edge struct {
		Src     string  `json:"src"`
		Dst     string  `json:"dst"`
		RTTMs   float64 `json:"rtt_ms"`
		Status  string  `json:"status"`
		Relayed bool    `json:"relayed"`
	}
)

// edge returns the directed edge src → dst of the view, if listed.
func (v *networkView) edge(src, dst string) (edge, bool) {
	for _, e := range v.Connections {
		if e.Src == src && e.Dst == dst {
			return e, true
		}
	}
	return edge{}, false
}

// member is one configured member of the network.
type member struct {
	site
	url          string // "" for a NATed node
	reachability string // written to config.yml when not ""
}

// node is one `meshmon run` process in its namespace.
type node struct {
	member
	dir    string // config dir
	log    string // stdout+stderr of the process
	client *http.Client

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the exit, once done is closed
}

// cluster is the nodes of one test.
type cluster struct {
	t     *testing.T
	tp    *topology
	nodes []*node
}

// startCluster writes a config dir per member with the binary itself
// (`meshmon init`: nodeconf.yml, the node key, its pubkey), then one shared
// config.yml and every member's pubkey into each, and starts every node in
// its namespace. Every process is stopped when the test ends.
func startCluster(t *testing.T, tp *topology, members []member) *cluster {
	t.Helper()
	c := &cluster{t: t, tp: tp}
	root := t.TempDir()
	pubs := map[string][]byte{}
	for _, m := range members {
		dir := filepath.Join(root, m.name)
		cmd := exec.Command(meshmonBin, "init", "--config-dir", dir, "--node-id", m.name, "--network", networkID)
		cmd.Env = meshmonEnv()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("meshmon init %s: %v\n%s", m.name, err, out)
		}
		pub, err := os.ReadFile(filepath.Join(dir, "networks", networkID, "pubkeys", m.name+".pub"))
		if err != nil {
			t.Fatalf("meshmon init %s wrote no pubkey: %v", m.name, err)
		}
		pubs[m.name] = pub
		nsPath := netlab.Path(m.ns)
		c.nodes = append(c.nodes, &node{
			member: m, dir: dir, log: filepath.Join(root, m.name+".log"),
			client: &http.Client{Timeout: 4 * time.Second, Transport: &http.Transport{
				DisableKeepAlives: true,
				DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
					return netlab.DialIn(ctx, nsPath, network, addr)
				},
			}},
		})
	}
	var conf bytes.Buffer
	fmt.Fprintf(&conf, "network_id: %s\nnode_config:\n", networkID)
	for _, m := range members {
		fmt.Fprintf(&conf, "  - node_id: %s\n", m.name)
		if m.url != "" {
			fmt.Fprintf(&conf, "    url: %s\n", m.url)
		}
		if m.reachability != "" {
			fmt.Fprintf(&conf, "    reachability: %s\n", m.reachability)
		}
	}
	for _, n := range c.nodes {
		netDir := filepath.Join(n.dir, "networks", networkID)
		if err := os.WriteFile(filepath.Join(netDir, "config.yml"), conf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		for name, pub := range pubs {
			if err := os.WriteFile(filepath.Join(netDir, "pubkeys", name+".pub"), pub, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("network config.yml:\n%s", conf.String())
	t.Cleanup(c.stopAll)
	for _, n := range c.nodes {
		c.start(n)
	}
	return c
}

// start runs `ip netns exec <ns> meshmon run` for n. ip execs meshmon in
// place, so the process is meshmon itself; it is killed if the test
// process dies before stopping it.
func (c *cluster) start(n *node) {
	c.t.Helper()
	any6, any4 := "/ip6/::", "/ip4/0.0.0.0"
	base := any4
	if c.tp.plan.v6 {
		base = any6
	}
	logf, err := os.OpenFile(n.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", n.ns, meshmonBin, "run",
		"--config-dir", n.dir,
		"--http-listen", fmt.Sprintf(":%d", httpPort),
		"--p2p-listen", fmt.Sprintf("%s/tcp/%d", base, p2pPort),
		"--p2p-listen", fmt.Sprintf("%s/udp/%d/quic-v1", base, p2pPort),
	)
	cmd.Env = append(meshmonEnv(), "LOG_LEVEL="+logLevel())
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		c.t.Fatalf("start %s: %v", n.name, err)
	}
	done := make(chan struct{})
	n.mu.Lock()
	n.cmd, n.done = cmd, done
	n.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logf.Close()
		n.mu.Lock()
		n.err = err
		n.mu.Unlock()
		close(done)
	}()
}

// meshmonEnv is the environment of every meshmon command the tests run.
// MESHMON_RUN_AS_ROOT=1: meshmon keeps the test's root instead of stepping
// down to the config dir's owner (as the Docker image does), so it can use
// the test's private temp dirs.
func meshmonEnv() []string {
	return append(os.Environ(), "MESHMON_RUN_AS_ROOT=1")
}

// logLevel is the nodes' LOG_LEVEL: MESHMON_NAT_LOG_LEVEL, else INFO.
func logLevel() string {
	if l := os.Getenv("MESHMON_NAT_LOG_LEVEL"); l != "" {
		return l
	}
	return "INFO"
}

// running tells whether n's process is still running, and if not how it
// ended.
func (n *node) running() (bool, string) {
	n.mu.Lock()
	done := n.done
	n.mu.Unlock()
	select {
	case <-done:
		n.mu.Lock()
		defer n.mu.Unlock()
		return false, fmt.Sprintf("exited: %v", n.err)
	default:
		return true, ""
	}
}

// stopAll stops every node with SIGTERM (a graceful leave), then SIGKILL
// after 10 s.
func (c *cluster) stopAll() {
	for _, n := range c.nodes {
		n.mu.Lock()
		cmd := n.cmd
		n.mu.Unlock()
		if cmd != nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, n := range c.nodes {
		n.mu.Lock()
		cmd, done := n.cmd, n.done
		n.mu.Unlock()
		if cmd == nil {
			continue
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
}

// get fetches path from n's HTTP API (from inside n's namespace) and
// decodes the JSON into v.
func (n *node) get(path string, v any) error {
	body, err := n.getRaw(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s %s: decode: %w", n.name, path, err)
	}
	return nil
}

func (n *node) getRaw(path string) ([]byte, error) {
	resp, err := n.client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", httpPort, path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", n.name, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s: %s", n.name, path, resp.Status, body)
	}
	return body, nil
}

// view returns n's /api/networks/<id>.
func (n *node) view() (*networkView, error) {
	var v networkView
	if err := n.get("/api/networks/"+networkID, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// p2p returns n's /api/p2p.
func (n *node) p2p() (*p2pInfo, error) {
	var p p2pInfo
	if err := n.get("/api/p2p", &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// holePunching is a condition for waitFor: every node named reports
// hole_punching state in its /api/p2p.
func (c *cluster) holePunching(state string, names ...string) func() (bool, string) {
	return func() (bool, string) {
		var problems []string
		for _, name := range names {
			p, err := c.byName(name).p2p()
			if err != nil {
				return false, err.Error()
			}
			if p.HolePunching != state {
				problems = append(problems, fmt.Sprintf("%s: hole_punching %q", name, p.HolePunching))
			}
		}
		return len(problems) == 0, strings.Join(problems, "; ")
	}
}

// byName returns the node with node_id name.
func (c *cluster) byName(name string) *node {
	for _, n := range c.nodes {
		if n.name == name {
			return n
		}
	}
	c.t.Fatalf("no node %s", name)
	return nil
}

// names returns the node_ids in cluster order.
func (c *cluster) names() []string {
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.name
	}
	return out
}

// noteEvery is how often waitFor logs what it still waits for.
var noteEvery = 10 * time.Second

// waitFor polls cond every 500 ms until it holds, noting every 10 s what
// it still waits for; after timeout it fails the test with cond's last
// detail and a dump of every node.
func (c *cluster) waitFor(timeout time.Duration, what string, cond func() (bool, string)) {
	c.t.Helper()
	start := time.Now()
	nextNote := start.Add(noteEvery)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, detail := cond()
		if ok {
			c.t.Logf("%s: after %.1fs", what, time.Since(start).Seconds())
			return
		}
		if time.Now().After(nextNote) {
			c.t.Logf("%s: still waiting after %.0fs: %s", what, time.Since(start).Seconds(), detail)
			nextNote = nextNote.Add(noteEvery)
		}
		if time.Since(start) > timeout {
			c.t.Errorf("%s: not within %s; last: %s", what, timeout, detail)
			c.dump()
			c.t.FailNow()
		}
		<-tick.C
	}
}

// forEachView applies check to every node's current view; the detail
// lists each view's problem, by node.
func (c *cluster) forEachView(check func(n *node, v *networkView) string) (bool, string) {
	var problems []string
	for _, n := range c.nodes {
		v, err := n.view()
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if problem := check(n, v); problem != "" {
			problems = append(problems, fmt.Sprintf("in %s's view: %s", n.name, problem))
		}
	}
	return len(problems) == 0, strings.Join(problems, "; ")
}

// dump logs what every node says and the end of its log.
func (c *cluster) dump() {
	var b strings.Builder
	for _, n := range c.nodes {
		ok, how := n.running()
		state := "running"
		if !ok {
			state = how
		}
		fmt.Fprintf(&b, "\n===== %s (namespace %s, %s, %s) =====\n", n.name, n.ns, n.ip, state)
		if body, err := n.getRaw("/api/p2p"); err != nil {
			fmt.Fprintf(&b, "/api/p2p: %v\n", err)
		} else {
			var compact bytes.Buffer
			if json.Compact(&compact, body) != nil {
				compact.Reset()
				compact.Write(bytes.TrimSpace(body))
			}
			fmt.Fprintf(&b, "/api/p2p: %s\n", compact.String())
		}
		if v, err := n.view(); err != nil {
			fmt.Fprintf(&b, "/api/networks/%s: %v\n", networkID, err)
		} else {
			b.WriteString(summarize(v))
		}
		if punches := grepLog(n.log, "hole punch"); punches != "" {
			b.WriteString("hole punching (every line of the log):\n")
			b.WriteString(punches)
		}
		b.WriteString("log (last 60 lines):\n")
		b.WriteString(tail(n.log, 60))
	}
	c.t.Log(b.String())
}

// grepLog returns the lines of the log at path that contain s.
func grepLog(path, s string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error() + "\n"
	}
	var b strings.Builder
	for line := range strings.Lines(string(data)) {
		if strings.Contains(line, s) {
			b.WriteString(line)
		}
	}
	return b.String()
}

// summarize prints a view as one line per node and per edge.
func summarize(v *networkView) string {
	var b strings.Builder
	names := make([]string, 0, len(v.Nodes))
	for name := range v.Nodes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		nv := v.Nodes[name]
		fmt.Fprintf(&b, "  node %-8s %-8s %d/%d reach=%q observers:", name, nv.Status, nv.AgreedBy, nv.LiveObservers, nv.Reachability)
		obs := make([]string, 0, len(nv.Observers))
		for o := range nv.Observers {
			obs = append(obs, o)
		}
		sort.Strings(obs)
		for _, o := range obs {
			ov := nv.Observers[o]
			fmt.Fprintf(&b, " %s=%s/%.1fms/conn=%t/relayed=%t", o, ov.Opinion, ov.RTTMs, ov.Connected, ov.Relayed)
		}
		b.WriteString("\n")
	}
	edges := slices.Clone(v.Connections)
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].Src != edges[j].Src {
			return edges[i].Src < edges[j].Src
		}
		return edges[i].Dst < edges[j].Dst
	})
	for _, e := range edges {
		fmt.Fprintf(&b, "  edge %s -> %s %s %.2fms relayed=%t\n", e.Src, e.Dst, e.Status, e.RTTMs, e.Relayed)
	}
	return b.String()
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error() + "\n"
	}
	lines := strings.SplitAfter(string(data), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}
