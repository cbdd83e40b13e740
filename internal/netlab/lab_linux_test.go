//go:build linux

package netlab

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestLeftover(t *testing.T) {
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	dead := gone.Process.Pid
	for _, tc := range []struct {
		name    string
		want    bool
		wantPID int
	}{
		{fmt.Sprintf("mmtest%d-relay-inet", dead), true, dead},
		{fmt.Sprintf("mmtest%d-x", os.Getpid()), false, 0},  // this run's
		{fmt.Sprintf("mmtest%d-x", os.Getppid()), false, 0}, // a run still going
		{fmt.Sprintf("other%d-x", dead), false, 0},
		{"mmtest-x", false, 0},
		{"mmtest12a-x", false, 0},
		{fmt.Sprintf("mmtest%d", dead), false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pid, ok := Leftover("mmtest", tc.name)
			if ok != tc.want || pid != tc.wantPID {
				t.Errorf("Leftover(mmtest, %s) = %d, %v; want %d, %v", tc.name, pid, ok, tc.wantPID, tc.want)
			}
		})
	}
}

// needRoot fails the test under CI=true (CI runs as root with iproute2)
// and skips it elsewhere when it cannot make namespaces.
func needRoot(t *testing.T) {
	t.Helper()
	_, err := exec.LookPath("ip")
	if os.Geteuid() == 0 && err == nil {
		return
	}
	msg := "netlab needs root and ip (iproute2)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg + " (skipped because CI is not true)")
}

// TestLabTwoNamespaces builds two namespaces joined by a veth, talks
// across it from sockets opened inside each, and deletes everything.
func TestLabTwoNamespaces(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	l := New("mmnetlab", "pair")
	t.Cleanup(func() { _ = l.Close(ctx) })
	a, err := l.NewNS(ctx, "a", false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.NewNS(ctx, "b", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Veth(ctx, a, "eth0", b, "eth0"); err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct{ ns, ip string }{{a, "10.99.0.1"}, {b, "10.99.0.2"}} {
		if err := l.Addr(ctx, x.ns, "eth0", x.ip, 24); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := l.In(ctx, b, "cat", "/proc/sys/net/ipv6/conf/all/accept_dad"); err != nil || out != "0" {
		t.Errorf("accept_dad in the v6 namespace = %q, %v; want 0", out, err)
	}
	ln, err := ListenIn(Path(b), "tcp", "10.99.0.2:7000")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.WriteString(c, "hello from b\n")
	}()
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := DialIn(dctx, Path(a), "tcp", "10.99.0.2:7000")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	c.Close()
	if err != nil || string(got) != "hello from b\n" {
		t.Errorf("read across the veth = %q, %v; want the greeting", got, err)
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	out, err := Command(ctx, "ip", "netns", "list")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, a) || strings.Contains(out, b) {
		t.Errorf("after Close, ip netns list = %q; want %s and %s gone", out, a, b)
	}
}
