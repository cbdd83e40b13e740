// Package docker holds the Docker end-to-end tests: the real image, real
// containers on a user-defined network, driven through the docker CLI and
// observed through each node's HTTP API on a port published on 127.0.0.1.
//
// They need a running Docker engine and are off unless MESHMON_E2E_DOCKER=1
// (`make e2e` sets it). MESHMON_IMAGE names the image to test; when unset the
// test builds one with `make docker`. Every container and network the test
// creates carries the label meshmon-e2e and is removed when the test ends,
// pass or fail (and any left over by a killed earlier run is removed at start).
package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/node"
)

const label = "meshmon-e2e"

var (
	dockerBin = "docker"
	image     string
	runID     = fmt.Sprintf("%d", os.Getpid())
)

func TestMain(m *testing.M) {
	if os.Getenv("MESHMON_E2E_DOCKER") != "1" {
		fmt.Println("docker e2e: skipped; set MESHMON_E2E_DOCKER=1 (make e2e) to run against a Docker engine")
		os.Exit(0)
	}
	if b := os.Getenv("MESHMON_DOCKER"); b != "" {
		dockerBin = b
	}
	if out, err := exec.Command(dockerBin, "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "docker e2e: no Docker engine (%v): %s\nstart dockerd (see .ci/run) or unset MESHMON_E2E_DOCKER\n", err, out)
		os.Exit(1)
	}
	removeLeftovers()
	image = os.Getenv("MESHMON_IMAGE")
	if image == "" {
		image = "meshmon:e2e"
		root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
		if err != nil {
			fmt.Fprintln(os.Stderr, "docker e2e: go list -m:", err)
			os.Exit(1)
		}
		cmd := exec.Command("make", "-C", strings.TrimSpace(string(root)), "docker", "IMAGE="+image, "DOCKER="+dockerBin)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "docker e2e: make docker:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	removeLeftovers()
	os.Exit(code)
}

// removeLeftovers removes every container and network this test ever
// created (by label), e.g. after a run killed by -timeout, whose cleanups
// never ran.
func removeLeftovers() {
	out, _ := exec.Command(dockerBin, "ps", "-aq", "--filter", "label="+label).Output()
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		_ = exec.Command(dockerBin, append([]string{"rm", "-f", "-v"}, ids...)...).Run()
	}
	out, _ = exec.Command(dockerBin, "network", "ls", "-q", "--filter", "label="+label).Output()
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		_ = exec.Command(dockerBin, append([]string{"network", "rm"}, ids...)...).Run()
	}
}

// docker runs the docker CLI in dir ("" for the current one) and returns its
// trimmed combined output.
func docker(dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, dockerBin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	s := strings.TrimSpace(string(out))
	if err != nil {
		return s, fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, s)
	}
	return s, nil
}

func mustDocker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := docker("", args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// waitFor polls cond until it holds, failing the test after timeout with
// the last detail cond gave.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, detail := cond()
		if ok {
			t.Logf("%s: after %.1fs", what, time.Since(start).Seconds())
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last: %s", what, timeout, detail)
		}
		<-tick.C
	}
}

// container is one container the test started.
type container struct {
	name string
	mu   sync.Mutex
	url  string // http://127.0.0.1:<published port>, "" until known
}

// baseURL returns the container's published HTTP port on 127.0.0.1.
func (c *container) baseURL() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.url != "" {
		return c.url, nil
	}
	out, err := docker("", "port", c.name, "8000/tcp")
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "127.0.0.1:") {
			c.url = "http://" + strings.TrimSpace(l)
			return c.url, nil
		}
	}
	return "", fmt.Errorf("no 127.0.0.1 port for %s: %q", c.name, out)
}

// forget drops the cached port: a restarted container gets a new one.
func (c *container) forget() {
	c.mu.Lock()
	c.url = ""
	c.mu.Unlock()
}

