package bench

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/config"
	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/transport/quicreuse"
	"github.com/marcopolo/simnet"
	"github.com/quic-go/quic-go"
	"go.uber.org/fx"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/p2p"
)

// A simulated network: N meshmon nodes in one process, each a real p2p.Host
// and health.Engine (what node builds per network), joined by QUIC over
// github.com/marcopolo/simnet, the simulated UDP network of go-libp2p's
// x/simlibp2p, inside a testing/synctest bubble. Time in the bubble is
// virtual: it moves only when every goroutine of the bubble waits, so the
// figures do not depend on how busy the machine is, and a minute of the
// network costs what its CPU work costs, not a minute.
//
// What the simulation leaves out: TCP (simnet carries datagrams only, so
// every link is QUIC), the HTTP sidecar (members are found by their
// configured addrs, not by fetching /api/p2p), NAT and relays, and CPU
// contention (a goroutine's work takes no virtual time).

// simNetworkID is the simulated network's network_id.
const simNetworkID = "sim"

// simLatency is the one-way latency of every simulated link.
const simLatency = 5 * time.Millisecond

// simConn is a node's simulated UDP socket: it counts what the node sends
// and, while frozen, neither sends nor receives, as a stopped (SIGSTOP)
// process does.
type simConn struct {
	*simnet.SimConn
	frozen  atomic.Bool
	packets atomic.Int64
	bytes   atomic.Int64
}

// ipUDPHeader is the IPv4 and UDP header bytes of a datagram, so that the
// byte figures are IP bytes, as wirebench counts them.
const ipUDPHeader = 20 + 8

func (c *simConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if c.frozen.Load() {
		return len(p), nil
	}
	c.packets.Add(1)
	c.bytes.Add(int64(len(p) + ipUDPHeader))
	return c.SimConn.WriteTo(p, addr)
}

func (c *simConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.SimConn.ReadFrom(p)
		if err != nil || !c.frozen.Load() {
			return n, addr, err
		}
	}
}

// sourceIP is quicreuse's source IP selector on a simulated network: the
// node's own address.
type sourceIP struct{ ip net.IP }

func (s sourceIP) PreferredSourceIPForDestination(*net.UDPAddr) (net.IP, error) { return s.ip, nil }

// simTransport makes a host's QUIC transport listen and dial on network as
// ip (simlibp2p.QUICSimnet, with the socket wrapped in a simConn), and turns
// off identify's address discovery, which stalls a synctest bubble (as
// simlibp2p notes).
func simTransport(network *simnet.Simnet, ip net.IP, conn *atomic.Pointer[simConn]) config.Option {
	link := simnet.NodeBiDiLinkSettings{
		Downlink: simnet.LinkSettings{BitsPerSecond: 10_000_000_000},
		Uplink:   simnet.LinkSettings{BitsPerSecond: 10_000_000_000},
	}
	reuse := libp2p.QUICReuse(
		func(l fx.Lifecycle, reset quic.StatelessResetKey, token quic.TokenGeneratorKey, opts ...quicreuse.Option) (*quicreuse.ConnManager, error) {
			cm, err := quicreuse.NewConnManager(reset, token, opts...)
			if err != nil {
				return nil, err
			}
			l.Append(fx.StopHook(cm.Close))
			return cm, nil
		},
		quicreuse.OverrideSourceIPSelector(func() (quicreuse.SourceIPSelector, error) { return sourceIP{ip}, nil }),
		quicreuse.OverrideListenUDP(func(_ string, addr *net.UDPAddr) (net.PacketConn, error) {
			c := &simConn{SimConn: network.NewEndpoint(addr, link)}
			conn.Store(c)
			return c, nil
		}))
	return func(cfg *config.Config) error {
		cfg.DisableIdentifyAddressDiscovery = true
		return reuse(cfg)
	}
}

// simNode is one simulated meshmon node.
type simNode struct {
	name   string
	ip     net.IP
	addr   string
	key    ed25519.PrivateKey
	id     peer.ID
	conn   atomic.Pointer[simConn]
	host   *p2p.Host
	net    *p2p.Network
	engine *health.Engine
	cancel context.CancelFunc
	done   chan struct{}
}

// simCluster is a simulated network of meshmon nodes.
type simCluster struct {
	tb      testing.TB
	network *simnet.Simnet
	nodes   []*simNode
}

