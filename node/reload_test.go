package node_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/node/nodetest"
)

// netDir is node i's directory of the cluster's network.
func netDir(c *nodetest.Cluster, i int, network string) string {
	return filepath.Join(c.Dirs[i], "networks", network)
}

// writeRename replaces path the way many editors save: write a new file
// beside it, then rename it over the old one.
func writeRename(t *testing.T, path, data string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".edit")
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitView waits until cond holds for node i's view of the network.
func waitView(t *testing.T, c *nodetest.Cluster, i int, what string, cond func(*health.NetworkView) bool) {
	t.Helper()
	var last *health.NetworkView
	ok := nodetest.Eventually(converge, func() bool {
		v, err := c.View(i)
		if err != nil {
			return false
		}
		last = v
		return cond(v)
	})
	if !ok {
		t.Fatalf("%s: never happened; last view of %s: %+v", what, c.Names[i], last)
	}
}

// TestReloadAddsPubkey: a member whose key is missing is shown without a
// key and cannot take part; copying its key in admits it, with no restart.
func TestReloadAddsPubkey(t *testing.T) {
	c := nodetest.StartCluster(t, 3, nodetest.Options{Start: func(int) bool { return false }})
	keyFile := filepath.Join(netDir(c, 0, "test"), "pubkeys", "n3.pub")
	key := readFile(t, keyFile)
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		c.Start(i)
	}
	waitView(t, c, 0, "n3 shown without a key", func(v *health.NetworkView) bool {
		return v.Nodes["n3"] != nil && v.Nodes["n3"].KeyMissing != "" && v.Nodes["n2"].Status == health.StatusOnline
	})
	// n1 cannot hear n3 itself: any opinion of n3 comes from others.
	if o, has := mustView(t, c, 0).Nodes["n3"].Observers["n1"]; has {
		t.Fatalf("n1 has its own opinion of n3 without n3's key: %+v", o)
	}
	writeRename(t, keyFile, key)
	waitView(t, c, 0, "n3 admitted after its key was added", func(v *health.NetworkView) bool {
		n3 := v.Nodes["n3"]
		_, own := n3.Observers["n1"]
		return n3.KeyMissing == "" && own && n3.Status == health.StatusOnline && n3.Confirmed
	})
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge)
}

// TestReloadAddAndRemoveNetwork: a network added to nodeconf is joined, one
// removed is left (peers show this node left there), and the other network
// is not disturbed.
func TestReloadAddAndRemoveNetwork(t *testing.T) {
	c := nodetest.StartCluster(t, 2, nodetest.Options{})
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge)
	// A member is online on its first ping; its boot comes with its
	// announce, which may follow.
	waitView(t, c, 0, "n2's boot known", func(v *health.NetworkView) bool { return v.Nodes["n2"].BootID != 0 })
	bootBefore := mustView(t, c, 0).Nodes["n2"].BootID

	// A second network "extra" for both nodes: same members and keys.
	for i := range 2 {
		src, dst := netDir(c, i, "test"), netDir(c, i, "extra")
		if err := os.MkdirAll(filepath.Join(dst, "pubkeys"), 0o755); err != nil {
			t.Fatal(err)
		}
		cfg := strings.Replace(readFile(t, filepath.Join(src, "config.yml")), "network_id: test", "network_id: extra", 1)
		if err := os.WriteFile(filepath.Join(dst, "config.yml"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"n1", "n2"} {
			k := readFile(t, filepath.Join(src, "pubkeys", id+".pub"))
			if err := os.WriteFile(filepath.Join(dst, "pubkeys", id+".pub"), []byte(k), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		nc := filepath.Join(c.Dirs[i], "nodeconf.yml")
		conf := readFile(t, nc)
		conf = strings.Replace(conf, "listen:", "  - directory: extra\n    node_id: "+c.Names[i]+"\nlisten:", 1)
		writeRename(t, nc, conf)
	}
	waitStatusIn(t, c, []int{0, 1}, "extra", []string{"n1", "n2"}, health.StatusOnline)

	// n1 leaves "extra" only.
	nc := filepath.Join(c.Dirs[0], "nodeconf.yml")
	conf := strings.Replace(readFile(t, nc), "  - directory: extra\n    node_id: n1\n", "", 1)
	writeRename(t, nc, conf)
	waitStatusIn(t, c, []int{1}, "extra", []string{"n1"}, health.StatusLeft)
	ok := nodetest.Eventually(converge, func() bool {
		_, has := c.Node(0).View().Networks["extra"]
		return !has
	})
	if !ok {
		t.Fatal("n1 still runs network extra after it was removed from nodeconf")
	}
	v := mustView(t, c, 0)
	if v.Nodes["n2"].Status != health.StatusOnline || v.Nodes["n2"].BootID != bootBefore {
		t.Errorf("network test disturbed: n2 = %s boot %d; want online, boot %d", v.Nodes["n2"].Status, v.Nodes["n2"].BootID, bootBefore)
	}
}

// TestReloadURLRebootstraps: nodes that cannot find each other (placeholder
// urls) connect as soon as one of them is given the other's url.
func TestReloadURLRebootstraps(t *testing.T) {
	c := nodetest.StartCluster(t, 2, nodetest.Options{Start: func(int) bool { return false }})
	for i := range 2 {
		cfgPath := filepath.Join(netDir(c, i, "test"), "config.yml")
		cfg := readFile(t, cfgPath)
		for _, u := range c.URLs {
			cfg = strings.ReplaceAll(cfg, u, "replace_me")
		}
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c.Start(0)
	c.Start(1)
	waitView(t, c, 0, "placeholder url warned about", func(*health.NetworkView) bool {
		for _, e := range c.Node(0).Events().List(nil) {
			if strings.Contains(e.Message, "set url for node n2") {
				return true
			}
		}
		return false
	})
	if st, _ := c.Statuses(0); st["n2"] == health.StatusOnline {
		t.Fatal("n2 online at n1 before any url was set")
	}
	cfgPath := filepath.Join(netDir(c, 0, "test"), "config.yml")
	cfg := strings.Replace(readFile(t, cfgPath), "node_id: n2\n    url: replace_me", "node_id: n2\n    url: "+c.URLs[1], 1)
	writeRename(t, cfgPath, cfg)
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge)
}

// TestReloadInvalidEditKeepsRunning: a broken edit is refused with an event
// and the running config stays; the fix is applied; timing changes apply.
func TestReloadInvalidEditKeepsRunning(t *testing.T) {
	c := nodetest.StartCluster(t, 2, nodetest.Options{})
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge)
	cfgPath := filepath.Join(netDir(c, 0, "test"), "config.yml")
	good := readFile(t, cfgPath)
	writeRename(t, cfgPath, strings.Replace(good, "node_config:", "node_cofig:", 1))
	ok := nodetest.Eventually(converge, func() bool { return !c.Node(0).ReloadStatus().OK })
	if !ok {
		t.Fatal("broken config was not refused")
	}
	rs := c.Node(0).ReloadStatus()
	if !strings.Contains(rs.LastError, `unknown field "node_cofig"`) || !strings.Contains(rs.LastError, "config.yml:") {
		t.Errorf("reload error = %q; want the unknown field with its file and line", rs.LastError)
	}
	found := false
	for _, e := range c.Node(0).Events().List(nil) {
		found = found || (e.Severity == health.SeverityError && strings.Contains(e.Message, "node_cofig"))
	}
	if !found {
		t.Error("no error event for the refused reload")
	}
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge)

	// The fix, with a new timing, is applied.
	fixed := strings.Replace(good, "heartbeat: 250ms", "heartbeat: 200ms", 1)
	writeRename(t, cfgPath, fixed)
	waitView(t, c, 0, "new timing applied", func(v *health.NetworkView) bool {
		return v.Config != nil && v.Config.HeartbeatMS == 200 && c.Node(0).ReloadStatus().OK
	})
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge)
}

