//go:build linux

package nat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshmon/meshmon/internal/netlab"
	"github.com/meshmon/meshmon/internal/netlab/netlabtest"
)

// nsPrefix starts the name of every namespace these tests create; the pid
// of the test process follows, so two runs never share a name and a
// leftover of a killed run is recognisable (netlab.RemoveLeftovers).
const nsPrefix = "mmnat"

// lab owns the network namespaces of one test. Everything the test builds
// (veths, bridge, addresses, routes, iptables rules, sysctls) is inside
// them, so deleting them undoes all of it.
type lab = netlabtest.Lab

// newLab returns a lab whose namespaces are named mmnat<pid>-<name>-…; they
// are deleted when the test ends (registered first, so this cleanup runs
// after those of the processes inside them).
func newLab(t *testing.T, name string) *lab { return netlabtest.New(t, nsPrefix, name) }

// addrPlan numbers a topology. The "internet" is one bridged segment; each
// home is a LAN behind its own router.
type addrPlan struct {
	v6        bool
	inetBits  int
	public    func(i int) string // public node i on the internet
	routerWAN func(i int) string // home router i on the internet
	lanBits   int
	lanRouter func(i int) string // home router i on its LAN
	lanHost   func(i int) string // the node in home i
}

// private4 numbers everything from RFC 1918: the internet is 10.77.0.0/24,
// home i is 192.168.<i+1>.0/24. libp2p counts none of these addresses as
// public (manet.IsPublicAddr), so it never tries to hole-punch here.
var private4 = addrPlan{
	inetBits:  24,
	public:    func(i int) string { return fmt.Sprintf("10.77.0.%d", 10+i) },
	routerWAN: func(i int) string { return fmt.Sprintf("10.77.0.%d", 101+i) },
	lanBits:   24,
	lanRouter: func(i int) string { return fmt.Sprintf("192.168.%d.1", i+1) },
	lanHost:   func(i int) string { return fmt.Sprintf("192.168.%d.2", i+1) },
}

// benchmark6 numbers the internet from 2001:2::/48, the IPv6 block IANA
// reserves for benchmarking (RFC 5180): never routed on the real internet,
// but outside every range manet.IsPublicAddr rejects, so libp2p treats the
// addresses as public and hole-punches with them. Each public node and
// each router sits in its own /56, since libp2p counts one /56 as one
// observer of an address. The homes are ULA (fd00:<a+i>::/64, private to
// libp2p), behind NAT66.
var benchmark6 = addrPlan{
	v6:        true,
	inetBits:  48,
	public:    func(i int) string { return fmt.Sprintf("2001:2:0:%x00::10", 0x11+i) },
	routerWAN: func(i int) string { return fmt.Sprintf("2001:2:0:%x00::1", 0xa1+i) },
	lanBits:   64,
	lanRouter: func(i int) string { return fmt.Sprintf("fd00:%x::1", 0xa+i) },
	lanHost:   func(i int) string { return fmt.Sprintf("fd00:%x::2", 0xa+i) },
}

// site is one namespace with a meshmon node in it.
type site struct {
	name string // node_id
	ns   string
	ip   string // its own address (a LAN address for a home)
}

// home is a NATed site and its router.
type home struct {
	site
	router string // the router's namespace
	wanIP  string // the router's address on the internet: the node's public face
}

// topology is the built network: an internet segment (a bridge in its own
// namespace) with every public node and every home router on it.
type topology struct {
	lab     *lab
	plan    addrPlan
	inet    string
	publics []site
	homes   []home
}

