//go:build linux

package nat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// nsPrefix starts the name of every namespace these tests create; the pid
// of the test process follows, so two runs never share a name and a
// leftover of a killed run is recognisable (see removeLeftovers).
const nsPrefix = "mmnat"

var leftoverRE = regexp.MustCompile(`^` + nsPrefix + `([0-9]+)-`)

// command runs name with args and returns its trimmed combined output; the
// error carries the command line and the output.
func command(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	s := strings.TrimSpace(string(out))
	if err != nil {
		return s, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, s)
	}
	return s, nil
}

// removeLeftovers deletes the namespaces of earlier runs whose test
// process is gone (a run killed by -timeout never runs its cleanups).
func removeLeftovers() {
	out, err := command("ip", "netns", "list")
	if err != nil {
		return
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		m := leftoverRE.FindStringSubmatch(f[0])
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() || syscall.Kill(pid, 0) == nil {
			continue // this run's, or a run still going
		}
		if _, err := command("ip", "netns", "delete", f[0]); err == nil {
			fmt.Fprintf(os.Stderr, "nat e2e: deleted namespace %s left by an earlier run (pid %d)\n", f[0], pid)
		}
	}
}

// lab owns the network namespaces of one test. Everything the test builds
// (veths, bridge, addresses, routes, iptables rules, sysctls) is inside
// them, so deleting them undoes all of it.
type lab struct {
	t      *testing.T
	prefix string

	mu  sync.Mutex
	nss []string // created, in order
}

// newLab returns a lab whose namespaces are named mmnat<pid>-<name>-…; they
// are deleted when the test ends (registered first, so this cleanup runs
// after those of the processes inside them).
func newLab(t *testing.T, name string) *lab {
	l := &lab{t: t, prefix: fmt.Sprintf("%s%d-%s-", nsPrefix, os.Getpid(), name)}
	t.Cleanup(l.teardown)
	return l
}

// must runs a command and fails the test if it fails.
func (l *lab) must(name string, args ...string) string {
	l.t.Helper()
	out, err := command(name, args...)
	if err != nil {
		l.t.Fatal(err)
	}
	return out
}

// in runs a command inside namespace ns.
func (l *lab) in(ns string, args ...string) string {
	l.t.Helper()
	return l.must("ip", append([]string{"netns", "exec", ns}, args...)...)
}

// sysctl writes a value under /proc/sys inside ns (/proc/sys/net is per
// namespace); plain sh, so that procps is not needed.
func (l *lab) sysctl(ns, key, value string) {
	l.t.Helper()
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	l.in(ns, "sh", "-c", fmt.Sprintf("echo %s > %s", value, path))
}

// newNS creates namespace <prefix><name> with its loopback up.
func (l *lab) newNS(name string, v6 bool) string {
	l.t.Helper()
	ns := l.prefix + name
	l.must("ip", "netns", "add", ns)
	l.mu.Lock()
	l.nss = append(l.nss, ns)
	l.mu.Unlock()
	l.must("ip", "-n", ns, "link", "set", "lo", "up")
	if v6 {
		// No duplicate address detection: an address is usable at once.
		l.sysctl(ns, "net.ipv6.conf.default.accept_dad", "0")
		l.sysctl(ns, "net.ipv6.conf.all.accept_dad", "0")
	}
	return ns
}

// veth creates a veth pair with one end in each namespace; it is never in
// the root namespace, not even for a moment.
func (l *lab) veth(ns1, if1, ns2, if2 string) {
	l.t.Helper()
	l.must("ip", "link", "add", if1, "netns", ns1, "type", "veth", "peer", "name", if2, "netns", ns2)
	l.must("ip", "-n", ns1, "link", "set", if1, "up")
	l.must("ip", "-n", ns2, "link", "set", if2, "up")
}

// addr gives interface dev in ns the address ip/bits.
func (l *lab) addr(ns, dev, ip string, bits int) {
	l.t.Helper()
	args := []string{"-n", ns, "addr", "add", fmt.Sprintf("%s/%d", ip, bits), "dev", dev}
	if strings.Contains(ip, ":") {
		args = append(args, "nodad")
	}
	l.must("ip", args...)
}

