//go:build linux

package nat

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/meshmon/meshmon/internal/netlab"
	"github.com/meshmon/meshmon/node/nodetest"
)

var (
	// meshmonBin is the binary under test, built once by TestMain.
	meshmonBin string
	// unavailable says why the tests cannot run here ("" when they can).
	unavailable string
)

// Deadlines. The machine may have two busy cores running the rest of the
// suite, so they are generous; a passing run takes far less.
const (
	converge = 90 * time.Second // a fresh cluster: all online, edges measured
	settle   = 60 * time.Second // a change (cut, restore, hole punch) shows
	// punched: libp2p tries DCUtR once per new relayed connection and a try
	// can fail (e.g. the peer's DCUtR handler is not up yet); meshmon then
	// reopens the relayed link to try again after 10 s, 20 s, 40 s, 80 s…
	// (p2p.retryPunch), so several tries fit in this wait.
	punched = 4 * time.Minute
)

func TestMain(m *testing.M) {
	unavailable = labUnavailable()
	dir := ""
	if unavailable == "" {
		netlab.RemoveLeftovers(context.Background(), nsPrefix, func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "nat e2e: "+format+"\n", args...)
		})
		var err error
		meshmonBin, dir, err = nodetest.BuildBinary("meshmon-nat-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "nat e2e:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	if dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// labUnavailable says what is missing to build namespaces here.
func labUnavailable() string {
	if os.Geteuid() != 0 {
		return "not root (network namespaces and iptables need root: sudo -E go test ./e2e/nat/)"
	}
	for _, tool := range []struct{ cmd, pkg string }{
		{"ip", "iproute2"}, {"iptables", "iptables"}, {"ip6tables", "iptables"},
	} {
		if _, err := exec.LookPath(tool.cmd); err != nil {
			return fmt.Sprintf("%s not found (apt-get install -y %s)", tool.cmd, tool.pkg)
		}
	}
	return ""
}

// needLab skips the test when it cannot run here, or fails it under
// CI=true, where the NAT tests are part of the suite (.ci/run installs
// iproute2 and iptables and runs as root).
func needLab(t *testing.T) {
	t.Helper()
	if unavailable == "" {
		return
	}
	msg := "the NAT e2e tests need root, ip (iproute2) and iptables: " + unavailable
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg + " (skipped because CI is not true)")
}