// newSimCluster makes n nodes' keys and addresses; start starts them.
func newSimCluster(tb testing.TB, n int) *simCluster {
	// The simnet logs every datagram to an address nobody listens on yet
	// (a member not started yet) at ERROR: nothing to report.
	c := &simCluster{tb: tb, network: &simnet.Simnet{LatencyFunc: simnet.StaticLatency(simLatency), Logger: slog.New(slog.DiscardHandler)}}
	for i := range n {
		_, key, err := ed25519.GenerateKey(nil)
		if err != nil {
			tb.Fatal(err)
		}
		id, err := p2p.PeerIDFromPublicKey(key.Public().(ed25519.PublicKey))
		if err != nil {
			tb.Fatal(err)
		}
		// Loopback addresses: they only name endpoints of the simulated
		// network; nothing is sent on a real one.
		ip := net.IPv4(127, 0, byte(1+i/250), byte(1+i%250))
		c.nodes = append(c.nodes, &simNode{name: fmt.Sprintf("n%03d", i), key: key, id: id,
			ip: ip, addr: fmt.Sprintf("/ip4/%s/udp/4001/quic-v1", ip)})
	}
	c.network.Start()
	return c
}

// start starts node i: its host, its network and its engine, as node does,
// with the default timing (1s heartbeat, suspect after 3s).
func (c *simCluster) start(i int) {
	c.tb.Helper()
	nd := c.nodes[i]
	log := slog.New(slog.DiscardHandler)
	h, err := p2p.NewHost(p2p.HostConfig{Key: nd.key, Listen: []string{nd.addr}, Logger: log,
		Options: []config.Option{simTransport(c.network, nd.ip, &nd.conn)}})
	if err != nil {
		c.tb.Fatalf("start %s: %v", nd.name, err)
	}
	byNode := map[string]peer.ID{}
	members := make([]health.Member, 0, len(c.nodes))
	endpoints := map[string]p2p.Endpoint{}
	for _, m := range c.nodes {
		byNode[m.name] = m.id
		members = append(members, health.Member{NodeID: m.name, PeerID: m.id})
		endpoints[m.name] = p2p.Endpoint{Addrs: []string{m.addr}}
	}
	e := health.NewEngine(health.EngineConfig{
		NetworkID: simNetworkID, Self: nd.name, Members: members,
		Heartbeat: time.Second, SuspectAfter: 3 * time.Second,
		Version: "sim", Reachability: string(p2p.ReachabilityPublic),
		Logger: log, Events: health.NewEventLog(256, nil),
	}, nil)
	pn, err := h.Join(p2p.NetworkConfig{ID: simNetworkID, Self: nd.name, Members: p2p.NewMembers(byNode),
		Endpoints: endpoints, Handler: e, PingInterval: time.Second, Logger: log})
	if err != nil {
		h.Close()
		c.tb.Fatalf("join %s: %v", nd.name, err)
	}
	e.SetPublisher(pn)
	ctx, cancel := context.WithCancel(context.Background())
	nd.host, nd.net, nd.engine, nd.cancel, nd.done = h, pn, e, cancel, make(chan struct{})
	go func() {
		defer close(nd.done)
		_ = e.Run(ctx)
	}()
}

// stop stops node i at once, without announcing that it leaves: its engine
// stops and its host closes its connections. It is what nodetest's Kill
// does, not a SIGKILL: a killed process sends nothing, a closed QUIC
// connection tells the peer.
func (c *simCluster) stop(i int) {
	nd := c.nodes[i]
	if nd.host == nil {
		return
	}
	nd.cancel()
	<-nd.done
	nd.net.Close()
	nd.host.Close()
	nd.host, nd.net, nd.engine = nil, nil, nil
}

// close stops every node and the simulated network.
func (c *simCluster) close() {
	for i := range c.nodes {
		c.stop(i)
	}
	c.network.Close()
}

// sees tells whether every running observer sees every subject with status
// want.
func (c *simCluster) sees(observers, subjects []int, want health.Status) bool {
	for _, o := range observers {
		e := c.nodes[o].engine
		if e == nil {
			return false
		}
		v := e.View()
		for _, s := range subjects {
			if nv := v.Nodes[c.nodes[s].name]; nv == nil || nv.Status != want {
				return false
			}
		}
	}
	return true
}