// teardown deletes every namespace of the lab, last created first. The
// processes inside were stopped by their own cleanups, which ran before.
func (l *lab) teardown() {
	l.mu.Lock()
	nss := l.nss
	l.nss = nil
	l.mu.Unlock()
	for i := len(nss) - 1; i >= 0; i-- {
		if _, err := command("ip", "netns", "delete", nss[i]); err != nil {
			l.t.Errorf("teardown: %v", err)
		}
	}
}

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
	l.t.Helper()
	tp := &topology{lab: l, plan: plan}
	tp.inet = l.newNS("inet", plan.v6)
	l.must("ip", "-n", tp.inet, "link", "add", "br0", "type", "bridge")
	l.must("ip", "-n", tp.inet, "link", "set", "br0", "up")
	port := 0
	attach := func(ns, dev string) {
		port++
		p := fmt.Sprintf("port%d", port)
		l.veth(ns, dev, tp.inet, p)
		l.must("ip", "-n", tp.inet, "link", "set", p, "master", "br0")
	}
	for i, name := range publicNames {
		s := site{name: name, ns: l.newNS(name, plan.v6), ip: plan.public(i)}
		attach(s.ns, "eth0")
		l.addr(s.ns, "eth0", s.ip, plan.inetBits)
		tp.publics = append(tp.publics, s)
	}
	for i, name := range homeNames {
		h := home{
			site:   site{name: name, ns: l.newNS(name, plan.v6), ip: plan.lanHost(i)},
			router: l.newNS(name+"-nat", plan.v6),
			wanIP:  plan.routerWAN(i),
		}
		attach(h.router, "wan")
		l.addr(h.router, "wan", h.wanIP, plan.inetBits)
		l.veth(h.router, "lan", h.ns, "eth0")
		l.addr(h.router, "lan", plan.lanRouter(i), plan.lanBits)
		l.addr(h.ns, "eth0", h.ip, plan.lanBits)
		ipt := "iptables"
		if plan.v6 {
			l.must("ip", "-6", "-n", h.ns, "route", "add", "default", "via", plan.lanRouter(i))
			l.sysctl(h.router, "net.ipv6.conf.all.forwarding", "1")
			ipt = "ip6tables"
		} else {
			l.must("ip", "-n", h.ns, "route", "add", "default", "via", plan.lanRouter(i))
			l.sysctl(h.router, "net.ipv4.ip_forward", "1")
		}
		l.in(h.router, ipt, "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE")
		l.in(h.router, ipt, "-A", "FORWARD", "-i", "wan", "-o", "lan", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT")
		l.in(h.router, ipt, "-A", "FORWARD", "-i", "wan", "-o", "lan", "-j", "DROP")
		l.in(h.router, ipt, "-A", "INPUT", "-i", "wan", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT")
		if plan.v6 {
			// Neighbour discovery: without it the router has no WAN at all.
			l.in(h.router, ipt, "-A", "INPUT", "-i", "wan", "-p", "ipv6-icmp", "-j", "ACCEPT")
		}
		l.in(h.router, ipt, "-A", "INPUT", "-i", "wan", "-j", "DROP")
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
	out, err := command("ip", "netns", "exec", h.router, ipt, "-L", "FORWARD", "-v", "-x", "-n")
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
	t := tp.lab.t
	t.Helper()
	pub := tp.publics[0]
	for _, h := range tp.homes {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := dialIn(ctx, "/run/netns/"+h.ns, "tcp", hostPort(pub.ip, p2pPort))
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
			c, err := dialIn(ctx, "/run/netns/"+pub.ns, "tcp", hostPort(target, p2pPort))
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
	tp.lab.t.Helper()
	ipt := "iptables"
	if tp.plan.v6 {
		ipt = "ip6tables"
	}
	tp.lab.in(ns, append([]string{ipt}, args...)...)
}

// block makes public node pub drop every packet to and from the router of
// home h (op "-I" inserts the rules, "-D" deletes them). DROP, not REJECT:
// the path goes silent, as when a link or a relay disappears, and nothing
// tells the endpoints at once.
func (tp *topology) block(op string, pub site, h home) {
	tp.lab.t.Helper()
	tp.iptables(pub.ns, op, "INPUT", "-s", h.wanIP, "-j", "DROP")
	tp.iptables(pub.ns, op, "OUTPUT", "-d", h.wanIP, "-j", "DROP")
}

// hostPort joins an address and a port, bracketing IPv6.
func hostPort(ip string, port int) string {
	return net.JoinHostPort(ip, strconv.Itoa(port))
}

// dialIn opens a connection from inside the namespace at nsPath (a
// /run/netns file): the socket is created on a thread switched into that
// namespace with setns(2), so it belongs there for its whole life, and
// the thread is switched back before it runs anything else. The test
// process itself never gets an address or a route in the namespaces.
func dialIn(ctx context.Context, nsPath, network, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		c, restored, err := dialLocked(ctx, nsPath, network, addr)
		if restored {
			runtime.UnlockOSThread()
		} // else: the goroutine ends locked, so Go discards the thread
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// dialLocked does dialIn's work on the locked thread; restored tells
// whether the thread is back in its own namespace.
func dialLocked(ctx context.Context, nsPath, network, addr string) (net.Conn, bool, error) {
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, true, err
	}
	defer self.Close()
	target, err := os.Open(nsPath)
	if err != nil {
		return nil, true, err
	}
	defer target.Close()
	if err := setns(target); err != nil {
		return nil, true, fmt.Errorf("setns %s: %w", nsPath, err)
	}
	var d net.Dialer
	c, dialErr := d.DialContext(ctx, network, addr)
	if err := setns(self); err != nil {
		if c != nil {
			c.Close()
		}
		return nil, false, fmt.Errorf("setns back from %s: %w", nsPath, err)
	}
	return c, true, dialErr
}

func setns(f *os.File) error {
	if _, _, errno := syscall.RawSyscall(sysSetns, f.Fd(), syscall.CLONE_NEWNET, 0); errno != 0 {
		return errno
	}
	return nil
}
