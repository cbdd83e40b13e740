//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshmon/meshmon/internal/syncbuf"
	"github.com/meshmon/meshmon/node/nodetest"
)

// The spec's quick start nodeconf.yml, verbatim.
const quickStartNodeconf = "networks:\n  - directory: my-network\n    node_id: my-node\n"

// requireRoot skips a test that needs root, or fails it under CI=true,
// where `make test` runs as root and a skip would hide the test.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	const msg = "stepping down from root needs a test run as root (CI runs `make test` as root); try: sudo go test ./cmd/meshmon -run StepDown"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg + " (skipped because CI is not true)")
}

// searchableTempDir returns a new dir of mode 0755 that every uid can reach:
// t.TempDir makes 0700 dirs, which a node that stepped down to another uid
// could not enter. It fails if a parent is not searchable by others.
func searchableTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "meshmon-stepdown-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o001 == 0 {
			t.Fatalf("%s (mode %v) is not searchable by other users, so a node that stepped down could not reach "+
				"its config dir below it; set TMPDIR to a dir such as /tmp", p, st.Mode().Perm())
		}
		if p == "/" {
			break
		}
	}
	return dir
}

// stepDownBinary builds meshmon and copies it where every uid may run it
// (nodetest.Binary builds into a 0700 temp dir).
func stepDownBinary(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(nodetest.Binary(t))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(searchableTempDir(t), "meshmon")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// quickStartDir writes the quick start's config/nodeconf.yml under a new
// searchable dir and gives config/ and the file to uid:gid.
func quickStartDir(t *testing.T, uid, gid int) string {
	t.Helper()
	cfg := filepath.Join(searchableTempDir(t), "config")
	if err := os.Mkdir(cfg, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg, "nodeconf.yml"), []byte(quickStartNodeconf), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{cfg, filepath.Join(cfg, "nodeconf.yml")} {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

// childEnv is the test's environment without any MESHMON_ or LOG_LEVEL
// setting, plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MESHMON_") && !strings.HasPrefix(kv, "LOG_LEVEL=") {
			env = append(env, kv)
		}
	}
	return append(append(env, "LOG_LEVEL=INFO"), extra...)
}

// runningProc is one `meshmon run` (or demo) process.
type runningProc struct {
	cmd  *exec.Cmd
	out  *syncbuf.Buffer
	url  string
	done chan struct{}
	err  error // cmd.Wait's, once done is closed
}

func startProc(t *testing.T, bin string, args, env []string, attr *syscall.SysProcAttr) *runningProc {
	t.Helper()
	return startProcIn(t, "", bin, args, env, attr)
}

// startProcIn is startProc with dir as the working dir ("": the test's).
func startProcIn(t *testing.T, dir, bin string, args, env []string, attr *syscall.SysProcAttr) *runningProc {
	t.Helper()
	p := &runningProc{out: &syncbuf.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = attr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", args, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("output of %v:\n%s", args, p.out.String())
		}
	})
	return p
}

// startRun starts `meshmon run` on cfg with the HTTP server on a free
// loopback port and libp2p on loopback only.
func startRun(t *testing.T, bin, cfg string, env []string, attr *syscall.SysProcAttr) *runningProc {
	t.Helper()
	port := nodetest.FreePorts(t, 1)[0]
	p := startProc(t, bin, []string{"run", "--config-dir", cfg,
		"--http-listen", fmt.Sprintf("127.0.0.1:%d", port), "--p2p-listen", "/ip4/127.0.0.1/tcp/0"}, env, attr)
	p.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	return p
}

// waitUntil polls cond every 100 ms until it holds, failing after timeout
// with the last detail, or as soon as the process exits.
func (p *runningProc) waitUntil(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, detail := cond()
		if ok {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("%s: the process exited (%v) first; last: %s", what, p.err, detail)
		case <-deadline.C:
			t.Fatalf("%s: not within %s; last: %s", what, timeout, detail)
		case <-tick.C:
		}
	}
}