// TestNATRelay is the topology: one public node on the "internet",
// two nodes each in a home behind its own NAT router (MASQUERADE, no port
// forwards, new inbound connections dropped). Every address is RFC 1918,
// which libp2p never hole-punches with (manet.IsPublicAddr), so the two
// NATed nodes can only ever reach each other through the public node's
// relay, and the test can require the pair to be relayed.
//
//  1. all three are online in every node's /api/view: the NATed nodes'
//     heartbeats reach everyone through the public node;
//  2. /api/p2p: the public node is public and runs the relay service, the
//     NATed ones are private; every view shows the same from heartbeats;
//  3. home-a ↔ home-b has an up edge with an RTT in both directions in every
//     node's /api/networks/nat, reported relayed, while each home's edges
//     to the public node are direct;
//  4. the public node drops all traffic to and from home-a's router. That is
//     home-a's only way to the relay, and with a single public node it is
//     also its only way to the gossip: a relayed circuit and the gossip run
//     over the same home-a → pub connection, so no packet filter can cut one
//     and keep the other (TestNATRelayOnlyCut does that with two public
//     nodes). Every node keeps answering; pub and home-b agree home-a is
//     offline and their edges to it are down; home-a sees the others gone.
//     With the rules removed, everything is online and relayed again.
func TestNATRelay(t *testing.T) {
	needLab(t)
	t.Parallel()
	l := newLab(t, "relay")
	tp := buildTopology(l, private4, []string{"pub"}, []string{"home-a", "home-b"})
	tp.checkNAT()
	pub, a, b := tp.publics[0], tp.homes[0], tp.homes[1]
	c := startCluster(t, tp, []member{
		{site: pub, url: "http://" + hostPort(pub.ip, httpPort)},
		{site: a.site},
		{site: b.site},
	})

	c.waitAllOnline(converge)
	c.waitReachability(settle)
	c.waitFor(converge, "home-a ↔ home-b up, measured and relayed in every view; home ↔ pub direct",
		c.all(c.pairUp("home-a", "home-b", true), c.pairUp("pub", "home-a", false), c.pairUp("pub", "home-b", false)))
	c.logAddrs()
	// Private IPv4 everywhere: no node has an address libp2p would punch
	// with, and /api/p2p says so.
	if ok, detail := c.holePunching("no_public_address", "home-a", "home-b")(); !ok {
		t.Errorf("hole punching state: %s", detail)
	}

	tp.block("-I", pub, a)
	t.Logf("pub now drops every packet to and from %s (home-a's router)", a.wanIP)
	c.waitFor(converge, "home-a cut off: offline to pub and home-b, edges to it down, every node answering",
		c.all(c.answering, func() (bool, string) {
			for _, obs := range []string{"pub", "home-b"} {
				v, err := c.byName(obs).view()
				if err != nil {
					return false, err.Error()
				}
				if p := wantStatus(v, "home-a", "offline"); p != "" {
					return false, obs + ": " + p
				}
				if p := wantStatus(v, "home-b", "online"); p != "" {
					return false, obs + ": " + p
				}
				if p := wantStatus(v, "pub", "online"); p != "" {
					return false, obs + ": " + p
				}
				for _, src := range []string{"pub", "home-b"} {
					if p := wantEdge(v, src, "home-a", "down"); p != "" {
						return false, obs + ": " + p
					}
				}
			}
			v, err := c.byName("home-a").view()
			if err != nil {
				return false, err.Error()
			}
			for _, other := range []string{"pub", "home-b"} {
				if st := status(v.Nodes[other]); st == "online" {
					return false, "home-a still sees " + other + " online"
				}
				if p := wantEdge(v, "home-a", other, "down"); p != "" {
					return false, "home-a: " + p
				}
			}
			return true, ""
		}))

	tp.block("-D", pub, a)
	t.Logf("pub forwards %s's traffic again", a.wanIP)
	c.waitAllOnline(converge)
	c.waitFor(converge, "home-a ↔ home-b relayed again in every view",
		c.pairUp("home-a", "home-b", true))
	tp.wantDirectPackets(a, b, false)
}

// TestNATRelayOnlyCut cuts only the relay path between the two NATed
// nodes, leaving every heartbeat a way through. With two public nodes,
// pub-1 drops home-a's router and pub-2 drops home-b's: a circuit through
// pub-1 needs home-a → pub-1 and one through pub-2 needs pub-2 → home-b, so
// no relay can join the pair (circuit relay v2 has no multi-hop), and the
// NATs rule out a direct path (RFC 1918 again: no hole punching). Gossip
// still flows home-a → pub-2 → pub-1 → home-b and back. Every view must
// then show the home-a ↔ home-b edges down while home-a and home-b stay
// online or degraded (their heartbeats are fresh: not offline), and every
// node answers; with the rules removed the pair is relayed again.
func TestNATRelayOnlyCut(t *testing.T) {
	needLab(t)
	t.Parallel()
	l := newLab(t, "cut")
	tp := buildTopology(l, private4, []string{"pub-1", "pub-2"}, []string{"home-a", "home-b"})
	tp.checkNAT()
	p1, p2, a, b := tp.publics[0], tp.publics[1], tp.homes[0], tp.homes[1]
	c := startCluster(t, tp, []member{
		{site: p1, url: "http://" + hostPort(p1.ip, httpPort)},
		{site: p2, url: "http://" + hostPort(p2.ip, httpPort)},
		{site: a.site},
		{site: b.site},
	})

	c.waitAllOnline(converge)
	c.waitFor(converge, "home-a ↔ home-b up, measured and relayed in every view",
		c.pairUp("home-a", "home-b", true))

	tp.block("-I", p1, a)
	tp.block("-I", p2, b)
	t.Logf("pub-1 drops home-a's router (%s), pub-2 drops home-b's (%s): no relay can join them", a.wanIP, b.wanIP)
	c.waitFor(converge, "home-a ↔ home-b down in every view, both still online or degraded, every node answering",
		c.all(c.answering, func() (bool, string) {
			return c.forEachView(func(_ *node, v *networkView) string {
				for _, d := range [][2]string{{"home-a", "home-b"}, {"home-b", "home-a"}} {
					if p := wantEdge(v, d[0], d[1], "down"); p != "" {
						return p
					}
				}
				for _, s := range []string{"home-a", "home-b"} {
					if st := status(v.Nodes[s]); st != "online" && st != "degraded" {
						return fmt.Sprintf("%s is %s, want online or degraded (its heartbeats still arrive)", s, st)
					}
				}
				return ""
			})
		}))

	tp.block("-D", p1, a)
	tp.block("-D", p2, b)
	t.Log("the public nodes forward both homes again")
	c.waitAllOnline(converge)
	c.waitFor(converge, "home-a ↔ home-b relayed again in every view", c.pairUp("home-a", "home-b", true))
	tp.wantDirectPackets(a, b, false)
}

