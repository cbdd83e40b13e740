package node_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/monitor"
	"github.com/meshmon/meshmon/node/nodetest"
	"github.com/meshmon/meshmon/notify"
	"github.com/meshmon/meshmon/version"
)

// service is a real HTTP service on loopback that a test can stop and start
// again on the same address.
type service struct {
	t       *testing.T
	addr    string
	handler http.Handler

	// mu protects srv.
	mu  sync.Mutex
	srv *http.Server
}

func newService(t *testing.T, h http.Handler) *service {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &service{t: t, addr: ln.Addr().String(), handler: h}
	s.serve(ln)
	t.Cleanup(s.stop)
	return s
}

func (s *service) URL() string { return "http://" + s.addr + "/health" }

func (s *service) serve(ln net.Listener) {
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 5 * time.Second}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.t.Errorf("service: %v", err)
		}
	}()
}

func (s *service) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		_ = s.srv.Close()
		s.srv = nil
	}
}

// start serves again on the same address.
func (s *service) start() {
	var ln net.Listener
	ok := nodetest.Eventually(10*time.Second, func() bool {
		var err error
		ln, err = net.Listen("tcp", s.addr)
		return err == nil
	})
	if !ok {
		s.t.Fatalf("cannot listen on %s again", s.addr)
	}
	s.serve(ln)
}

// monitorView is node i's view of monitor name.
func monitorView(c *nodetest.Cluster, i int, name string) (monitor.View, bool) {
	for _, s := range c.Node(i).MonitorSnapshots() {
		if v, ok := s.Monitor(name); ok {
			return v, true
		}
	}
	return monitor.View{}, false
}

// waitMonitor waits until every node in nodes sees monitor name satisfy ok
// and returns how long it took.
func waitMonitor(t *testing.T, c *nodetest.Cluster, nodes []int, name, what string, timeout time.Duration, ok func(monitor.Verdict) bool) time.Duration {
	t.Helper()
	start := time.Now()
	var last string
	if !nodetest.Eventually(timeout, func() bool {
		for _, i := range nodes {
			v, found := monitorView(c, i, name)
			if !found || !ok(v.Verdict) {
				last = fmt.Sprintf("%s sees %+v (vantages %+v)", c.Names[i], v.Verdict, v.Vantages)
				return false
			}
		}
		return true
	}) {
		t.Fatalf("monitor %s never %s on every node within %v: %s", name, what, timeout, last)
	}
	return time.Since(start)
}

// monitorYAML is one http monitor of url with a 2s interval and one retry.
func monitorYAML(name, url string) string {
	return fmt.Sprintf("  - name: %s\n    type: http\n    host: %s\n    interval: 2s\n    timeout: 1s\n    retry: 1\n", name, url)
}