// buildTopology builds the internet, one namespace per public node on it,
// and one home per name: a router namespace (WAN on the internet, LAN to
// the home) and the home's namespace. The routers masquerade, forward, and
// drop every new connection from the WAN: no port forwards, and nothing on
// the router itself answers from outside.
func buildTopology(l *lab, plan addrPlan, publicNames, homeNames []string) *topology {
	l.T().Helper()
	tp := &topology{lab: l, plan: plan}
	tp.inet = l.NewNS("inet", plan.v6)
	l.Must("ip", "-n", tp.inet, "link", "add", "br0", "type", "bridge")
	l.Must("ip", "-n", tp.inet, "link", "set", "br0", "up")
	port := 0
	attach := func(ns, dev string) {
		port++
		p := fmt.Sprintf("port%d", port)
		l.Veth(ns, dev, tp.inet, p)
		l.Must("ip", "-n", tp.inet, "link", "set", p, "master", "br0")
	}
	for i, name := range publicNames {
		s := site{name: name, ns: l.NewNS(name, plan.v6), ip: plan.public(i)}
		attach(s.ns, "eth0")
		l.Addr(s.ns, "eth0", s.ip, plan.inetBits)
		tp.publics = append(tp.publics, s)
	}
	for i, name := range homeNames {
		h := home{
			site:   site{name: name, ns: l.NewNS(name, plan.v6), ip: plan.lanHost(i)},
			router: l.NewNS(name+"-nat", plan.v6),
			wanIP:  plan.routerWAN(i),
		}
		attach(h.router, "wan")
		l.Addr(h.router, "wan", h.wanIP, plan.inetBits)
		l.Veth(h.router, "lan", h.ns, "eth0")
		l.Addr(h.router, "lan", plan.lanRouter(i), plan.lanBits)
		l.Addr(h.ns, "eth0", h.ip, plan.lanBits)
		ipt := "iptables"
		if plan.v6 {
			l.Must("ip", "-6", "-n", h.ns, "route", "add", "default", "via", plan.lanRouter(i))
			l.Sysctl(h.router, "net.ipv6.conf.all.forwarding", "1")
			ipt = "ip6tables"
		} else {
			l.Must("ip", "-n", h.ns, "route", "add", "default", "via", plan.lanRouter(i))
			l.Sysctl(h.router, "net.ipv4.ip_forward", "1")
		}
		l.In(h.router, ipt, "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE")
		l.In(h.router, ipt, "-A", "FORWARD", "-i", "wan", "-o", "lan", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT")
		l.In(h.router, ipt, "-A", "FORWARD", "-i", "wan", "-o", "lan", "-j", "DROP")
		l.In(h.router, ipt, "-A", "INPUT", "-i", "wan", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT")
		if plan.v6 {
			// Neighbour discovery: without it the router has no WAN at all.
			l.In(h.router, ipt, "-A", "INPUT", "-i", "wan", "-p", "ipv6-icmp", "-j", "ACCEPT")
		}
		l.In(h.router, ipt, "-A", "INPUT", "-i", "wan", "-j", "DROP")
		tp.homes = append(tp.homes, h)
	}
	// A witness of direct traffic between homes: each router counts the
	// packets from another home's router that it forwards to its LAN. A
	// packet from outside reaches the LAN only on a flow the home opened
	// (anything else goes to the router itself and is dropped), so a count
	// above zero means the two homes talk directly: a punched hole.
	for _, h := range tp.homes {
		for _, o := range tp.homes {
			if o.name != h.name {
				tp.iptables(h.router, "-I", "FORWARD", "1", "-i", "wan", "-o", "lan", "-s", o.wanIP,
					"-m", "comment", "--comment", "from-"+o.name)
			}
		}
	}
	return tp
}

// directPackets returns how many packets from home o's router the router
// of home h has forwarded into its LAN (see buildTopology).
func (tp *topology) directPackets(h, o home) (int64, error) {
	ipt := "iptables"
	if tp.plan.v6 {
		ipt = "ip6tables"
	}
	out, err := netlab.Command(context.Background(), "ip", "netns", "exec", h.router, ipt, "-L", "FORWARD", "-v", "-x", "-n")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "/* from-"+o.name+" */") {
			f := strings.Fields(line)
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("%s: no counter for %s in:\n%s", h.router, o.name, out)
}

// checkNAT checks that the NATs do their job before any node runs: from
// each home, a public node answers (a refused connection is an answer:
// the path out works), and from the first public node, neither the home
// (no route) nor its router (new inbound connections are dropped) can be
// reached.
func (tp *topology) checkNAT() {
	t := tp.lab.T()
	t.Helper()
	pub := tp.publics[0]
	for _, h := range tp.homes {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := netlab.DialIn(ctx, netlab.Path(h.ns), "tcp", hostPort(pub.ip, p2pPort))
		cancel()
		if err == nil {
			c.Close()
			t.Fatalf("%s: something already listens on %s", h.name, hostPort(pub.ip, p2pPort))
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("%s cannot reach the public node %s through its NAT: %v", h.name, pub.ip, err)
		}
		for _, target := range []string{h.ip, h.wanIP} {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			c, err := netlab.DialIn(ctx, netlab.Path(pub.ns), "tcp", hostPort(target, p2pPort))
			cancel()
			if err == nil {
				c.Close()
				t.Fatalf("%s reached %s at %s: the NAT lets new connections in", pub.name, h.name, target)
			}
		}
	}
}

// iptables runs iptables (ip6tables for an IPv6 plan) in ns.
func (tp *topology) iptables(ns string, args ...string) {
	tp.lab.T().Helper()
	ipt := "iptables"
	if tp.plan.v6 {
		ipt = "ip6tables"
	}
	tp.lab.In(ns, append([]string{ipt}, args...)...)
}

// block makes public node pub drop every packet to and from the router of
// home h (op "-I" inserts the rules, "-D" deletes them). DROP, not REJECT:
// the path goes silent, as when a link or a relay disappears, and nothing
// tells the endpoints at once.
func (tp *topology) block(op string, pub site, h home) {
	tp.lab.T().Helper()
	tp.iptables(pub.ns, op, "INPUT", "-s", h.wanIP, "-j", "DROP")
	tp.iptables(pub.ns, op, "OUTPUT", "-d", h.wanIP, "-j", "DROP")
}

// hostPort joins an address and a port, bracketing IPv6.
func hostPort(ip string, port int) string {
	return net.JoinHostPort(ip, strconv.Itoa(port))
}