// TestNATHolePunch is the variant where hole punching can succeed: four
// public nodes, two homes behind NAT routers, and the home-a ↔ home-b pair
// must end up direct (DCUtR) in every node's view.
//
// Hole punching needs addresses that libp2p calls public: a host only
// punches with the addresses manet.IsPublicAddr accepts
// (HolePunchAddrs in go-libp2p's p2p/host/basic/addrs_manager.go), which
// rejects RFC 1918, CGNAT 100.64/10, and every IPv4 block reserved for
// documentation or benchmarking. So the internet here is numbered from
// 2001:2::/48, the IPv6 benchmarking block (RFC 5180, "not globally
// reachable" in IANA's registry) that manet does not reject: the addresses
// are public to libp2p, yet exist only inside this test's namespaces,
// which have no route out. The homes are ULA behind NAT66 MASQUERADE, so
// a home node's only public address is its router's, which it learns from
// the public nodes' identify observations. Four public nodes, each in its
// own /56, are enough observers for libp2p to confirm that address
// (observedaddrs.ActivationThresh); go-libp2p v0.51 starts punching on a
// single observation, so that is a margin, not a requirement.
//
// The NAT is Linux MASQUERADE, which keeps the source port when it is free
// and maps by source (endpoint-independent), the kind of NAT that lets
// hole punching work. Membership reachability is written out
// (reachability: public / private) instead of left to auto.
func TestNATHolePunch(t *testing.T) {
	needLab(t)
	t.Parallel()
	l := newLab(t, "punch")
	pubs := []string{"pub-1", "pub-2", "pub-3", "pub-4"}
	tp := buildTopology(l, benchmark6, pubs, []string{"home-a", "home-b"})
	tp.checkNAT()
	var members []member
	for _, p := range tp.publics {
		members = append(members, member{site: p, url: "http://" + hostPort(p.ip, httpPort), reachability: "public"})
	}
	for _, h := range tp.homes {
		members = append(members, member{site: h.site, reachability: "private"})
	}
	c := startCluster(t, tp, members)

	c.waitAllOnline(converge)
	c.waitReachability(settle)
	c.waitFor(settle, "each home announces a /p2p-circuit address (it holds a relay reservation)", func() (bool, string) {
		for _, h := range tp.homes {
			p, err := c.byName(h.name).p2p()
			if err != nil {
				return false, err.Error()
			}
			if !hasCircuit(p.Addrs) {
				return false, fmt.Sprintf("%s announces %v", h.name, p.Addrs)
			}
		}
		return true, ""
	})
	c.logAddrs()
	c.waitFor(punched, "each home reports hole punching ready (it knows its router's address)",
		c.holePunching("ready", "home-a", "home-b"))
	c.waitFor(punched, "home-a ↔ home-b up, measured and direct (hole-punched) in every view",
		c.pairUp("home-a", "home-b", false))
	tp.wantDirectPackets(tp.homes[0], tp.homes[1], true)
	// A home says so in its log, naming the other.
	c.waitFor(settle, "a home logs the punched hole", func() (bool, string) {
		for _, pair := range [][2]string{{"home-a", "home-b"}, {"home-b", "home-a"}} {
			for line := range strings.Lines(grepLog(c.byName(pair[0]).log, "hole punched: the link is direct")) {
				if strings.Contains(line, "node="+pair[1]) {
					return true, ""
				}
			}
		}
		return false, "no \"hole punched\" line naming the other home in either home's log"
	})
}