// A service watched from three members goes down: every member agrees on
// down within two intervals, the leader alone sends one alert with each
// vantage point's evidence, and one recovery with the outage's length when
// the service is back. Every probe names its member in the User-Agent.
func TestMonitorDownAndBack(t *testing.T) {
	var uaMu sync.Mutex
	agents := map[string]bool{}
	svc := newService(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uaMu.Lock()
		agents[r.UserAgent()] = true
		uaMu.Unlock()
		_, _ = w.Write([]byte("ok"))
	}))
	f := newFakeDiscord(t)
	members := []int{0, 1, 2}
	c := startAlertClusterWith(t, 3, members, f, nil, nodetest.Options{Alerts: testAlerts, Monitors: monitorYAML("web", svc.URL())})
	waitMonitor(t, c, c.All(), "web", "up from 3 vantage points", converge, func(v monitor.Verdict) bool {
		return v.Status == monitor.StatusUp && v.Live == 3
	})
	uaMu.Lock()
	for _, n := range c.Names {
		want := fmt.Sprintf("meshmon/%s (node %s)", version.Version, n)
		found := false
		for ua := range agents {
			found = found || strings.HasPrefix(ua, "meshmon/") && strings.HasSuffix(ua, "(node "+n+")")
		}
		if !found {
			t.Errorf("no probe from %s with a User-Agent like %q; seen %v", n, want, agents)
		}
	}
	uaMu.Unlock()
	leader := electedCluster(t, c, members, nil)

	svc.stop()
	took := waitMonitor(t, c, c.All(), "web", "down", converge, func(v monitor.Verdict) bool {
		return v.Status == monitor.StatusDown && v.Agreed
	})
	// Two intervals (4s) of detection; one more second for scheduling on
	// a busy machine.
	if took > 5*time.Second {
		t.Errorf("the agreed down took %v; want within two intervals (4s)", took)
	}
	req := f.expectOne("web", "web is down", 0)
	if by := req.sentBy(); by != c.Names[leader] {
		t.Errorf("down alert sent by %s, want the leader %s", by, c.Names[leader])
	}
	if d := req.msg.Embeds[0].Description; !strings.Contains(d, "vantage points") || !strings.Contains(d, "connection refused") {
		t.Errorf("down alert description %q: want each vantage point's evidence", d)
	}

	svc.start()
	waitMonitor(t, c, c.All(), "web", "up again", converge, func(v monitor.Verdict) bool {
		return v.Status == monitor.StatusUp && v.Live == 3
	})
	req = f.expectOne("web", "web is back up", 1)
	if d := req.msg.Embeds[0].Description; !strings.Contains(d, "Was down from") {
		t.Errorf("recovery description %q: want the outage", d)
	}
	if !slices.ContainsFunc(req.msg.Embeds[0].Fields, func(fl notify.DiscordField) bool { return fl.Name == "Duration" }) {
		t.Errorf("recovery fields %+v lack the duration", req.msg.Embeds[0].Fields)
	}
}