func (c *container) getJSON(path string, v any) error {
	base, err := c.baseURL()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func (c *container) state(field string) string {
	out, _ := docker("", "inspect", "--format", "{{"+field+"}}", c.name)
	return out
}

// cleanup removes the containers and network when the test ends, after
// printing the containers' logs if it failed.
func cleanup(t *testing.T, network string, cs ...*container) {
	t.Cleanup(func() {
		for _, c := range cs {
			if t.Failed() {
				logs, _ := docker("", "logs", "--tail", "60", c.name)
				t.Logf("--- logs of %s (%s, health %s):\n%s", c.name, c.state(".State.Status"), c.state("if .State.Health}}{{.State.Health.Status}}{{end"), logs)
			}
			_, _ = docker("", "rm", "-f", "-v", c.name)
		}
		if network != "" {
			_, _ = docker("", "network", "rm", network)
		}
	})
}

// hostUser is the --user the containers run as, so that the files they
// write into the test's temp dirs belong to whoever runs the test.
func hostUser() string { return fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()) }

// TestDockerCluster runs three nodes in containers on a user-defined
// network, with configs written by the test (urls http://<container>:8000),
// and checks what the other nodes agree on when one is stopped, killed,
// and cut off from the network and reconnected.
func TestDockerCluster(t *testing.T) {
	network := "meshmon-e2e-" + runID
	names := []string{network + "-n1", network + "-n2", network + "-n3"}
	urls := make([]string, len(names))
	for i, n := range names {
		urls[i] = "http://" + n + ":8000"
	}
	// The temp dir first: cleanups run last-in first-out, so the
	// containers are removed before the dirs they have mounted.
	base := t.TempDir()
	cs := make([]*container, len(names))
	for i, n := range names {
		cs[i] = &container{name: n}
	}
	cleanup(t, network, cs...)

	dirs, err := node.WriteCluster(node.ClusterSpec{
		Dir: base, NetworkID: "e2e", Names: names, URLs: urls,
		Heartbeat: "500ms", SuspectAfter: "2s",
		P2PListen: []string{"/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	mustDocker(t, "network", "create", "--label", label, network)

	for i, c := range cs {
		args := []string{"run", "-d", "--name", c.name, "--hostname", c.name, "--network", network,
			"--label", label, "-e", "LOG_LEVEL=INFO",
			"-p", "127.0.0.1::8000", "-v", dirs[i] + ":/app/config"}
		// Node 1 runs without --user, as the quick start does: it starts
		// as root and steps down to the owner of its config dir (as root,
		// the test gives the dir to 10001, the image's user). The others
		// run as the caller with --user.
		switch {
		case i > 0:
			args = append(args, "--user", hostUser())
		case os.Getuid() == 0:
			if err := chownR(dirs[i], 10001, 10001); err != nil {
				t.Fatal(err)
			}
		}
		mustDocker(t, append(args, image)...)
	}

	all := []int{0, 1, 2}
	waitStatus(t, cs, names, all, all, health.StatusOnline, 90*time.Second)
	waitFor(t, 60*time.Second, "HEALTHCHECK healthy on every container", func() (bool, string) {
		var states []string
		ok := true
		for _, c := range cs {
			s := c.state(".State.Health.Status")
			states = append(states, c.name+"="+s)
			ok = ok && s == "healthy"
		}
		return ok, strings.Join(states, " ")
	})

	// docker network disconnect: the process runs on, unreachable.
	t.Log("docker network disconnect n3: want offline, then online after reconnect")
	mustDocker(t, "network", "disconnect", network, names[2])
	cs[2].forget()
	waitStatus(t, cs, names, []int{0, 1}, []int{2}, health.StatusOffline, 30*time.Second)
	if s := cs[2].state(".State.Status"); s != "running" {
		t.Errorf("n3 is %s while disconnected; want running", s)
	}
	mustDocker(t, "network", "connect", network, names[2])
	cs[2].forget()
	waitStatus(t, cs, names, all, all, health.StatusOnline, 60*time.Second)

	// docker kill: SIGKILL, no goodbye; a restart brings it back.
	t.Log("docker kill n3: want offline, then online after docker start")
	mustDocker(t, "kill", names[2])
	waitStatus(t, cs, names, []int{0, 1}, []int{2}, health.StatusOffline, 30*time.Second)
	waitStatus(t, cs, names, []int{0, 1}, []int{0, 1}, health.StatusOnline, 10*time.Second)
	mustDocker(t, "start", names[2])
	cs[2].forget()
	waitStatus(t, cs, names, all, all, health.StatusOnline, 60*time.Second)

	// docker stop: SIGTERM, the node says it leaves and exits 0 well
	// before Docker's 10 s SIGKILL. Last, because a node restarted right
	// after a graceful stop is not seen online again for about a minute
	// (a known bug, reported with issue 8; not a Docker matter).
	t.Log("docker stop n3: want left")
	start := time.Now()
	mustDocker(t, "stop", names[2])
	if took := time.Since(start); took > 9*time.Second {
		t.Errorf("docker stop took %s: the node did not exit on SIGTERM before the 10s kill", took)
	}
	if code := cs[2].state(".State.ExitCode"); code != "0" {
		t.Errorf("exit code after docker stop = %s; want 0", code)
	}
	waitStatus(t, cs, names, []int{0, 1}, []int{2}, health.StatusLeft, 30*time.Second)
	waitStatus(t, cs, names, []int{0, 1}, []int{0, 1}, health.StatusOnline, 10*time.Second)
}

// waitStatus waits until every observer's /api/view shows every subject
// with status want.
func waitStatus(t *testing.T, cs []*container, names []string, observers, subjects []int, want health.Status, timeout time.Duration) {
	t.Helper()
	var subj []string
	for _, s := range subjects {
		subj = append(subj, names[s])
	}
	waitFor(t, timeout, fmt.Sprintf("%v %s", subj, want), func() (bool, string) {
		var views []string
		ok := true
		for _, o := range observers {
			var v health.View
			if err := cs[o].getJSON("/api/view", &v); err != nil {
				views = append(views, fmt.Sprintf("%s: %v", names[o], err))
				ok = false
				continue
			}
			nv := v.Networks["e2e"]
			if nv == nil {
				views = append(views, names[o]+": no network e2e")
				ok = false
				continue
			}
			st := map[string]health.Status{}
			for _, s := range subjects {
				if n := nv.Nodes[names[s]]; n != nil {
					st[names[s]] = n.Status
				}
				if st[names[s]] != want {
					ok = false
				}
			}
			views = append(views, fmt.Sprintf("%s sees %v", names[o], st))
		}
		return ok, strings.Join(views, "; ")
	})
}

func chownR(dir string, uid, gid int) error {
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// TestQuickStart runs the spec's Docker quick start as written (mkdir
// config, the two-line nodeconf.yml, docker run -p 8000:8000 -v
// ./config:/app/config meshmon:latest, no --user), with the port published
// on 127.0.0.1 and chosen by Docker, then the other ways docs/docker.md
// describes to choose who owns the files.
func TestQuickStart(t *testing.T) {
	// The quick start's nodeconf.yml, verbatim.
	const nodeconf = "networks:\n  - directory: my-network\n    node_id: my-node\n"
	clientVersion, _ := docker("", "version", "--format", "{{.Client.Version}}")
	major, _ := strconv.Atoi(strings.SplitN(clientVersion, ".", 2)[0])

	// The host user who made ./config: the caller, or, when the test runs
	// as root (CI), a user with uid 1000 as on most desktops.
	hostUID, hostGID := os.Getuid(), os.Getgid()
	if hostUID == 0 {
		hostUID, hostGID = 1000, 1000
	}

	// quickStart makes a fresh dir with config/nodeconf.yml owned by
	// uid:gid and runs the quick start's docker run there with extra flags.
	quickStart := func(t *testing.T, name string, uid, gid int, extra ...string) (*container, string) {
		t.Helper()
		dir := t.TempDir()
		cfg := filepath.Join(dir, "config")
		if err := os.Mkdir(cfg, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(cfg, "nodeconf.yml"), []byte(nodeconf), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := chownR(cfg, uid, gid); err != nil {
			t.Fatal(err)
		}
		c := &container{name: name}
		cleanup(t, "", c)
		// Docker CLI 23+ takes the relative "./config" of the quick start;
		// older clients read it as a volume name.
		mount := "./config:/app/config"
		if major > 0 && major < 23 {
			t.Logf("docker client %s does not take a relative -v path; using %s", clientVersion, cfg)
			mount = cfg + ":/app/config"
		}
		args := append([]string{"run", "-d", "--name", name, "--label", label, "-p", "127.0.0.1::8000", "-v", mount}, extra...)
		if _, err := docker(dir, append(args, image)...); err != nil {
			t.Fatal(err)
		}
		return c, cfg
	}

	// serving waits until the node answers /api/health with ok.
	serving := func(t *testing.T, c *container) {
		t.Helper()
		var h struct{ Status string }
		waitFor(t, 30*time.Second, "/api/health ok", func() (bool, string) {
			err := c.getJSON("/api/health", &h)
			return err == nil && h.Status == "ok", fmt.Sprint(err, h)
		})
	}

	// scaffolded checks that the node wrote its key (0600) and its network
	// into ./config, every file owned by uid:gid.
	scaffolded := func(t *testing.T, cfg string, uid, gid int) {
		t.Helper()
		for _, f := range []string{"nodeconf.yml", ".private_keys", ".private_keys/node.key",
			"networks/my-network/config.yml", "networks/my-network/pubkeys/my-node.pub"} {
			st, err := os.Stat(filepath.Join(cfg, f))
			if err != nil {
				t.Errorf("not scaffolded: %v", err)
				continue
			}
			sys := st.Sys().(*syscall.Stat_t)
			if int(sys.Uid) != uid || int(sys.Gid) != gid {
				t.Errorf("%s owned by %d:%d; want %d:%d", f, sys.Uid, sys.Gid, uid, gid)
			}
			if f == ".private_keys/node.key" && st.Mode().Perm() != 0o600 {
				t.Errorf("%s mode %v; want 0600", f, st.Mode().Perm())
			}
		}
	}

	// runsAs checks the node's uid and gid (real, effective and saved) in
	// `docker top` and in /proc/<pid>/status on this host.
	runsAs := func(t *testing.T, c *container, uid, gid int) {
		t.Helper()
		top := mustDocker(t, "top", c.name, "-o", "pid,ruid,euid,suid,rgid,egid,sgid,comm")
		lines := strings.Split(top, "\n")
		if len(lines) != 2 {
			t.Fatalf("docker top: want one process:\n%s", top)
		}
		f := strings.Fields(lines[1])
		want := []string{strconv.Itoa(uid), strconv.Itoa(uid), strconv.Itoa(uid),
			strconv.Itoa(gid), strconv.Itoa(gid), strconv.Itoa(gid), "meshmon"}
		if len(f) != 8 || strings.Join(f[1:], " ") != strings.Join(want, " ") {
			t.Errorf("docker top:\n%s\nwant ruid euid suid rgid egid sgid comm = %v", top, want)
		}
		pid := c.state(".State.Pid")
		status, err := os.ReadFile("/proc/" + pid + "/status")
		if err != nil {
			t.Fatalf("the node's /proc status: %v", err)
		}
		for field, id := range map[string]int{"Uid": uid, "Gid": gid} {
			var ids []string
			for _, l := range strings.Split(string(status), "\n") {
				if v, ok := strings.CutPrefix(l, field+":"); ok {
					ids = strings.Fields(v)
				}
			}
			if len(ids) != 4 || ids[0] != strconv.Itoa(id) || ids[1] != ids[0] || ids[2] != ids[0] || ids[3] != ids[0] {
				t.Errorf("/proc/%s/status %s: %v (real, effective, saved, fs); want %d in all four", pid, field, ids, id)
			}
		}
	}

	// stops gracefully: docker stop (SIGTERM) makes the node leave and exit
	// 0 well before Docker's 10 s SIGKILL.
	stop := func(t *testing.T, c *container) {
		t.Helper()
		start := time.Now()
		mustDocker(t, "stop", c.name)
		if took := time.Since(start); took > 9*time.Second {
			t.Errorf("docker stop took %s; want a prompt exit on SIGTERM", took)
		}
		if code := c.state(".State.ExitCode"); code != "0" {
			t.Errorf("exit code %s after docker stop; want 0", code)
		}
		logs, _ := docker("", "logs", c.name)
		if !strings.Contains(logs, "left every network") {
			t.Errorf("the logs do not say the node left:\n%s", logs)
		}
	}

	logSays := func(t *testing.T, c *container, want string) {
		t.Helper()
		if logs, _ := docker("", "logs", c.name); !strings.Contains(logs, want) {
			t.Errorf("the logs do not say %q:\n%s", want, logs)
		}
	}

	t.Run("verbatim", func(t *testing.T) {
		// No --user: the container starts as root and the node steps
		// down to the host user who owns ./config.
		c, cfg := quickStart(t, "meshmon-e2e-"+runID+"-qs", hostUID, hostGID)
		serving(t, c)
		scaffolded(t, cfg, hostUID, hostGID)
		runsAs(t, c, hostUID, hostGID)
		logSays(t, c, "stepping down from root to the owner of the config dir")
		base, _ := c.baseURL()
		for _, p := range []string{"/docs", "/", "/openapi.json"} {
			resp, err := http.Get(base + p)
			if err != nil {
				t.Errorf("GET %s: %v", p, err)
				continue
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s: %s", p, resp.Status)
			}
		}
		// The HEALTHCHECK runs as root beside the node: HTTP only.
		waitFor(t, 60*time.Second, "HEALTHCHECK healthy", func() (bool, string) {
			s := c.state(".State.Health.Status")
			return s == "healthy", s
		})
		stop(t, c)
	})

	t.Run("user", func(t *testing.T) {
		// --user "$(id -u):$(id -g)": the node never was root.
		c, cfg := quickStart(t, "meshmon-e2e-"+runID+"-qs-user", hostUID, hostGID,
			"--user", fmt.Sprintf("%d:%d", hostUID, hostGID))
		serving(t, c)
		scaffolded(t, cfg, hostUID, hostGID)
		runsAs(t, c, hostUID, hostGID)
		if logs, _ := docker("", "logs", c.name); strings.Contains(logs, "stepping down") {
			t.Errorf("a node started with --user says it steps down:\n%s", logs)
		}
		stop(t, c)
	})

	t.Run("root-owned", func(t *testing.T) {
		// A ./config owned by root (the host user is root, or Docker made
		// the dir): the node gives it to the image's user 10001 and steps
		// down to it.
		if os.Getuid() != 0 {
			// Only root may make root's files; CI runs as root.
			const msg = "a root-owned ./config needs a test run as root"
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg + " (skipped because CI is not true)")
		}
		c, cfg := quickStart(t, "meshmon-e2e-"+runID+"-qs-root", 0, 0)
		serving(t, c)
		scaffolded(t, cfg, 10001, 10001)
		runsAs(t, c, 10001, 10001)
		logSays(t, c, "the config dir belongs to root: gave it to the image's user meshmon")
		stop(t, c)
	})

	t.Run("run-as-root", func(t *testing.T) {
		// MESHMON_RUN_AS_ROOT=1 keeps root, and says so.
		c, cfg := quickStart(t, "meshmon-e2e-"+runID+"-qs-asroot", hostUID, hostGID, "-e", "MESHMON_RUN_AS_ROOT=1")
		serving(t, c)
		runsAs(t, c, 0, 0)
		if st, err := os.Stat(filepath.Join(cfg, ".private_keys", "node.key")); err != nil {
			t.Error(err)
		} else if u := st.Sys().(*syscall.Stat_t).Uid; u != 0 {
			t.Errorf("node.key owned by %d; want root", u)
		}
		logSays(t, c, "running as root because MESHMON_RUN_AS_ROOT is set")
		stop(t, c)
	})
}

// TestImage checks the image's metadata: what the issue and docs promise.
func TestImage(t *testing.T) {
	var cfg struct {
		User         string
		WorkingDir   string
		Entrypoint   []string
		Cmd          []string
		Volumes      map[string]struct{}
		ExposedPorts map[string]struct{}
		Healthcheck  *struct{ Test []string }
		Env          []string
	}
	out := mustDocker(t, "image", "inspect", "--format", "{{json .Config}}", image)
	if err := json.Unmarshal([]byte(out), &cfg); err != nil {
		t.Fatal(err)
	}
	// No USER: the container starts as root and meshmon steps down itself.
	if cfg.User != "" || cfg.WorkingDir != "/app" {
		t.Errorf("user %q workdir %q; want no USER (root, which meshmon leaves) and /app", cfg.User, cfg.WorkingDir)
	}
	// The step down is the image's feature: it opts in, a host does not.
	if !slices.Contains(cfg.Env, "MESHMON_STEP_DOWN=1") {
		t.Errorf("env %v; want MESHMON_STEP_DOWN=1, which turns on the step down from root", cfg.Env)
	}
	if strings.Join(cfg.Entrypoint, " ") != "/meshmon" || strings.Join(cfg.Cmd, " ") != "run --config-dir /app/config" {
		t.Errorf("entrypoint %v cmd %v", cfg.Entrypoint, cfg.Cmd)
	}
	if _, ok := cfg.Volumes["/app/config"]; !ok {
		t.Errorf("volumes %v; want /app/config", cfg.Volumes)
	}
	for _, p := range []string{"8000/tcp", "4001/tcp", "4001/udp"} {
		if _, ok := cfg.ExposedPorts[p]; !ok {
			t.Errorf("%s not exposed: %v", p, cfg.ExposedPorts)
		}
	}
	if cfg.Healthcheck == nil || strings.Join(cfg.Healthcheck.Test, " ") != "CMD /meshmon healthcheck" {
		t.Errorf("healthcheck %+v; want CMD /meshmon healthcheck", cfg.Healthcheck)
	}
	size, _ := strconv.ParseInt(mustDocker(t, "image", "inspect", "--format", "{{.Size}}", image), 10, 64)
	t.Logf("image %s: %.1f MB", image, float64(size)/1e6)
	if size > 40e6 {
		t.Errorf("image is %d bytes; want under 40 MB", size)
	}
	// Only our files: the binary, CA roots, tzdata, passwd/group, /tmp, /app.
	id := mustDocker(t, "create", "--label", label, image)
	defer docker("", "rm", "-f", "-v", id)
	var tarOut bytes.Buffer
	cmd := exec.Command(dockerBin, "export", id)
	cmd.Stdout = &tarOut
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	list := exec.Command("tar", "-t")
	list.Stdin = bytes.NewReader(tarOut.Bytes())
	names, err := list.Output()
	if err != nil {
		t.Fatal(err)
	}
	// The user meshmon steps down to when root owns the config dir.
	passwd := exec.Command("tar", "-xO", "etc/passwd")
	passwd.Stdin = bytes.NewReader(tarOut.Bytes())
	if out, err := passwd.Output(); err != nil || !bytes.Contains(out, []byte("\nmeshmon:x:10001:10001:")) {
		t.Errorf("/etc/passwd has no meshmon 10001 (%v):\n%s", err, out)
	}
	allowed := map[string]bool{}
	for _, n := range strings.Fields(`meshmon etc/ etc/passwd etc/group etc/ssl/ etc/ssl/certs/
		etc/ssl/certs/ca-certificates.crt usr/ usr/share/ usr/share/zoneinfo/ tmp/ app/ app/config/
		.dockerenv dev/ dev/console dev/pts/ dev/shm/ proc/ sys/ etc/hostname etc/hosts etc/mtab etc/resolv.conf`) {
		allowed[n] = true // the second line: what Docker puts in every container
	}
	var unexpected []string
	for _, n := range strings.Fields(string(names)) {
		if !allowed[n] && !strings.HasPrefix(n, "usr/share/zoneinfo/") {
			unexpected = append(unexpected, n)
		}
	}
	if len(unexpected) > 0 {
		t.Errorf("unexpected files in the image: %v", unexpected)
	}
	if !bytes.Contains(names, []byte("etc/ssl/certs/ca-certificates.crt")) || !bytes.Contains(names, []byte("usr/share/zoneinfo/Europe/Berlin")) {
		t.Errorf("CA roots or tzdata missing")
	}
	// The binary says its version and the user exists.
	v := mustDocker(t, "run", "--rm", "--label", label, image, "version")
	if v == "" {
		t.Errorf("meshmon version printed nothing")
	}
}