// wantDirectPackets checks the routers' witness of direct traffic between
// homes a and b (buildTopology): some in both directions when want (a
// punched hole carries the pair's pings), none in either direction
// otherwise (every packet between them went through a relay).
func (tp *topology) wantDirectPackets(a, b home, want bool) {
	t := tp.lab.T()
	t.Helper()
	ab, err := tp.directPackets(b, a)
	if err != nil {
		t.Fatal(err)
	}
	ba, err := tp.directPackets(a, b)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("packets forwarded directly between the homes: %s → %s %d, %s → %s %d", a.name, b.name, ab, b.name, a.name, ba)
	if want && (ab == 0 || ba == 0) {
		t.Errorf("the views say %s ↔ %s is direct, but their routers forwarded %d and %d packets from each other", a.name, b.name, ab, ba)
	}
	if !want && (ab != 0 || ba != 0) {
		t.Errorf("the views say %s ↔ %s is relayed, but their routers forwarded %d and %d packets from each other", a.name, b.name, ab, ba)
	}
}

// waitAllOnline waits until every node's /api/view has every node online.
func (c *cluster) waitAllOnline(timeout time.Duration) {
	c.t.Helper()
	c.waitFor(timeout, "every node online in every node's /api/view", func() (bool, string) {
		for _, n := range c.nodes {
			var v view
			if err := n.get("/api/view", &v); err != nil {
				return false, err.Error()
			}
			nv := v.Networks[networkID]
			if nv == nil {
				return false, n.name + ": no network " + networkID + " in /api/view"
			}
			for _, s := range c.names() {
				if p := wantStatus(nv, s, "online"); p != "" {
					return false, "in " + n.name + "'s view " + p
				}
			}
		}
		return true, ""
	})
}

// wantReach is the reachability member m should report: its config, or
// by default public with a url and private without.
func (m member) wantReach() string {
	switch {
	case m.reachability != "" && m.reachability != "auto":
		return m.reachability
	case m.url != "":
		return "public"
	}
	return "private"
}

// waitReachability waits until every node's /api/p2p reports its
// reachability (and a relay service exactly on public nodes), and every
// view shows every node's reachability as its heartbeats announce it.
func (c *cluster) waitReachability(timeout time.Duration) {
	c.t.Helper()
	c.waitFor(timeout, "/api/p2p and every view report each node's reachability", func() (bool, string) {
		for _, n := range c.nodes {
			p, err := n.p2p()
			if err != nil {
				return false, err.Error()
			}
			want := n.wantReach()
			if p.Reachability != want {
				return false, fmt.Sprintf("%s /api/p2p: reachability %q, want %q", n.name, p.Reachability, want)
			}
			if p.RelayService == nil || *p.RelayService != (want == "public") {
				return false, fmt.Sprintf("%s /api/p2p: relay_service %v, want %t", n.name, fmtBool(p.RelayService), want == "public")
			}
		}
		return c.forEachView(func(_ *node, v *networkView) string {
			for _, m := range c.nodes {
				nv := v.Nodes[m.name]
				if nv == nil {
					return "no node " + m.name
				}
				if nv.Reachability != m.wantReach() {
					return fmt.Sprintf("%s reachability %q, want %q", m.name, nv.Reachability, m.wantReach())
				}
			}
			return ""
		})
	})
}

