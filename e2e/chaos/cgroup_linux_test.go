//go:build linux

package chaos

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshmon/meshmon/internal/netlab"
)

// cpuLimit is one CPU cgroup that every node of a test is moved into, so
// that one limit starves them all at once, as CPU steal on a busy VM
// does. It is cgroup v2's cpu.max where the cpu controller is on v2, and
// v1's cpu.cfs_quota_us where it is on v1 (as on these machines).
type cpuLimit struct {
	dir    string // the cgroup the test made
	parent string // where its processes go back to
	v2     bool
}

// newCPULimit makes the cgroup mmchaos<pid>-<name>, or says why it cannot.
// It is removed when the test ends, its processes moved back first.
func newCPULimit(t testing.TB, name string) (*cpuLimit, error) {
	t.Helper()
	leaf := fmt.Sprintf("%s%d-%s", nsPrefix, os.Getpid(), name)
	for _, root := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		ctl, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
		if err != nil || !hasWord(string(ctl), "cpu") {
			continue
		}
		sub, _ := os.ReadFile(filepath.Join(root, "cgroup.subtree_control"))
		if !hasWord(string(sub), "cpu") {
			if err := os.WriteFile(filepath.Join(root, "cgroup.subtree_control"), []byte("+cpu"), 0); err != nil {
				return nil, fmt.Errorf("cgroup v2 at %s: enable cpu: %w", root, err)
			}
		}
		return makeCPULimit(t, root, leaf, true)
	}
	v1 := "/sys/fs/cgroup/cpu"
	if _, err := os.Stat(filepath.Join(v1, "cpu.cfs_quota_us")); err == nil {
		return makeCPULimit(t, v1, leaf, false)
	}
	return nil, errors.New("no cpu controller: neither cgroup v2 with cpu nor v1 at /sys/fs/cgroup/cpu")
}

func makeCPULimit(t testing.TB, root, leaf string, v2 bool) (*cpuLimit, error) {
	l := &cpuLimit{dir: filepath.Join(root, leaf), parent: root, v2: v2}
	if err := os.Mkdir(l.dir, 0o755); err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	t.Cleanup(l.remove)
	return l, nil
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

// add moves process pid (all its threads) into the cgroup.
func (l *cpuLimit) add(pid int) error {
	return os.WriteFile(filepath.Join(l.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
}

// set limits the whole cgroup to share of one CPU over a 1 s period (the
// longest the kernel allows: 0.02 is 20 ms of every second, so the nodes
// stall for most of each second, and fall behind when they need more);
// share ≤ 0 lifts the limit.
func (l *cpuLimit) set(share float64) error {
	const period = time.Second
	quota := time.Duration(share * float64(period))
	if l.v2 {
		v := "max 1000000"
		if share > 0 {
			v = fmt.Sprintf("%d %d", quota.Microseconds(), period.Microseconds())
		}
		return os.WriteFile(filepath.Join(l.dir, "cpu.max"), []byte(v), 0)
	}
	if err := os.WriteFile(filepath.Join(l.dir, "cpu.cfs_period_us"), []byte(strconv.FormatInt(period.Microseconds(), 10)), 0); err != nil {
		return err
	}
	v := "-1"
	if share > 0 {
		v = strconv.FormatInt(quota.Microseconds(), 10)
	}
	return os.WriteFile(filepath.Join(l.dir, "cpu.cfs_quota_us"), []byte(v), 0)
}

// remove lifts the limit, moves every process back to the parent and
// deletes the cgroup.
func (l *cpuLimit) remove() {
	_ = l.set(0)
	data, _ := os.ReadFile(filepath.Join(l.dir, "cgroup.procs"))
	for _, pid := range strings.Fields(string(data)) {
		_ = os.WriteFile(filepath.Join(l.parent, "cgroup.procs"), []byte(pid), 0)
	}
	for range 50 {
		if err := os.Remove(l.dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		<-time.After(100 * time.Millisecond) // the kernel frees an emptied cgroup asynchronously
	}
}

// TestCPUStarvation is scenario c with a CPU limit instead of signals:
// every node is moved into one cgroup limited to 0.5 % of one CPU (5 ms
// of every second, for all of them together) for 20 s
// (MESHMON_CHAOS_CPU_SHARE, MESHMON_CHAOS_CPU_FOR), as when a noisy
// neighbour or CPU steal starves a whole VM. (Five idle nodes need about
// 2 % of a CPU: with that much, today's binary passes.) Nobody is down, so no member
// leaves online at any observer, no status event, no alert. It needs
// root and a writable cpu cgroup; it is skipped without them, and fails
// under CI=true.
func TestCPUStarvation(t *testing.T) {
	t.Parallel()
	share := 0.005
	if s := os.Getenv("MESHMON_CHAOS_CPU_SHARE"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v <= 0 || v > 1 {
			t.Fatalf("MESHMON_CHAOS_CPU_SHARE=%q: want a share of one CPU in (0, 1]", s)
		}
		share = v
	}
	d := envDuration(t, "MESHMON_CHAOS_CPU_FOR", 20*time.Second)
	if os.Geteuid() != 0 {
		needCgroup(t, errors.New("not root"))
	}
	lim, err := newCPULimit(t, "cpu")
	if err != nil {
		needCgroup(t, err)
	}
	c, s, r, _ := pauseCluster(t)
	for _, p := range c.procs {
		if err := lim.add(p.pid()); err != nil {
			t.Fatalf("%s into the cgroup: %v", p.name, err)
		}
	}
	t1 := time.Now()
	t.Logf("every node limited to %.1f%% of one CPU, all together, for %s", share*100, d)
	if err := lim.set(share); err != nil {
		t.Fatal(err)
	}
	hold(d)
	if err := lim.set(0); err != nil {
		t.Fatal(err)
	}
	hold(afterPause)
	r.check(s, verdict{from: t1, to: time.Now(), ok: nobody})
}

// needCgroup skips (or under CI=true fails) a test that needs a CPU cgroup.
func needCgroup(t *testing.T, why error) {
	t.Helper()
	msg := "TestCPUStarvation needs root and a writable cpu cgroup: " + why.Error()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg + " (skipped because CI is not true)")
}

// removeLeftoverCgroups removes the CPU cgroups of earlier runs whose test
// process is gone; their nodes died with it (Pdeathsig).
func removeLeftoverCgroups() {
	for _, root := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/cpu"} {
		dirs, _ := filepath.Glob(filepath.Join(root, nsPrefix+"*"))
		for _, dir := range dirs {
			pid, ok := netlab.Leftover(nsPrefix, filepath.Base(dir))
			if !ok {
				continue
			}
			(&cpuLimit{dir: dir, parent: root, v2: root != "/sys/fs/cgroup/cpu"}).remove()
			fmt.Fprintf(os.Stderr, "chaos e2e: removed cgroup %s left by an earlier run (pid %d)\n", dir, pid)
		}
	}
}
