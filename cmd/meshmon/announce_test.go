package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshmon/meshmon/internal/syncbuf"
	"github.com/meshmon/meshmon/node"
	"github.com/meshmon/meshmon/node/nodetest"
	"github.com/meshmon/meshmon/p2p"
)

// TestP2PAnnounce: the addresses a node in Docker tells its peers come from
// --p2p-announce, MESHMON_P2P_ANNOUNCE or nodeconf's listen.announce (the
// flag and the variable win over the file), and /api/p2p, which peers read
// to dial the node, returns exactly them instead of the listen addresses.
func TestP2PAnnounce(t *testing.T) {
	fileAddrs := []string{"/dns4/from-file.example.com/tcp/4101"}
	cases := []struct {
		name   string
		env    string   // MESHMON_P2P_ANNOUNCE
		flags  []string // --p2p-announce values
		inFile bool     // listen.announce in nodeconf
		want   []string
	}{
		{name: "none", want: nil},
		{name: "flag", flags: []string{"/ip4/203.0.113.7/tcp/4001", "/ip4/203.0.113.7/udp/4001/quic-v1"},
			want: []string{"/ip4/203.0.113.7/tcp/4001", "/ip4/203.0.113.7/udp/4001/quic-v1"}},
		{name: "env", env: "/dns4/node.example.com/tcp/4001,/ip6/2001:db8::7/tcp/4001",
			want: []string{"/dns4/node.example.com/tcp/4001", "/ip6/2001:db8::7/tcp/4001"}},
		{name: "nodeconf", inFile: true, want: fileAddrs},
		{name: "flag over nodeconf", inFile: true, flags: []string{"/ip4/198.51.100.9/tcp/4001"},
			want: []string{"/ip4/198.51.100.9/tcp/4001"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("MESHMON_P2P_ANNOUNCE", tc.env) // restored after the test
			if tc.env == "" {
				os.Unsetenv("MESHMON_P2P_ANNOUNCE")
			}
			port := nodetest.FreePorts(t, 1)[0]
			dirs, err := node.WriteCluster(node.ClusterSpec{
				Dir: t.TempDir(), NetworkID: "ann", Names: []string{"a"},
				URLs:      []string{fmt.Sprintf("http://127.0.0.1:%d", port)},
				P2PListen: []string{"/ip4/127.0.0.1/tcp/0"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if tc.inFile {
				nc := "networks:\n  - directory: ann\n    node_id: a\nlisten:\n  p2p:\n    - /ip4/127.0.0.1/tcp/0\n  announce:\n"
				for _, a := range fileAddrs {
					nc += "    - " + a + "\n"
				}
				if err := os.WriteFile(filepath.Join(dirs[0], "nodeconf.yml"), []byte(nc), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := []string{"meshmon", "run", "--config-dir", dirs[0], "--log-level", "WARN",
				"--http-listen", fmt.Sprintf("127.0.0.1:%d", port)}
			for _, f := range tc.flags {
				args = append(args, "--p2p-announce", f)
			}
			r := startRunInProcess(t, args)

			var info p2p.P2PInfo
			ok := nodetest.Eventually(15*time.Second, func() bool {
				resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/p2p", port))
				if err != nil {
					return false
				}
				defer resp.Body.Close()
				return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&info) == nil
			})
			if !ok {
				t.Fatalf("no /api/p2p answer within 15s%s", r.exited())
			}
			if tc.want == nil {
				// Without announce addresses peers get the listen address.
				if !slices.ContainsFunc(info.Addrs, func(a string) bool { return strings.HasPrefix(a, "/ip4/127.0.0.1/tcp/") }) {
					t.Errorf("addrs = %v; want the 127.0.0.1 listen address", info.Addrs)
				}
				return
			}
			got := slices.Clone(info.Addrs)
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("/api/p2p addrs = %v; want exactly %v", info.Addrs, tc.want)
			}
		})
	}
}

// inProcess is `meshmon run` running in this test process.
type inProcess struct {
	done chan struct{}
	err  error // set before done closes
	logs syncbuf.Buffer
}

// startRunInProcess runs `meshmon run` with args in this process until the
// test ends, when it must stop within 15 s without an error.
func startRunInProcess(t *testing.T, args []string) *inProcess {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &inProcess{done: make(chan struct{})}
	go func() { r.err = run(ctx, args, &bytes.Buffer{}, &r.logs); close(r.done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
			if r.err != nil {
				t.Errorf("run: %v", r.err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("node did not stop within 15s of its context ending")
		}
	})
	return r
}

// exited says, for a failure message, whether the node has exited and how,
// with its logs.
func (r *inProcess) exited() string {
	select {
	case <-r.done:
		return fmt.Sprintf(": the node exited: %v\n%s", r.err, r.logs.String())
	default:
		return "\n" + r.logs.String()
	}
}