func fmtBool(b *bool) string {
	if b == nil {
		return "absent"
	}
	return fmt.Sprint(*b)
}

// pairUp holds when, in every node's view, both edges between a and b are
// up with an RTT and the given relayed flag, and the evidence agrees: b's
// observer entry for a (and a's for b) says connected, with that flag.
func (c *cluster) pairUp(a, b string, relayed bool) func() (bool, string) {
	return func() (bool, string) {
		return c.forEachView(func(_ *node, v *networkView) string {
			for _, d := range [][2]string{{a, b}, {b, a}} {
				src, dst := d[0], d[1]
				e, ok := v.edge(src, dst)
				if !ok {
					return fmt.Sprintf("no edge %s -> %s", src, dst)
				}
				if e.Status != "up" || e.RTTMs <= 0 || e.Relayed != relayed {
					return fmt.Sprintf("edge %s -> %s: %s, rtt %.2fms, relayed %t; want up, an rtt, relayed %t",
						src, dst, e.Status, e.RTTMs, e.Relayed, relayed)
				}
				nv := v.Nodes[dst]
				if nv == nil {
					return "no node " + dst
				}
				ob := nv.Observers[src]
				if ob == nil {
					return fmt.Sprintf("%s has no observer entry from %s", dst, src)
				}
				if !ob.Connected || ob.Relayed != relayed {
					return fmt.Sprintf("%s's observer entry from %s: connected %t, relayed %t; want connected, relayed %t",
						dst, src, ob.Connected, ob.Relayed, relayed)
				}
			}
			return ""
		})
	}
}

// all holds when every condition holds; the first that does not gives the
// detail.
func (c *cluster) all(conds ...func() (bool, string)) func() (bool, string) {
	return func() (bool, string) {
		for _, cond := range conds {
			if ok, detail := cond(); !ok {
				return false, detail
			}
		}
		return true, ""
	}
}

// answering holds when every process still runs and answers /api/health.
func (c *cluster) answering() (bool, string) {
	for _, n := range c.nodes {
		if ok, how := n.running(); !ok {
			// A crash fails the test at once, whatever else was awaited.
			c.t.Errorf("%s %s", n.name, how)
			c.dump()
			c.t.FailNow()
		}
		var h struct {
			Status string `json:"status"`
		}
		if err := n.get("/api/health", &h); err != nil {
			return false, err.Error()
		}
		if h.Status != "ok" {
			return false, fmt.Sprintf("%s /api/health: status %q", n.name, h.Status)
		}
	}
	return true, ""
}

// logAddrs logs what each node announces on /api/p2p.
func (c *cluster) logAddrs() {
	for _, n := range c.nodes {
		p, err := n.p2p()
		if err != nil {
			c.t.Logf("%s /api/p2p: %v", n.name, err)
			continue
		}
		c.t.Logf("%s /api/p2p: %s reachability=%s relay_service=%s addrs=%v", n.name, p.PeerID, p.Reachability, fmtBool(p.RelayService), p.Addrs)
	}
}

func hasCircuit(addrs []string) bool {
	for _, a := range addrs {
		if strings.Contains(a, "/p2p-circuit") {
			return true
		}
	}
	return false
}

func status(nv *nodeView) string {
	if nv == nil {
		return "absent"
	}
	return nv.Status
}

// wantStatus says what is wrong if node name's status in v is not want.
func wantStatus(v *networkView, name, want string) string {
	if st := status(v.Nodes[name]); st != want {
		return fmt.Sprintf("%s is %s, want %s", name, st, want)
	}
	return ""
}

// wantEdge says what is wrong if edge src -> dst in v is not want.
func wantEdge(v *networkView, src, dst, want string) string {
	e, ok := v.edge(src, dst)
	if !ok {
		return fmt.Sprintf("no edge %s -> %s", src, dst)
	}
	if e.Status != want {
		return fmt.Sprintf("edge %s -> %s is %s (rtt %.2fms), want %s", src, dst, e.Status, e.RTTMs, want)
	}
	return ""
}
