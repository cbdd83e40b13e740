//go:build linux

package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meshmon/meshmon/node/nodetest"
)

// stallingServer accepts TCP connections on loopback and never answers,
// as a git host that hangs does. accepted is closed at the first one.
type stallingServer struct {
	ln       net.Listener
	accepted chan struct{}
	once     sync.Once
	mu       sync.Mutex
	conns    []net.Conn
}

func newStallingServer(t *testing.T) *stallingServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &stallingServer{ln: ln, accepted: make(chan struct{})}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.once.Do(func() { close(s.accepted) })
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.conns {
			c.Close()
		}
	})
	return s
}

// TestStopDuringFirstClone: SIGTERM while `meshmon run` waits on the first
// clone of a git network whose remote accepts the connection and then
// stalls ends the process within 2 s, with status 0 or a clear message.
// (The clone used to run under context.Background with 2 minutes per
// network, so the signal did nothing and `docker stop` ended in SIGKILL.)
func TestStopDuringFirstClone(t *testing.T) {
	bin := nodetest.Binary(t)
	stall := newStallingServer(t)
	cfg := filepath.Join(t.TempDir(), "config")
	if err := os.MkdirAll(cfg, 0o755); err != nil {
		t.Fatal(err)
	}
	// Two git networks: their clones must both give up at once.
	nodeconf := fmt.Sprintf("networks:\n"+
		"  - directory: one\n    node_id: me\n    config_type: git\n    git_repo: http://%[1]s/one.git\n"+
		"  - directory: two\n    node_id: me\n    config_type: git\n    git_repo: http://%[1]s/two.git\n", stall.ln.Addr())
	if err := os.WriteFile(filepath.Join(cfg, "nodeconf.yml"), []byte(nodeconf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startRun(t, bin, cfg, childEnv(), nil)
	select {
	case <-stall.accepted:
	case <-p.done:
		t.Fatalf("meshmon exited (%v) before it reached the git remote:\n%s", p.err, p.out.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("meshmon did not connect to the git remote within 30s:\n%s", p.out.String())
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	select {
	case <-p.done:
	case <-time.After(2 * time.Second):
		t.Fatalf("no exit within 2s of SIGTERM during the first clone:\n%s", p.out.String())
	}
	t.Logf("exited %v after SIGTERM", time.Since(sent).Round(time.Millisecond))
	out := p.out.String()
	if p.err != nil && !strings.Contains(out, "meshmon: ") {
		t.Errorf("exit %v without a message:\n%s", p.err, out)
	}
	if p.err != nil {
		t.Errorf("exit %v; want status 0 for a stop signal:\n%s", p.err, out)
	}
	if !strings.Contains(out, "stopped during the start") {
		t.Errorf("the log does not say the node stopped during the start:\n%s", out)
	}
}

// TestRunRefusesBrokenKey: a node.key that cannot be parsed stops `meshmon
// run` with an error that names the file and the fix; no new key (a new
// identity) is made in its place.
func TestRunRefusesBrokenKey(t *testing.T) {
	bin := nodetest.Binary(t)
	for _, tt := range []struct {
		name string
		file string // relative to the config dir
	}{
		{"node.key", ".private_keys/node.key"},
		{"the only upstream key", ".private_keys/my-network/my-node.key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "config")
			key := filepath.Join(cfg, tt.file)
			if err := os.MkdirAll(filepath.Dir(key), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(key, []byte("-----BEGIN PRIVATE KEY-----\ntruncated\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(cfg, "nodeconf.yml"), []byte(quickStartNodeconf), 0o644); err != nil {
				t.Fatal(err)
			}
			p := startRun(t, bin, cfg, childEnv(), nil)
			select {
			case <-p.done:
			case <-time.After(30 * time.Second):
				t.Fatalf("meshmon run with a broken key still runs after 30s:\n%s", p.out.String())
			}
			out := p.out.String()
			if p.err == nil || !strings.Contains(out, key+": not an Ed25519 key in PEM") ||
				!strings.Contains(out, "restore the file from a backup, or move it away") {
				t.Errorf("exit %v; want an error naming %s and the fix:\n%s", p.err, key, out)
			}
			if tt.file != ".private_keys/node.key" {
				if _, err := os.Stat(filepath.Join(cfg, ".private_keys", "node.key")); !os.IsNotExist(err) {
					t.Errorf("node.key made beside a broken upstream key: %v; want none", err)
				}
			}
		})
	}
}