// health GETs /api/health and returns its status field.
func (p *runningProc) health() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/api/health", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var h struct{ Status string }
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&h); err != nil {
		return "", err
	}
	return h.Status, nil
}

// procStatus reads /proc/<pid>/status of the running process.
func (p *runningProc) procStatus(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// stopGracefully sends SIGTERM and expects exit status 0 and the log line
// that says the node left, within the time Docker gives before SIGKILL.
func (p *runningProc) stopGracefully(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("no exit within 10s of SIGTERM")
	}
	if p.err != nil {
		t.Errorf("exit after SIGTERM: %v; want status 0", p.err)
	}
	if !strings.Contains(p.out.String(), "left every network") {
		t.Errorf("the log does not say the node left:\n%s", p.out.String())
	}
}

// umask is this test process's umask, which the children inherit.
func umask(t *testing.T) os.FileMode {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	v, ok := procStatusIDs(string(data), "Umask")
	if !ok || len(v) != 1 {
		t.Fatalf("no Umask in /proc/self/status")
	}
	m, err := strconv.ParseUint(v[0], 8, 32)
	if err != nil {
		t.Fatal(err)
	}
	return os.FileMode(m)
}

// checkTree checks that every entry of cfg belongs to uid:gid (the test's
// own config/ and nodeconf.yml to keepUID:keepGID, if not -1) and has the
// mode the node gives it: the key 0600 in a 0700 dir, the rest 0644 and
// 0755 (less the umask).
func checkTree(t *testing.T, cfg string, uid, gid, keepUID, keepGID int) {
	t.Helper()
	mask := umask(t)
	n := 0
	err := filepath.WalkDir(cfg, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n++
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(cfg, p)
		if strings.HasPrefix(rel, filepath.Join(".private_keys", ".incarnation-")) {
			// The incarnation counter's temp file, caught between its
			// write and its rename.
			return nil
		}
		sys := st.Sys().(*syscall.Stat_t)
		wu, wg := uid, gid
		if keepUID >= 0 && (rel == "." || rel == "nodeconf.yml") {
			wu, wg = keepUID, keepGID
		}
		if int(sys.Uid) != wu || int(sys.Gid) != wg {
			t.Errorf("%s belongs to %d:%d; want %d:%d", rel, sys.Uid, sys.Gid, wu, wg)
		}
		want := 0o644 &^ mask
		switch {
		case rel == ".private_keys":
			want = 0o700
		case rel == filepath.Join(".private_keys", "node.key"), rel == filepath.Join(".private_keys", "incarnation"):
			want = 0o600
		case d.IsDir():
			want = 0o755 &^ mask
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s has mode %v; want %v", rel, st.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 8 {
		t.Errorf("only %d entries in %s; want the dir, nodeconf.yml, the key and the scaffolded network", n, cfg)
	}
}

// checkIDs checks the Uid and Gid lines (real, effective, saved, fs) of
// /proc/<pid>/status, as seen from this, the initial, user namespace.
func checkIDs(t *testing.T, status string, uid, gid int) {
	t.Helper()
	for field, want := range map[string]int{"Uid": uid, "Gid": gid} {
		ids, ok := procStatusIDs(status, field)
		if !ok || len(ids) != 4 {
			t.Errorf("no %s line in /proc/<pid>/status:\n%s", field, status)
			continue
		}
		for _, id := range ids {
			if id != strconv.Itoa(want) {
				t.Errorf("%s %v (real, effective, saved, fs); want %d in all four", field, ids, want)
				break
			}
		}
	}
}

// imageEnv is what the image's Dockerfile sets to turn the step down on.
const imageEnv = stepDownEnv + "=1"

// TestStepDownRun runs the real `meshmon run` with the quick start's config
// dir in the ways the Docker image meets it (with the image's
// MESHMON_STEP_DOWN=1), and checks which user the process ends up as, who
// owns what it writes, and that it still serves and leaves gracefully.
func TestStepDownRun(t *testing.T) {
	requireRoot(t)
	bin := stepDownBinary(t)
	for _, tt := range []struct {
		name string
		// owner of config/ and nodeconf.yml, as the host sees them
		ownerUID, ownerGID int
		env                []string
		attr               *syscall.SysProcAttr
		// the process's ids and the files' owner, as the host sees them
		wantUID, wantGID int
		// whether the process keeps capabilities (it stays root)
		root bool
		// the test's config/ and nodeconf.yml keep their owner
		keep   bool
		logSay []string
	}{{
		// docker run -v ./config:/app/config, ./config made by a host user.
		name: "owner", ownerUID: 1234, ownerGID: 1234,
		wantUID: 1234, wantGID: 1234,
		logSay: []string{"stepping down from root to the owner of the config dir"},
	}, {
		// The host user is root (or Docker made ./config): the image's user.
		name: "root-owned", ownerUID: 0, ownerGID: 0,
		wantUID: imageUID, wantGID: imageGID,
		logSay: []string{"the config dir belongs to root: gave it to the image's user meshmon"},
	}, {
		// A group of 0 is never kept.
		name: "owner-group-root", ownerUID: 1234, ownerGID: 0,
		wantUID: 1234, wantGID: 1234, keep: true,
		logSay: []string{"stepping down from root to the owner of the config dir"},
	}, {
		name: "run-as-root", ownerUID: 0, ownerGID: 0, env: []string{runAsRootEnv + "=1"},
		wantUID: 0, wantGID: 0, root: true,
		logSay: []string{"running as root because " + runAsRootEnv + " is set"},
	}, {
		// docker run --user 1234:1234: no root to leave, nothing changes.
		name: "user-from-start", ownerUID: 1234, ownerGID: 1234,
		attr:    &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 1234, Gid: 1234, Groups: []uint32{}}},
		wantUID: 1234, wantGID: 1234,
	}, {
		// Rootless Docker or Podman: uid 0 of the container is the host
		// user 1234, who owns ./config, which the container sees as
		// root's. The node stays uid 0 in there, 1234 out here.
		name: "rootless-userns", ownerUID: 1234, ownerGID: 1234,
		attr: &syscall.SysProcAttr{
			Cloneflags:  syscall.CLONE_NEWUSER,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 1234, Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 1234, Size: 1}},
			// Become uid 0 of the namespace, as a container's process is.
			Credential: &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
		},
		wantUID: 1234, wantGID: 1234, root: true,
		logSay: []string{"staying uid 0 of this user namespace: it is an ordinary user outside", "outside_uid=1234"},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := quickStartDir(t, tt.ownerUID, tt.ownerGID)
			p := startRun(t, bin, cfg, childEnv(append([]string{imageEnv}, tt.env...)...), tt.attr)
			key := filepath.Join(cfg, ".private_keys", "node.key")
			scaffolded := []string{key,
				filepath.Join(cfg, "networks", "my-network", "config.yml"),
				filepath.Join(cfg, "networks", "my-network", "pubkeys", "my-node.pub")}
			p.waitUntil(t, 30*time.Second, "key written, network scaffolded and /api/health ok", func() (bool, string) {
				for _, f := range scaffolded {
					if _, err := os.Stat(f); err != nil {
						return false, err.Error()
					}
				}
				s, err := p.health()
				return err == nil && s == "ok", fmt.Sprintf("/api/health: %q %v", s, err)
			})
			status := p.procStatus(t)
			checkIDs(t, status, tt.wantUID, tt.wantGID)
			if !tt.root {
				if g, _ := procStatusIDs(status, "Groups"); len(g) != 0 {
					t.Errorf("supplementary groups %v; want none", g)
				}
				if c, _ := procStatusIDs(status, "CapEff"); len(c) != 1 || strings.Trim(c[0], "0") != "" {
					t.Errorf("CapEff %v; want no capability", c)
				}
			}
			keepUID, keepGID := -1, -1
			if tt.keep {
				keepUID, keepGID = tt.ownerUID, tt.ownerGID
			}
			checkTree(t, cfg, tt.wantUID, tt.wantGID, keepUID, keepGID)
			for _, say := range tt.logSay {
				if !strings.Contains(p.out.String(), say) {
					t.Errorf("the log does not say %q:\n%s", say, p.out.String())
				}
			}
			if len(tt.logSay) == 0 && strings.Contains(p.out.String(), "stepping down") {
				t.Errorf("a process that is not root says it steps down:\n%s", p.out.String())
			}
			p.stopGracefully(t)
		})
	}
}

