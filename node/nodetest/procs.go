package nodetest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/node"
	"github.com/meshmon/meshmon/p2p"
)

// Binary returns the meshmon binary to run: $MESHMON_BIN if set, else one
// built from ./cmd/meshmon of the module into a temp dir removed when t
// ends (BuildBinary).
func Binary(t testing.TB) string {
	t.Helper()
	bin, dir, err := BuildBinary("meshmon-test-")
	if err != nil {
		t.Fatal(err)
	}
	if dir != "" {
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	return bin
}

// BuildBinary returns $MESHMON_BIN if set (dir ""), else builds
// ./cmd/meshmon of the module, static (CGO off) as in the image, into a new
// temp dir named with prefix, which the caller removes.
func BuildBinary(prefix string) (bin, dir string, err error) {
	if b := os.Getenv("MESHMON_BIN"); b != "" {
		return b, "", nil
	}
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", "", fmt.Errorf("go list -m: %w", err)
	}
	dir, err = os.MkdirTemp("", prefix)
	if err != nil {
		return "", "", err
	}
	bin = filepath.Join(dir, "meshmon")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/meshmon")
	cmd.Dir = strings.TrimSpace(string(root))
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", "", fmt.Errorf("go build ./cmd/meshmon: %w\n%s", err, out)
	}
	return bin, dir, nil
}

// FreePorts reserves n loopback TCP ports and releases them for processes.
// They are taken below the system's ephemeral range (ip_local_port_range),
// where no listener on port 0 and no outgoing connection of another test
// can be given one of them between their release and the process's bind.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	low := ephemeralLow()
	lns := make([]net.Listener, 0, n)
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			t.Fatalf("no %d free loopback ports below %d after %d tries", n, low, tries)
		}
		port := freeBase + rand.IntN(low-freeBase)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // taken: try another
		}
		lns = append(lns, ln)
		ports = append(ports, port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// freeBase is the lowest port FreePorts hands out.
const freeBase = 20000

// ephemeralLow is the first port of the system's ephemeral range, or 32768
// (Linux's default) where it cannot be read or leaves too little room.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil && v > freeBase+1000 {
				return v
			}
		}
	}
	return 32768
}

// ProcOptions tunes StartProcs.
type ProcOptions struct {
	// NetworkID defaults to "proc".
	NetworkID string
	// Heartbeat and SuspectAfter; empty means the network defaults.
	Heartbeat, SuspectAfter string
	// LogLevel is the processes' LOG_LEVEL (default WARN).
	LogLevel string
}

// Procs is a cluster of `meshmon run` processes on loopback.
type Procs struct {
	t     testing.TB
	bin   string
	Names []string
	URLs  []string
	Dirs  []string
	ports []int
	opts  ProcOptions

	// mu protects the following fields.
	mu    sync.Mutex
	cmds  []*exec.Cmd
	waits []chan struct{}
}

// StartProcs writes configs for n nodes and starts one process per node.
// Every process is stopped when the test ends.
func StartProcs(t testing.TB, bin string, n int, o ProcOptions) *Procs {
	t.Helper()
	if o.NetworkID == "" {
		o.NetworkID = "proc"
	}
	if o.LogLevel == "" {
		o.LogLevel = "WARN"
	}
	p := &Procs{t: t, bin: bin, opts: o, ports: FreePorts(t, n),
		cmds: make([]*exec.Cmd, n), waits: make([]chan struct{}, n)}
	for i := range n {
		p.Names = append(p.Names, fmt.Sprintf("p%02d", i+1))
		p.URLs = append(p.URLs, fmt.Sprintf("http://127.0.0.1:%d", p.ports[i]))
	}
	dirs, err := node.WriteCluster(node.ClusterSpec{
		Dir: t.TempDir(), NetworkID: o.NetworkID, Names: p.Names, URLs: p.URLs,
		Heartbeat: o.Heartbeat, SuspectAfter: o.SuspectAfter,
	})
	if err != nil {
		t.Fatal(err)
	}
	p.Dirs = dirs
	t.Cleanup(p.stopAll)
	for i := range n {
		p.Start(i)
	}
	return p
}

