package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/node"
	"github.com/meshmon/meshmon/node/nodetest"
)

// buildBinary builds cmd/meshmon once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "meshmon")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

// freePorts reserves n loopback ports and releases them for the processes.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var lns []net.Listener
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

func statuses(url string) (map[string]health.Status, error) {
	resp, err := http.Get(url + "/api/view")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var v health.View
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return nil, err
	}
	out := map[string]health.Status{}
	for _, nv := range v.Networks {
		for id, n := range nv.Nodes {
			out[id] = n.Status
		}
	}
	return out, nil
}

// TestProcessesKill9 runs three real `meshmon run` processes on loopback,
// kills one with SIGKILL and expects the other two to agree it is offline.
func TestProcessesKill9(t *testing.T) {
	bin := buildBinary(t)
	ports := freePorts(t, 3)
	names := []string{"alpha", "beta", "gamma"}
	urls := make([]string, 3)
	for i, p := range ports {
		urls[i] = fmt.Sprintf("http://127.0.0.1:%d", p)
	}
	dirs, err := node.WriteCluster(node.ClusterSpec{
		Dir: t.TempDir(), NetworkID: "proc", Names: names, URLs: urls,
		Heartbeat: "500ms", SuspectAfter: "2s",
	})
	if err != nil {
		t.Fatal(err)
	}
	procs := make([]*exec.Cmd, 3)
	for i := range names {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		cmd := exec.CommandContext(ctx, bin, "run", "--config-dir", dirs[i], "--http-listen", fmt.Sprintf("127.0.0.1:%d", ports[i]))
		cmd.Env = append(os.Environ(), "LOG_LEVEL=WARN")
		cmd.Stdout = os.Stdout
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs[i] = cmd
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
		})
	}
	waitAll := func(observers []int, subject string, want health.Status) {
		t.Helper()
		var last any
		ok := nodetest.Eventually(60*time.Second, func() bool {
			for _, o := range observers {
				st, err := statuses(urls[o])
				if err != nil {
					last = err
					return false
				}
				last = st
				for id, s := range st {
					if (subject == "" || id == subject) && s != want {
						return false
					}
				}
			}
			return true
		})
		if !ok {
			t.Fatalf("want %s %s; last view: %v", subject, want, last)
		}
	}
	waitAll([]int{0, 1, 2}, "", health.StatusOnline)
	if err := procs[2].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitAll([]int{0, 1}, "gamma", health.StatusOffline)
	waitAll([]int{0, 1}, "alpha", health.StatusOnline)
}
