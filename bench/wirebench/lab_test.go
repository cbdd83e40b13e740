//go:build linux

package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

// needLab skips without root, ip or iptables, except under CI=true, where
// those are installed (.ci/run) and a skip would hide a broken harness.
func needLab(t *testing.T) {
	t.Helper()
	var missing string
	if os.Geteuid() != 0 {
		missing = "root"
	}
	for _, tool := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = tool
		}
	}
	if missing == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("needs %s", missing)
	}
	t.Skipf("needs %s", missing)
}

// TestLabCountsIPBytes builds a two-node lab, sends UDP datagrams of known
// size from node 0 to node 1 (sockets opened inside the namespaces) and
// checks that node 0's counters saw exactly their IP bytes: the total rule,
// the port rule, and nothing on the other port's rule; and that the lab's
// namespaces are gone after close.
func TestLabCountsIPBytes(t *testing.T) {
	needLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := newLab(ctx, "test")
	t.Cleanup(func() { _ = l.close() })
	if err != nil {
		t.Fatal(err)
	}
	var nss []string
	for i := range 2 {
		ns, err := l.addNode(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		nss = append(nss, ns)
	}
	rules := []portRule{{Label: "probe udp/7000", Proto: "udp", Port: 7000}, {Label: "other tcp/7001", Proto: "tcp", Port: 7001}}
	if err := installCounters(ctx, nss[0], rules); err != nil {
		t.Fatal(err)
	}
	before, err := readCounters(ctx, nss[0])
	if err != nil {
		t.Fatal(err)
	}

	const datagrams, payload = 5, 100
	// A socket per datagram: node 1 has no listener and answers with ICMP
	// port unreachable, which would fail a second write on the same
	// connected socket.
	for range datagrams {
		c, err := dialIn(ctx, nss[0], "udp", net.JoinHostPort(nodeIP(1), "7000"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(make([]byte, payload)); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	after, err := readCounters(ctx, nss[0])
	if err != nil {
		t.Fatal(err)
	}
	// Nothing else sends from node 0 but possibly ARP (not IP) and, for an
	// unanswered datagram, nothing: node 1 has no listener, so it replies
	// with ICMP port unreachable, which node 1 sends, not node 0.
	wantBytes := int64(datagrams * (payload + 8 + 20)) // UDP and IPv4 headers
	for _, tt := range []struct {
		label string
		want  counter
	}{
		{totalLabel, counter{datagrams, wantBytes}},
		{"probe udp/7000", counter{datagrams, wantBytes}},
		{"other tcp/7001", counter{0, 0}},
	} {
		got := counter{after[tt.label].Packets - before[tt.label].Packets, after[tt.label].Bytes - before[tt.label].Bytes}
		if got != tt.want {
			t.Errorf("counter %q grew by %+v; want %+v", tt.label, got, tt.want)
		}
	}

	if err := l.close(); err != nil {
		t.Fatal(err)
	}
	for _, ns := range append(nss, l.hub) {
		if _, err := os.Stat("/run/netns/" + ns); !os.IsNotExist(err) {
			t.Errorf("namespace %s still there after close (stat: %v)", ns, err)
		}
	}
}
