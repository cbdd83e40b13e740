//go:build linux

package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meshmon/meshmon/node"
	"github.com/meshmon/meshmon/node/nodetest"
)

// networkID is the network every chaos test runs.
const networkID = "chaos"

// The API shapes these tests read (web/openapi.yaml), decoded on their own
// so that the tests check the JSON contract, not the Go types behind it.
type (
	networkView struct {
		Self  string               `json:"self"`
		Nodes map[string]*nodeView `json:"nodes"`
	}
	nodeView struct {
		Status        string               `json:"status"`
		Confirmed     bool                 `json:"confirmed"`
		AgreedBy      int                  `json:"agreed_by"`
		LiveObservers int                  `json:"live_observers"`
		Observers     map[string]*observer `json:"observers"`
	}
	observer struct {
		Opinion string `json:"opinion"`
	}
	event struct {
		ID        int64     `json:"id"`
		Time      time.Time `json:"time"`
		Network   string    `json:"network"`
		Node      string    `json:"node"`
		Kind      string    `json:"kind"`
		Severity  string    `json:"severity"`
		Message   string    `json:"message"`
		From      string    `json:"from"`
		To        string    `json:"to"`
		Confirmed *bool     `json:"confirmed"`
	}
	eventPage struct {
		Events     []event `json:"events"`
		NextBefore int64   `json:"next_before"`
	}
	clusterList struct {
		Clusters []struct {
			Network string `json:"network"`
			Leader  string `json:"leader"`
			Waiting bool   `json:"waiting"`
		} `json:"clusters"`
	}
)

// proc is one `meshmon run` process.
type proc struct {
	name   string
	dir    string // config dir
	log    string // its stdout and stderr
	api    string // base URL the test reaches its HTTP API at
	argv   []string
	client *http.Client

	// mu protects the following fields.
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the exit, once done is closed
}

// cluster is the processes of one test, all on one network, each with
// the same generic webhook (one notification cluster).
type cluster struct {
	t     testing.TB
	procs []*proc
}

// clusterSpec says how to lay out and start a cluster.
type clusterSpec struct {
	// names are the node_ids.
	names []string
	// urls are the members' url in config.yml.
	urls []string
	// p2pListen are every node's libp2p listen addresses (node.WriteCluster's
	// default when empty).
	p2pListen []string
	// webhook is every node's generic webhook URL.
	webhook string
	// heartbeat, suspectAfter: the network's timing ("" = defaults, 1s/3s).
	heartbeat, suspectAfter string
	// argv returns the command line that runs node i (its config dir given).
	argv func(i int, dir string) []string
	// api is the base URL of node i's HTTP API, as the test reaches it.
	api func(i int) string
	// dial, when set, is how the test connects to node i's API.
	dial func(i int) func(ctx context.Context, network, addr string) (net.Conn, error)
}