// wait waits in virtual time, polling every 50ms, until cond holds; it
// returns how long that took, and false after limit.
func (c *simCluster) wait(limit time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			return time.Since(start), false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start), true
}

func (c *simCluster) all() []int {
	out := make([]int, len(c.nodes))
	for i := range out {
		out[i] = i
	}
	return out
}

func (c *simCluster) except(v int) []int {
	return slices.DeleteFunc(c.all(), func(i int) bool { return i == v })
}

// sent is the IP bytes and packets node i has sent so far.
func (c *simCluster) sent(i int) (bytes, packets int64) {
	if sc := c.nodes[i].conn.Load(); sc != nil {
		return sc.bytes.Load(), sc.packets.Load()
	}
	return 0, 0
}

// simResult is what one simulated run measured. Times are virtual.
type simResult struct {
	n int
	// converge: start of every node (all at once) → every node sees
	// every node online.
	converge time.Duration
	// bytesPerNode, packetsPerNode: IP bytes and packets sent per node per
	// second over the window (mean).
	bytesPerNode, packetsPerNode float64
	// heapPerNode: the live Go heap per node after convergence.
	heapPerNode float64
	// start is what the start cost, from the start of every node to
	// convergence, per node (mean).
	start simStartCost
	// hung: a node stops answering (its socket drops everything) → every
	// survivor sees it offline. stopped: a node's host closes at once → the
	// same.
	hung, stopped time.Duration
}

// simStartCost is what a start of all nodes at once cost per node (mean),
// counted from the start to convergence plus the settle period.
type simStartCost struct {
	// syncs: sync exchanges started; syncEntries, syncBytes: entries and
	// message bytes received by sync; syncAdmitted: those that were new.
	syncs, syncEntries, syncBytes, syncAdmitted float64
	// reports, announces: Reports and announces published.
	reports, announces float64
	// gossipIn: messages admitted (gossip and sync); duplicates: refused
	// as already held.
	gossipIn, duplicates float64
	// bytes: IP bytes sent.
	bytes float64
}

// startCost sums what every running node counted so far, per node.
func (c *simCluster) startCost() simStartCost {
	var r simStartCost
	n := 0
	for i, nd := range c.nodes {
		if nd.net == nil {
			continue
		}
		n++
		st := nd.net.SyncStats()
		r.syncs += float64(st.Requested)
		r.syncEntries += float64(st.EntriesReceived)
		r.syncBytes += float64(st.BytesReceived)
		r.syncAdmitted += float64(st.Admitted)
		r.reports += float64(nd.engine.ReportsSent.Load())
		r.announces += float64(nd.engine.HeartbeatsSent.Load())
		v := nd.net.Validator()
		for _, k := range []p2p.Kind{p2p.KindHeartbeat, p2p.KindReport, p2p.KindDelivered, p2p.KindMonitor} {
			r.gossipIn += float64(v.Accepted(k))
		}
		r.duplicates += float64(v.Duplicates())
		b, _ := c.sent(i)
		r.bytes += float64(b)
	}
	if n == 0 {
		return r
	}
	f := float64(n)
	return simStartCost{r.syncs / f, r.syncEntries / f, r.syncBytes / f, r.syncAdmitted / f,
		r.reports / f, r.announces / f, r.gossipIn / f, r.duplicates / f, r.bytes / f}
}

func (s simStartCost) String() string {
	return fmt.Sprintf("per node: %.1f syncs, %.0f entries (%.0f kB) received by sync, %.0f of them new; %.1f reports and %.1f announces published; %.0f messages admitted, %.0f duplicates; %.0f kB sent",
		s.syncs, s.syncEntries, s.syncBytes/1e3, s.syncAdmitted, s.reports, s.announces, s.gossipIn, s.duplicates, s.bytes/1e3)
}

// simTimes bound each phase of simulate in virtual time.
const (
	simConvergeLimit = 2 * time.Minute
	simDetectLimit   = time.Minute
	simSettle        = 10 * time.Second
	simWindow        = 20 * time.Second
)

