//go:build linux

package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshmon/meshmon/configsync"
	"github.com/meshmon/meshmon/node/nodetest"
)

// fileMeta is the owner and mode of one entry of a tree.
type fileMeta struct {
	uid, gid uint32
	mode     os.FileMode
}

// treeMeta returns the owner and mode of every entry below root, by path
// relative to root.
func treeMeta(t *testing.T, root string) map[string]fileMeta {
	t.Helper()
	out := map[string]fileMeta{}
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		sys := st.Sys().(*syscall.Stat_t)
		rel, _ := filepath.Rel(root, p)
		out[rel] = fileMeta{uid: sys.Uid, gid: sys.Gid, mode: st.Mode()}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRootOnHostRun: `meshmon run` started as root outside the image (no
// MESHMON_STEP_DOWN) stays root, changes the owner or mode of no file that
// was there, and says once that a service user is recommended. The config
// dir sits in a 0700 dir, as /root is.
func TestRootOnHostRun(t *testing.T) {
	requireRoot(t)
	bin := nodetest.Binary(t)
	for _, tt := range []struct {
		name     string
		uid, gid int
	}{
		{"root-owned", 0, 0},
		{"user-owned", 1234, 1234},
	} {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir() // 0700, like /root
			cfg := filepath.Join(home, "config")
			pub := filepath.Join(cfg, "networks", "my-network", "pubkeys")
			if err := os.MkdirAll(pub, 0o750); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(cfg, "nodeconf.yml"), []byte(quickStartNodeconf), 0o640); err != nil {
				t.Fatal(err)
			}
			// An existing key with the mode a user gave it: it must stay
			// theirs, with that mode.
			if _, _, _, err := configsync.LoadOrCreateNodeKey(cfg); err != nil {
				t.Fatal(err)
			}
			if err := filepath.WalkDir(cfg, func(p string, _ fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				return os.Lchown(p, tt.uid, tt.gid)
			}); err != nil {
				t.Fatal(err)
			}
			before := treeMeta(t, home)

			p := startRun(t, bin, cfg, childEnv(), nil)
			p.waitUntil(t, 30*time.Second, "network scaffolded and /api/health ok", func() (bool, string) {
				if _, err := os.Stat(filepath.Join(pub, "my-node.pub")); err != nil {
					return false, err.Error()
				}
				s, err := p.health()
				return err == nil && s == "ok", fmt.Sprintf("/api/health: %q %v", s, err)
			})
			checkIDs(t, p.procStatus(t), 0, 0)
			p.stopGracefully(t)

			after := treeMeta(t, home)
			for rel, was := range before {
				if now, ok := after[rel]; !ok || now != was {
					t.Errorf("%s: owner %d:%d mode %v before, %+v (present %v) after; want it unchanged",
						rel, was.uid, was.gid, was.mode, now, ok)
				}
			}
			for rel, now := range after {
				if _, old := before[rel]; !old && (now.uid != 0 || now.gid != 0) {
					t.Errorf("%s, written by the node, belongs to %d:%d; want root's", rel, now.uid, now.gid)
				}
			}
			const say = "a service user is recommended"
			if n := strings.Count(p.out.String(), say); n != 1 {
				t.Errorf("the log says %q %d times; want once:\n%s", say, n, p.out.String())
			}
			if strings.Contains(p.out.String(), "stepping down") {
				t.Errorf("a node outside the image says it steps down:\n%s", p.out.String())
			}
		})
	}
}

// TestRootOnHostDemo: `meshmon demo` (what `make run` runs) as root, with
// the working dir and TMPDIR in a 0700 dir, as a checkout under /root is,
// stays root and reaches 5/5 online.
func TestRootOnHostDemo(t *testing.T) {
	requireRoot(t)
	bin := nodetest.Binary(t)
	home := t.TempDir() // 0700
	port := nodetest.FreePorts(t, 1)[0]
	p := startProcIn(t, home, bin, []string{"demo", "--nodes", "5", "--http-listen", fmt.Sprintf("127.0.0.1:%d", port)},
		childEnv("TMPDIR="+home), nil)
	p.waitUntil(t, 90*time.Second, "the demo prints 5/5 online", func() (bool, string) {
		out := p.out.String()
		return strings.Contains(out, "5/5 online"), lastLine(out)
	})
	checkIDs(t, p.procStatus(t), 0, 0)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Fatal("demo did not exit within 15s of SIGTERM")
	}
}

// lastLine is the last non-empty line of out.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}
