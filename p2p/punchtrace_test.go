package p2p

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/config"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	"github.com/libp2p/go-libp2p/p2p/protocol/identify"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
)

// TestPunchTracerLogsOutcomes: every hole punch outcome this node sees
// reaches its log at INFO, naming the member and, for a failure, why; the
// steps in between stay out of it.
func TestPunchTracerLogsOutcomes(t *testing.T) {
	remote := peer.ID("remote-peer")
	cases := []struct {
		name string
		evt  any
		want []string // substrings of the one INFO line; nil: no line
	}{
		{"punched", &holepunch.EndHolePunchEvt{Success: true, EllapsedTime: 12 * time.Millisecond},
			[]string{"level=INFO", "hole punched: the link is direct", "node=home-b", "took=12ms", "via=/ip6/2001:2::1/tcp/4001"}},
		{"failed", &holepunch.EndHolePunchEvt{Error: "dial backoff", EllapsedTime: time.Second},
			[]string{"level=INFO", "hole punch attempt failed", "node=home-b", `err="dial backoff"`}},
		{"no start", &holepunch.ProtocolErrorEvt{Error: "stream reset"},
			[]string{"level=INFO", "hole punch could not start", "node=home-b", `err="stream reset"`}},
		{"direct dial", &holepunch.DirectDialEvt{Success: true},
			[]string{"level=INFO", "dialled a member directly", "node=home-b"}},
		{"direct dial failed (a punch follows)", &holepunch.DirectDialEvt{Error: "refused"}, nil},
		{"start", &holepunch.StartHolePunchEvt{RTT: time.Millisecond}, nil},
		{"attempt", &holepunch.HolePunchAttemptEvt{Attempt: 1}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			tr := &punchTracer{
				log:    slog.New(slog.NewTextHandler(&buf, nil)),
				direct: func(peer.ID) string { return "/ip6/2001:2::1/tcp/4001" },
				node: func(p peer.ID) string {
					if p != remote {
						t.Errorf("named peer %q, want %q", p, remote)
					}
					return "home-b"
				},
			}
			tr.Trace(&holepunch.Event{Remote: remote, Evt: tc.evt})
			out := buf.String()
			if tc.want == nil {
				if out != "" {
					t.Fatalf("logged %q, want nothing", out)
				}
				return
			}
			if n := strings.Count(out, "\n"); n != 1 {
				t.Fatalf("logged %d lines, want 1: %q", n, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("log line %q lacks %q", out, w)
				}
			}
		})
	}
}

