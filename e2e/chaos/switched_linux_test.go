//go:build linux

package chaos

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/meshmon/meshmon/internal/netlab"
)

// switched is a set of namespaces, one per node, each with eth0 on one
// port of a user-space switch that runs in its own namespace:
//
//	node i: eth0 10.88.0.<10+i>/24 ── veth ── p<i> (switch namespace) ── vswitch
//
// Addresses exist only inside these namespaces; the switch namespace has
// none at all.
type switched struct {
	lab   *lab
	sw    *vswitch
	names []string
	nss   []string // node namespaces, parallel to names
	ips   []string
}

// switchedNet builds the namespaces and starts the switch; everything is
// torn down when the test ends.
func switchedNet(t testing.TB, lab *lab, names []string) *switched {
	t.Helper()
	s := &switched{lab: lab, names: names}
	swNS := lab.NewNS("sw", false)
	var ports []string
	for i, name := range names {
		ns := lab.NewNS(name, false)
		port := fmt.Sprintf("p%d", i)
		lab.Veth(ns, "eth0", swNS, port)
		for _, end := range []struct{ ns, dev string }{{ns, "eth0"}, {swNS, port}} {
			if err := disableOffloads(netlab.Path(end.ns), end.dev); err != nil {
				t.Fatal(err)
			}
		}
		ip := fmt.Sprintf("10.88.0.%d", 10+i)
		lab.Addr(ns, "eth0", ip, 24)
		s.nss = append(s.nss, ns)
		s.ips = append(s.ips, ip)
		ports = append(ports, port)
	}
	sw, err := startSwitch(swNS, ports)
	if err != nil {
		t.Fatal(err)
	}
	s.sw = sw
	t.Cleanup(sw.close)
	return s
}

// The fixed ports inside every node namespace.
const (
	nsHTTPPort = 8000
	nsP2PPort  = 4001
	nsHookPort = 9000
)

// switchedCluster starts one node in each namespace of s. Each node's
// webhook is http://127.0.0.1:9000/hook: the same URL at every node, so
// they form one notification cluster, and each reaches the test's sink on
// a listener inside its own namespace, off the impaired links. The nodes
// listen on TCP only: the switch forwards single frames, and QUIC's UDP
// segmentation offload would hand it 64 KB ones.
func switchedCluster(t testing.TB, s *switched, sk *sink) *cluster {
	t.Helper()
	for _, ns := range s.nss {
		ln, err := netlab.ListenIn(netlab.Path(ns), "tcp", fmt.Sprintf("127.0.0.1:%d", nsHookPort))
		if err != nil {
			t.Fatal(err)
		}
		sk.serve(ln)
	}
	spec := clusterSpec{
		names:     s.names,
		p2pListen: []string{fmt.Sprintf("/ip4/0.0.0.0/tcp/%d", nsP2PPort)},
		webhook:   fmt.Sprintf("http://127.0.0.1:%d/hook", nsHookPort),
		api:       func(int) string { return fmt.Sprintf("http://127.0.0.1:%d", nsHTTPPort) },
		argv: func(i int, dir string) []string {
			return []string{"ip", "netns", "exec", s.nss[i], meshmonBin, "run",
				"--config-dir", dir, "--http-listen", fmt.Sprintf(":%d", nsHTTPPort)}
		},
		dial: func(i int) func(ctx context.Context, network, addr string) (net.Conn, error) {
			path := netlab.Path(s.nss[i])
			return func(ctx context.Context, network, addr string) (net.Conn, error) {
				return netlab.DialIn(ctx, path, network, addr)
			}
		},
	}
	for _, ip := range s.ips {
		spec.urls = append(spec.urls, fmt.Sprintf("http://%s:%d", ip, nsHTTPPort))
	}
	return startCluster(t, spec)
}

// logSwitch logs the switch's counters.
func (s *switched) logSwitch(t testing.TB) {
	t.Helper()
	for i, name := range s.names {
		st := s.sw.stats(i)
		t.Logf("switch port %s: in %d, out %d, lost %d, cut %d, oversize %d, send errors %d",
			name, st.In, st.Out, st.Lost, st.Cut, st.Oversize, st.SendErrors)
	}
	if st := s.sw.total(); st.Oversize > 0 || st.SendErrors > 0 {
		t.Errorf("switch: %d oversize frames and %d send errors; want none (an offload left on?)", st.Oversize, st.SendErrors)
	}
}

// awaitTime returns how long until now reaches t (0 if past).
func awaitTime(t time.Time) time.Duration {
	return max(0, time.Until(t))
}