// Start (re)starts process i.
func (p *Procs) Start(i int) {
	p.t.Helper()
	cmd := exec.Command(p.bin, "run", "--config-dir", p.Dirs[i],
		"--http-listen", fmt.Sprintf("127.0.0.1:%d", p.ports[i]))
	// Tests run as root in CI. Outside the image root stays root anyway;
	// MESHMON_RUN_AS_ROOT=1 keeps it so should the tests run where
	// MESHMON_STEP_DOWN is set, as the user who would be stepped down to
	// could not enter the test's 0700 temp dirs.
	cmd.Env = append(os.Environ(), "LOG_LEVEL="+p.opts.LogLevel, "MESHMON_RUN_AS_ROOT=1")
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	p.mu.Lock()
	p.cmds[i], p.waits[i] = cmd, done
	p.mu.Unlock()
}

// Signal sends sig to process i.
func (p *Procs) Signal(i int, sig syscall.Signal) {
	p.t.Helper()
	p.mu.Lock()
	cmd := p.cmds[i]
	p.mu.Unlock()
	if err := cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %s: %v", p.Names[i], err)
	}
}

// Wait waits until process i has exited.
func (p *Procs) Wait(i int, timeout time.Duration) {
	p.t.Helper()
	p.mu.Lock()
	done := p.waits[i]
	p.mu.Unlock()
	select {
	case <-done:
	case <-time.After(timeout):
		p.t.Fatalf("%s did not exit within %s", p.Names[i], timeout)
	}
}

func (p *Procs) stopAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, cmd := range p.cmds {
		if cmd == nil {
			continue
		}
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.waits[i]:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-p.waits[i]
		}
	}
}

// View fetches process i's /api/view for the cluster's network.
func (p *Procs) View(i int) (*health.NetworkView, error) {
	var v health.View
	if err := GetJSON(p.URLs[i]+"/api/view", &v); err != nil {
		return nil, err
	}
	nv := v.Networks[p.opts.NetworkID]
	if nv == nil {
		return nil, fmt.Errorf("%s: network %s not in view", p.Names[i], p.opts.NetworkID)
	}
	return nv, nil
}

// Statuses returns process i's agreed status of every node.
func (p *Procs) Statuses(i int) (map[string]health.Status, error) {
	nv, err := p.View(i)
	if err != nil {
		return nil, err
	}
	out := make(map[string]health.Status, len(nv.Nodes))
	for id, n := range nv.Nodes {
		out[id] = n.Status
	}
	return out, nil
}

// Agree reports whether every observer sees every subject with status want.
func (p *Procs) Agree(observers, subjects []int, want health.Status) bool {
	for _, o := range observers {
		st, err := p.Statuses(o)
		if err != nil {
			return false
		}
		for _, s := range subjects {
			if st[p.Names[s]] != want {
				return false
			}
		}
	}
	return true
}

// WaitAgree waits until Agree holds, failing the test after timeout.
func (p *Procs) WaitAgree(observers, subjects []int, want health.Status, timeout time.Duration) {
	p.t.Helper()
	if !Eventually(timeout, func() bool { return p.Agree(observers, subjects, want) }) {
		views := map[string]any{}
		for _, o := range observers {
			st, err := p.Statuses(o)
			if err != nil {
				views[p.Names[o]] = err.Error()
			} else {
				views[p.Names[o]] = st
			}
		}
		p.t.Fatalf("after %s: want %v %s; views: %v", timeout, subjects, want, views)
	}
}

// P2P fetches process i's /api/p2p.
func (p *Procs) P2P(i int) (p2p.P2PInfo, error) {
	var info p2p.P2PInfo
	err := GetJSON(p.URLs[i]+"/api/p2p", &info)
	return info, err
}

// RSS returns process i's resident set size in bytes.
func (p *Procs) RSS(i int) (int64, error) {
	p.mu.Lock()
	pid := p.cmds[i].Process.Pid
	p.mu.Unlock()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
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
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

// GetJSON fetches url (within 2 s) and decodes its 200 answer into v.
func GetJSON(url string, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