// A service that fails for one member only (it answers 503 to that
// member's User-Agent) is degraded with that member named, on every
// member, and never alerts.
func TestMonitorOneVantageDegraded(t *testing.T) {
	svc := newService(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.UserAgent(), "(node n2)") {
			http.Error(w, "blocked", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	f := newFakeDiscord(t)
	members := []int{0, 1, 2}
	c := startAlertClusterWith(t, 3, members, f, nil, nodetest.Options{Alerts: testAlerts, Monitors: monitorYAML("web", svc.URL())})
	waitMonitor(t, c, c.All(), "web", "degraded by n2", converge, func(v monitor.Verdict) bool {
		return v.Status == monitor.StatusDegraded && slices.Equal(v.Failing, []string{"n2"}) && !v.Agreed && v.Live == 3
	})
	v, _ := monitorView(c, 0, "web")
	for _, x := range v.Vantages {
		if x.Node == "n2" && x.Reason != "HTTP 503" {
			t.Errorf("n1's evidence from n2 = %+v, want the reason HTTP 503", x)
		}
	}
	// Several more intervals: still no alert.
	if nodetest.Eventually(3*2*time.Second, func() bool { return f.count("web") > 0 }) {
		t.Fatalf("a monitor failing from one vantage point alerted:%s", f.describe())
	}
}

// Monitors follow config.yml while running: a monitor added to every
// member's copy is probed and agreed on, one removed disappears, and one
// whose definition differs on one member only is not mixed: that member's
// results are ignored (and counted) by the others.
func TestMonitorReload(t *testing.T) {
	svc := newService(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	c := nodetest.StartCluster(t, 3, nodetest.Options{Monitors: monitorYAML("web", svc.URL())})
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge)
	waitMonitor(t, c, c.All(), "web", "up", converge, func(v monitor.Verdict) bool { return v.Status == monitor.StatusUp && v.Live == 3 })

	edit := func(i int, f func(string) string) {
		path := filepath.Join(netDir(c, i, "test"), "config.yml")
		writeRename(t, path, f(readFile(t, path)))
	}
	for i := range 3 {
		edit(i, func(cfg string) string { return cfg + monitorYAML("api", svc.URL()) })
	}
	waitMonitor(t, c, c.All(), "api", "up after the reload", converge, func(v monitor.Verdict) bool {
		return v.Status == monitor.StatusUp && v.Live == 3
	})
	// n3 alone changes api's definition: n1 and n2 no longer count it.
	edit(2, func(cfg string) string {
		return strings.Replace(cfg, "name: api\n    type: http\n", "name: api\n    type: http\n    method: HEAD\n", 1)
	})
	waitMonitor(t, c, []int{0, 1}, "api", "up from 2 (n3's definition differs)", converge, func(v monitor.Verdict) bool {
		return v.Status == monitor.StatusUp && v.Live == 2
	})
	if !nodetest.Eventually(converge, func() bool {
		for _, s := range c.Node(0).MonitorServices() {
			if s.Mismatched.Load() > 0 {
				return true
			}
		}
		return false
	}) {
		t.Error("n1 never counted n3's results of another definition")
	}
	// Every member drops web: it is gone from every snapshot.
	for i := range 3 {
		edit(i, func(cfg string) string { return strings.Replace(cfg, monitorYAML("web", svc.URL()), "", 1) })
	}
	if !nodetest.Eventually(converge, func() bool {
		for i := range 3 {
			if _, ok := monitorView(c, i, "web"); ok {
				return false
			}
		}
		return true
	}) {
		t.Error("web is still in a snapshot after every member removed it")
	}
}

// selfSigned is a TLS certificate for 127.0.0.1 that expires after valid.
func selfSigned(t *testing.T, valid time.Duration) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(valid),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// A certificate that expires in 5 days, seen by every member: an agreed
// warning, alerted once with the reason.
func TestMonitorCertificateWarning(t *testing.T) {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{selfSigned(t, 5*24*time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_ = conn.(*tls.Conn).Handshake()
				conn.Close()
			}()
		}
	}()
	f := newFakeDiscord(t)
	members := []int{0, 1, 2}
	yaml := fmt.Sprintf("  - name: cert\n    type: tls\n    host: %s\n    interval: 2s\n    skip_tls_verify: true\n", ln.Addr())
	c := startAlertClusterWith(t, 3, members, f, nil, nodetest.Options{Alerts: testAlerts, Monitors: yaml})
	waitMonitor(t, c, c.All(), "cert", "an agreed warning", converge, func(v monitor.Verdict) bool {
		return v.Status == monitor.StatusWarning && v.Agreed && len(v.Warning) == 3
	})
	// The warning may go out while the cluster settles: wait for it, then
	// check that it stays the only one.
	if !nodetest.Eventually(converge, func() bool { return f.count("cert") > 0 }) {
		t.Fatalf("no warning alert:%s", f.describe())
	}
	nodetest.Eventually(settleWindow, func() bool { return f.count("cert") > 1 })
	all, _ := f.about("cert", "")
	if got := delivered(all); len(got) != 1 || !strings.HasPrefix(got[0].msg.Embeds[0].Title, "cert warns: certificate expires in ") {
		t.Errorf("want one \"cert warns: certificate expires in …\" alert:%s", f.describe())
	}
}

// A member that joins late learns the others' results through sync, long
// before their 2-minute refresh: reports go out only on change.
func TestMonitorJoinerSyncs(t *testing.T) {
	svc := newService(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	c := nodetest.StartCluster(t, 3, nodetest.Options{Monitors: monitorYAML("web", svc.URL()), Start: func(i int) bool { return i < 2 }})
	waitMonitor(t, c, []int{0, 1}, "web", "up from n1 and n2", converge, func(v monitor.Verdict) bool {
		return v.Status == monitor.StatusUp && v.Live == 2
	})
	c.Start(2)
	// Well under the refresh (108 s at the earliest).
	waitMonitor(t, c, []int{2}, "web", "up from 3 at the joiner", converge, func(v monitor.Verdict) bool {
		return v.Status == monitor.StatusUp && v.Live == 3
	})
}