// startCluster writes every node's config (node.WriteCluster: key,
// nodeconf.yml with the webhook, the shared config.yml and every member's
// pubkey) and starts every process. Every process is stopped when the test
// ends.
func startCluster(t testing.TB, spec clusterSpec) *cluster {
	t.Helper()
	root := t.TempDir()
	var hooks []map[string]string
	if spec.webhook != "" {
		for range spec.names {
			hooks = append(hooks, map[string]string{"sink": spec.webhook})
		}
	}
	dirs, err := node.WriteCluster(node.ClusterSpec{
		Dir: root, NetworkID: networkID, Names: spec.names, URLs: spec.urls,
		Heartbeat: spec.heartbeat, SuspectAfter: spec.suspectAfter,
		P2PListen: spec.p2pListen, Webhooks: hooks,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t}
	for i, name := range spec.names {
		tr := &http.Transport{MaxIdleConnsPerHost: 2}
		if spec.dial != nil {
			tr.DialContext = spec.dial(i)
		}
		c.procs = append(c.procs, &proc{
			name: name, dir: dirs[i], log: filepath.Join(root, name+".log"),
			api: spec.api(i), argv: spec.argv(i, dirs[i]),
			client: &http.Client{Timeout: 2 * time.Second, Transport: tr},
		})
	}
	t.Cleanup(c.stopAll)
	for _, p := range c.procs {
		c.start(p)
	}
	return c
}

// loopbackCluster starts n nodes (n01…) on 127.0.0.1, each with the
// generic webhook at hook.
func loopbackCluster(t testing.TB, n int, hook, heartbeat, suspectAfter string) *cluster {
	t.Helper()
	ports := nodetest.FreePorts(t, n)
	spec := clusterSpec{webhook: hook, heartbeat: heartbeat, suspectAfter: suspectAfter}
	for i := range n {
		spec.names = append(spec.names, fmt.Sprintf("n%02d", i+1))
		spec.urls = append(spec.urls, fmt.Sprintf("http://127.0.0.1:%d", ports[i]))
	}
	spec.api = func(i int) string { return spec.urls[i] }
	spec.argv = func(i int, dir string) []string {
		return []string{meshmonBin, "run", "--config-dir", dir, "--http-listen", fmt.Sprintf("127.0.0.1:%d", ports[i])}
	}
	return startCluster(t, spec)
}

// start runs p's process. It is killed if the test process dies first.
func (c *cluster) start(p *proc) {
	c.t.Helper()
	logf, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	// MESHMON_RUN_AS_ROOT=1: a node started as root keeps root instead of
	// stepping down to a user who cannot enter the test's temp dirs.
	cmd.Env = append(os.Environ(), "LOG_LEVEL="+logLevel(), "MESHMON_RUN_AS_ROOT=1")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		c.t.Fatalf("start %s: %v", p.name, err)
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logf.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
}

// logLevel is the nodes' LOG_LEVEL: MESHMON_CHAOS_LOG_LEVEL, else INFO.
func logLevel() string {
	if l := os.Getenv("MESHMON_CHAOS_LOG_LEVEL"); l != "" {
		return l
	}
	return "INFO"
}

// pid returns p's process id.
func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

// signal sends sig to the processes idx, as close together as the
// system calls allow.
func (c *cluster) signal(sig syscall.Signal, idx ...int) {
	c.t.Helper()
	for _, i := range idx {
		if err := syscall.Kill(c.procs[i].pid(), sig); err != nil {
			c.t.Fatalf("%s: kill -%d: %v", c.procs[i].name, sig, err)
		}
	}
}

// all returns the indexes of every node.
func (c *cluster) all() []int {
	out := make([]int, len(c.procs))
	for i := range out {
		out[i] = i
	}
	return out
}

// index returns the index of node_id name.
func (c *cluster) index(name string) int {
	for i, p := range c.procs {
		if p.name == name {
			return i
		}
	}
	c.t.Fatalf("no node %s", name)
	return -1
}

// stopAll continues every process (a stopped one cannot act on SIGTERM),
// stops it with SIGTERM, then SIGKILL after 10 s.
func (c *cluster) stopAll() {
	for _, p := range c.procs {
		p.mu.Lock()
		cmd := p.cmd
		p.mu.Unlock()
		if cmd != nil {
			_ = cmd.Process.Signal(syscall.SIGCONT)
			_ = cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, p := range c.procs {
		p.mu.Lock()
		cmd, done := p.cmd, p.done
		p.mu.Unlock()
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

// running tells whether p's process still runs, and if not how it ended.
func (p *proc) running() (bool, string) {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return false, fmt.Sprintf("exited: %v", p.err)
	default:
		return true, ""
	}
}

// get fetches path from p's API within timeout and decodes the JSON.
func (p *proc) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.api+path, nil)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", p.name, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", p.name, path, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s %s: decode: %w", p.name, path, err)
	}
	return nil
}

// view returns p's /api/networks/<id>, within timeout.
func (p *proc) view(timeout time.Duration) (*networkView, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var v networkView
	if err := p.get(ctx, "/api/networks/"+networkID, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// leader returns the leader p's /api/notification_cluster names ("" while
// waiting).
func (p *proc) leader() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var l clusterList
	if err := p.get(ctx, "/api/notification_cluster", &l); err != nil {
		return "", err
	}
	if len(l.Clusters) != 1 {
		return "", fmt.Errorf("%s: want 1 notification cluster, got %d", p.name, len(l.Clusters))
	}
	return l.Clusters[0].Leader, nil
}

// rss returns p's resident set size in bytes.
func (p *proc) rss() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.pid()))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", p.pid())
}