// simulate runs the simulated network of n nodes inside the current synctest
// bubble and measures it. The nodes start stagger apart (0: all at once);
// convergence is counted from the last start.
func simulate(t *testing.T, n int, stagger time.Duration) simResult {
	r := simResult{n: n}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	c := newSimCluster(t, n)
	defer c.close()
	for i := range n {
		if i > 0 && stagger > 0 {
			time.Sleep(stagger)
		}
		c.start(i)
	}
	t.Logf("N=%d: started", n)
	var ok bool
	if r.converge, ok = c.wait(simConvergeLimit, func() bool { return c.sees(c.all(), c.all(), health.StatusOnline) }); !ok {
		t.Fatalf("N=%d: not every node sees every node online after %v", n, simConvergeLimit)
	}
	t.Logf("N=%d: converged after %v", n, r.converge)
	time.Sleep(simSettle)
	r.start = c.startCost()
	t.Logf("N=%d: start %v", n, r.start)
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	r.heapPerNode = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)

	b0, p0 := make([]int64, n), make([]int64, n)
	for i := range n {
		b0[i], p0[i] = c.sent(i)
	}
	time.Sleep(simWindow)
	var bytes, packets int64
	for i := range n {
		b1, p1 := c.sent(i)
		bytes += b1 - b0[i]
		packets += p1 - p0[i]
	}
	r.bytesPerNode = float64(bytes) / float64(n) / simWindow.Seconds()
	r.packetsPerNode = float64(packets) / float64(n) / simWindow.Seconds()

	t.Logf("N=%d: window measured", n)
	// Hung: the victim's socket drops everything, then comes back.
	victim := n - 1
	survivors := c.except(victim)
	c.nodes[victim].conn.Load().frozen.Store(true)
	if r.hung, ok = c.wait(simDetectLimit, func() bool { return c.sees(survivors, []int{victim}, health.StatusOffline) }); !ok {
		t.Fatalf("N=%d: a hung node is not offline for every survivor after %v", n, simDetectLimit)
	}
	c.nodes[victim].conn.Load().frozen.Store(false)
	if _, ok = c.wait(simConvergeLimit, func() bool { return c.sees(c.all(), c.all(), health.StatusOnline) }); !ok {
		t.Fatalf("N=%d: the hung node is not back online for everyone after %v", n, simConvergeLimit)
	}
	time.Sleep(5 * time.Second)

	// Stopped: another victim's host closes at once.
	victim = n - 2
	survivors = c.except(victim)
	c.stop(victim)
	if r.stopped, ok = c.wait(simDetectLimit, func() bool { return c.sees(survivors, []int{victim}, health.StatusOffline) }); !ok {
		t.Fatalf("N=%d: a stopped node is not offline for every survivor after %v", n, simDetectLimit)
	}
	return r
}

// warmGlobals starts, outside any bubble, the goroutines that libp2p
// starts once per process: go-flow-metrics' sweeper (the bandwidth
// counter's meters). Started inside a bubble, it would outlive the bubble.
func warmGlobals() {
	bw := metrics.NewBandwidthCounter()
	bw.LogSentMessage(1)
	bw.LogRecvMessage(1)
}

// TestSimulatedNetwork: five nodes on the simulated network converge with
// fewer Reports than links, and every survivor sees a hung node and a
// stopped node offline within twice suspect_after. Time is virtual, so a
// busy machine cannot make it flake.
func TestSimulatedNetwork(t *testing.T) {
	warmGlobals()
	var r simResult
	synctest.Test(t, func(t *testing.T) { r = simulate(t, 5, 0) })
	const bound = 2 * 3 * time.Second
	if r.hung > bound || r.stopped > bound {
		t.Errorf("N=5: hung → offline %v, stopped → offline %v; want each within %v", r.hung, r.stopped, bound)
	}
	if r.bytesPerNode <= 0 {
		t.Errorf("N=5: %v IP bytes/s per node in steady state; want some (the pings)", r.bytesPerNode)
	}
	// The start's Reports are paced (health/reportpace.go): fewer than one
	// per link that came up, or a start costs N⁴ bytes network-wide.
	if r.start.reports >= 5-1 {
		t.Errorf("N=5: %.1f Reports per node published in the start; want fewer than one per link (4)", r.start.reports)
	}
	t.Logf("N=5: converge %v, %.0f B/s and %.1f packets/s per node, heap %.2f MiB per node, hung → offline %v, stopped → offline %v; start %v",
		r.converge, r.bytesPerNode, r.packetsPerNode, r.heapPerNode/(1<<20), r.hung, r.stopped, r.start)
}