// TestStepDownCommands: in the image, the other commands that write files
// step down too, and a root-owned dir that is not a config dir is left alone.
func TestStepDownCommands(t *testing.T) {
	requireRoot(t)
	bin := stepDownBinary(t)
	oneShot := func(t *testing.T, args ...string) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = childEnv(imageEnv)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	owner := func(t *testing.T, p string) (int, int, os.FileMode) {
		t.Helper()
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		return int(sys.Uid), int(sys.Gid), st.Mode().Perm()
	}

	t.Run("init", func(t *testing.T) {
		cfg := filepath.Join(searchableTempDir(t), "config")
		if err := os.Mkdir(cfg, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(cfg, 1234, 1234); err != nil {
			t.Fatal(err)
		}
		out, err := oneShot(t, "init", "--config-dir", cfg, "--node-id", "n1", "--network", "home")
		if err != nil {
			t.Fatalf("init: %v\n%s", err, out)
		}
		if u, g, _ := owner(t, filepath.Join(cfg, "nodeconf.yml")); u != 1234 || g != 1234 {
			t.Errorf("nodeconf.yml belongs to %d:%d; want 1234:1234\n%s", u, g, out)
		}
	})

	t.Run("keys show", func(t *testing.T) {
		cfg := quickStartDir(t, 1234, 1234)
		out, err := oneShot(t, "keys", "show", "--config-dir", cfg)
		if err != nil || !strings.Contains(out, "peer_id: ") {
			t.Fatalf("keys show: %v\n%s", err, out)
		}
		if u, g, m := owner(t, filepath.Join(cfg, ".private_keys", "node.key")); u != 1234 || g != 1234 || m != 0o600 {
			t.Errorf("node.key belongs to %d:%d with mode %v; want 1234:1234, 0600", u, g, m)
		}
	})

	t.Run("not a config dir", func(t *testing.T) {
		dir := searchableTempDir(t)
		if err := os.WriteFile(filepath.Join(dir, "unrelated"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := oneShot(t, "keys", "show", "--config-dir", dir)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || !strings.Contains(out, "holds no nodeconf.yml") {
			t.Errorf("keys show on a root-owned dir without meshmon files: %v\n%s\nwant a refusal", err, out)
		}
		if u, _, _ := owner(t, filepath.Join(dir, "unrelated")); u != 0 {
			t.Errorf("a file of a dir that is not a config dir was given to %d", u)
		}
	})

	t.Run("no CAP_SETUID", func(t *testing.T) {
		// docker run --cap-drop SETUID --cap-drop SETGID: root that cannot
		// step down must not run on as root.
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			const msg = "setpriv not found: install util-linux"
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg + " (skipped because CI is not true)")
		}
		cfg := quickStartDir(t, 1234, 1234)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, setpriv, "--bounding-set=-setuid,-setgid", "--inh-caps=-all", "--",
			bin, "run", "--config-dir", cfg, "--http-listen", "127.0.0.1:0", "--p2p-listen", "/ip4/127.0.0.1/tcp/0")
		cmd.Env = childEnv(imageEnv)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || !strings.Contains(string(out), "cannot step down from root to uid 1234, gid 1234") ||
			!strings.Contains(string(out), runAsRootEnv+"=1") {
			t.Errorf("run without CAP_SETUID: %v\n%s\nwant exit status 1 and an error that says what to do", err, out)
		}
		if _, err := os.Stat(filepath.Join(cfg, ".private_keys")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the node wrote its key before stepping down: %v", err)
		}
	})
}