// noteEvery is how often waitFor logs what it still waits for.
const noteEvery = 10 * time.Second

// waitFor polls cond every 200 ms until it holds and returns how long that
// took; after timeout it fails the test with cond's last detail and a
// dump of every node.
func (c *cluster) waitFor(timeout time.Duration, what string, cond func() (bool, string)) time.Duration {
	c.t.Helper()
	took, ok, detail := c.until(timeout, what, cond)
	if !ok {
		c.t.Errorf("%s: not within %s; last: %s", what, timeout, detail)
		c.dump()
		c.t.FailNow()
	}
	return took
}

// until polls cond every 200 ms until it holds or timeout passes, noting
// every 10 s what it still waits for. It returns how long it waited,
// whether cond held, and cond's last detail.
func (c *cluster) until(timeout time.Duration, what string, cond func() (bool, string)) (time.Duration, bool, string) {
	c.t.Helper()
	start := time.Now()
	nextNote := start.Add(noteEvery)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, detail := cond()
		if ok {
			took := time.Since(start)
			c.t.Logf("%s: after %.1fs", what, took.Seconds())
			return took, true, ""
		}
		if time.Now().After(nextNote) {
			c.t.Logf("%s: still waiting after %.0fs: %s", what, time.Since(start).Seconds(), detail)
			nextNote = nextNote.Add(noteEvery)
		}
		if time.Since(start) > timeout {
			return time.Since(start), false, detail
		}
		<-tick.C
	}
}

// statusIs is a waitFor condition: at every observer in obs, every member
// in members has status want.
func (c *cluster) statusIs(obs, members []int, want string) func() (bool, string) {
	return func() (bool, string) {
		var problems []string
		for _, o := range obs {
			v, err := c.procs[o].view(2 * time.Second)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			for _, m := range members {
				name := c.procs[m].name
				if n := v.Nodes[name]; n == nil || n.Status != want {
					got := "absent"
					if n != nil {
						got = n.Status
					}
					problems = append(problems, fmt.Sprintf("%s sees %s %s", c.procs[o].name, name, got))
				}
			}
		}
		return len(problems) == 0, strings.Join(problems, "; ")
	}
}

// waitAllOnline waits until every node sees every node online.
func (c *cluster) waitAllOnline(timeout time.Duration) {
	c.t.Helper()
	c.waitFor(timeout, "every node online at every node", c.statusIs(c.all(), c.all(), "online"))
}

// waitLeader waits until every node names the same alert leader and
// returns its index.
func (c *cluster) waitLeader(timeout time.Duration) int {
	c.t.Helper()
	var leader string
	c.waitFor(timeout, "one alert leader named by every node", func() (bool, string) {
		seen := map[string][]string{}
		for _, p := range c.procs {
			l, err := p.leader()
			if err != nil {
				return false, err.Error()
			}
			seen[l] = append(seen[l], p.name)
		}
		if len(seen) != 1 {
			return false, fmt.Sprintf("leaders named: %v", seen)
		}
		for l := range seen {
			leader = l
		}
		return leader != "", "no leader yet"
	})
	return c.index(leader)
}

// dump logs what every node says and the end of its log.
func (c *cluster) dump() {
	var b strings.Builder
	for _, p := range c.procs {
		ok, how := p.running()
		state := "running"
		if !ok {
			state = how
		}
		fmt.Fprintf(&b, "\n===== %s (%s) =====\n", p.name, state)
		if v, err := p.view(2 * time.Second); err != nil {
			fmt.Fprintf(&b, "view: %v\n", err)
		} else {
			names := make([]string, 0, len(v.Nodes))
			for n := range v.Nodes {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				nv := v.Nodes[n]
				fmt.Fprintf(&b, "  %-4s %-8s %d/%d confirmed=%t\n", n, nv.Status, nv.AgreedBy, nv.LiveObservers, nv.Confirmed)
			}
		}
		b.WriteString("log (last 30 lines):\n")
		b.WriteString(tail(p.log, 30))
	}
	c.t.Log(b.String())
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