func mustView(t *testing.T, c *nodetest.Cluster, i int) *health.NetworkView {
	t.Helper()
	v, err := c.View(i)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// waitStatusIn waits until every observer sees every subject with status
// want in the given network.
func waitStatusIn(t *testing.T, c *nodetest.Cluster, observers []int, network string, subjects []string, want health.Status) {
	t.Helper()
	var last map[string]health.Status
	ok := nodetest.Eventually(converge, func() bool {
		for _, o := range observers {
			n := c.Node(o)
			if n == nil {
				return false
			}
			nv := n.View().Networks[network]
			if nv == nil {
				return false
			}
			last = map[string]health.Status{}
			for id, nd := range nv.Nodes {
				last[id] = nd.Status
			}
			for _, s := range subjects {
				if last[s] != want {
					return false
				}
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("network %s: want %v %s; last: %v", network, subjects, want, last)
	}
}

// TestReloadNeverScaffolds: a reload writes no network file. A network
// added to nodeconf while its files are still being copied in is refused
// until they are there ("missing"), instead of getting a template that a
// later copy would then have to overwrite (or that would replace the copy).
func TestReloadNeverScaffolds(t *testing.T) {
	c := nodetest.StartCluster(t, 1, nodetest.Options{})
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge) // running, files watched
	n := c.Node(0)
	later := netDir(c, 0, "later")
	nc := filepath.Join(c.Dirs[0], "nodeconf.yml")
	conf := strings.Replace(readFile(t, nc), "listen:", "  - directory: later\n    node_id: n1\nlisten:", 1)
	writeRename(t, nc, conf)
	// A one-node cluster is online as soon as it runs, maybe before its
	// watcher is in place on a busy machine: write again until it sees it.
	wrote := time.Now()
	ok := nodetest.Eventually(converge, func() bool {
		st := n.ReloadStatus()
		if st.Reloads == 0 && time.Since(wrote) > 2*time.Second {
			writeRename(t, nc, conf)
			wrote = time.Now()
		}
		return !st.OK && strings.Contains(st.LastError, "networks/later/config.yml: missing")
	})
	if !ok {
		t.Fatalf("reload status %+v; want the reload refused: networks/later/config.yml missing", n.ReloadStatus())
	}
	if _, err := os.Stat(later); !os.IsNotExist(err) {
		entries, _ := os.ReadDir(later)
		t.Fatalf("a reload wrote into %s (%v, entries %v); want nothing written", later, err, entries)
	}
	// The user's files arrive: the network is joined, from them.
	src := netDir(c, 0, "test")
	if err := os.MkdirAll(filepath.Join(later, "pubkeys"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(later, "pubkeys", "n1.pub"), []byte(readFile(t, filepath.Join(src, "pubkeys", "n1.pub"))), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(readFile(t, filepath.Join(src, "config.yml")), "network_id: test", "network_id: later", 1)
	writeRename(t, filepath.Join(later, "config.yml"), cfg)
	ok = nodetest.Eventually(converge, func() bool {
		_, has := n.View().Networks["later"]
		return has && n.ReloadStatus().OK
	})
	if !ok {
		t.Fatalf("network later not joined after its files arrived; reload status %+v", n.ReloadStatus())
	}
	if got := readFile(t, filepath.Join(later, "config.yml")); got != cfg {
		t.Errorf("config.yml = %q; want the user's %q", got, cfg)
	}
}