// TestPunchConfigTracesAndCounts: a hole punching service built with the
// options punchConfig sets both counts in libp2p's metrics and logs through
// the tracer. A gater refuses every dial, so nothing leaves this machine:
// the direct dial fails (counted) and the punch cannot start (logged).
func TestPunchConfigTracesAndCounts(t *testing.T) {
	var cfg config.Config
	punchConfig(&cfg, &punchTracer{log: slog.New(slog.DiscardHandler)}, nil)
	if !cfg.EnableHolePunching || len(cfg.HolePunchingOptions) != 1 {
		t.Fatalf("hole punching %v with %d options, want on with 1", cfg.EnableHolePunching, len(cfg.HolePunchingOptions))
	}

	reg := prometheus.NewRegistry()
	h, err := NewHost(HostConfig{Key: newKeys(t, "a")["a"].key, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		Logger: slog.New(slog.DiscardHandler), Gater: refuseDials{}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var logs bytes.Buffer
	cfg = config.Config{}
	punchConfig(&cfg, &punchTracer{log: slog.New(slog.NewTextHandler(&logs, nil)), node: func(peer.ID) string { return "home-b" }}, reg)
	lh := h.Libp2p()
	ids := lh.(interface{ IDService() identify.IDService }).IDService()
	// An address manet calls public (2001:2::/48), as a host behind NAT
	// learns its router's.
	own := ma.StringCast("/ip6/2001:2:0:1::10/tcp/4001")
	svc, err := holepunch.NewService(lh, ids, func() []ma.Multiaddr { return []ma.Multiaddr{own} }, cfg.HolePunchingOptions...)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	// libp2p's counters are shared by every host of this process.
	before, _ := counterValue(t, reg, "libp2p_holepunch_direct_dials_total", "outcome", "failed")
	remote := newKeys(t, "b")["b"].id
	lh.Peerstore().AddAddr(remote, ma.StringCast("/ip6/2001:2:0:2::10/tcp/4001"), time.Hour)
	if err := svc.DirectConnect(remote); err == nil {
		t.Fatal("DirectConnect to a peer every dial to which is refused succeeded")
	}
	if !strings.Contains(logs.String(), "hole punch could not start") || !strings.Contains(logs.String(), "node=home-b") {
		t.Errorf("log %q lacks the failed start naming the member", logs.String())
	}
	if after, _ := counterValue(t, reg, "libp2p_holepunch_direct_dials_total", "outcome", "failed"); after-before != 1 {
		t.Errorf("libp2p_holepunch_direct_dials_total{outcome=failed} went from %v to %v, want one more", before, after)
	}
}

// refuseDials is a connection gater that refuses every outbound dial.
type refuseDials struct{}

func (refuseDials) InterceptPeerDial(peer.ID) bool               { return false }
func (refuseDials) InterceptAddrDial(peer.ID, ma.Multiaddr) bool { return false }
func (refuseDials) InterceptAccept(network.ConnMultiaddrs) bool  { return true }
func (refuseDials) InterceptSecured(network.Direction, peer.ID, network.ConnMultiaddrs) bool {
	return true
}
func (refuseDials) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// TestPunchNote: a private host logs once when it becomes able to punch,
// and once if it still cannot a minute after its start; nothing else.
func TestPunchNote(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	steps := []struct {
		after time.Duration
		ready bool
		want  string // a substring of the line; "" for none
	}{
		{2 * time.Second, false, ""},
		{punchReadyAfter - time.Second, false, ""},
		{punchReadyAfter, false, "no public address of this node for hole punching yet"},
		{punchReadyAfter + 2*time.Second, false, ""}, // told once
		{punchReadyAfter + 4*time.Second, true, "hole punching ready"},
		{punchReadyAfter + 6*time.Second, true, ""},
	}
	var n punchNote
	for i, s := range steps {
		var msg string
		n, msg = n.next(s.ready, start, start.Add(s.after))
		if (s.want == "") != (msg == "") || !strings.Contains(msg, s.want) {
			t.Errorf("step %d (%v, ready %v): logged %q; want %q", i, s.after, s.ready, msg, s.want)
		}
	}
	// Ready from the first look: one line, no complaint later.
	n = punchNote{}
	if _, msg := n.next(true, start, start.Add(2*time.Second)); !strings.Contains(msg, "hole punching ready") {
		t.Errorf("ready at once: logged %q", msg)
	}
}

// TestHolePunchingOnLoopback: a host with only loopback addresses has no
// public address to punch with, and says so.
func TestHolePunchingOnLoopback(t *testing.T) {
	nodes := newKeys(t, "a")
	nodes["a"].startWith(t, nodes, ReachabilityPrivate, nil)
	if got := nodes["a"].host.HolePunching(); got != PunchNoPublicAddress {
		t.Errorf("HolePunching() = %q on loopback; want %q", got, PunchNoPublicAddress)
	}
}

// TestPunchTracerNamesTriedAddresses: a failed attempt's line lists the
// addresses its punch tried, and a later attempt does not inherit them.
func TestPunchTracerNamesTriedAddresses(t *testing.T) {
	var buf bytes.Buffer
	tr := &punchTracer{log: slog.New(slog.NewTextHandler(&buf, nil)), node: func(peer.ID) string { return "home-b" }}
	remote := peer.ID("remote-peer")
	tr.Trace(&holepunch.Event{Remote: remote, Evt: &holepunch.StartHolePunchEvt{RemoteAddrs: []string{"/ip6/2001:2::b/tcp/4001"}}})
	tr.Trace(&holepunch.Event{Remote: remote, Evt: &holepunch.EndHolePunchEvt{Error: "i/o timeout"}})
	tr.Trace(&holepunch.Event{Remote: remote, Evt: &holepunch.EndHolePunchEvt{Error: "i/o timeout"}})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("logged %d lines, want 2: %q", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], "tried=[/ip6/2001:2::b/tcp/4001]") {
		t.Errorf("first failure %q lacks the tried address", lines[0])
	}
	if strings.Contains(lines[1], "2001:2::b") {
		t.Errorf("second failure %q names the first attempt's addresses", lines[1])
	}
}
