package monitor

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshmon/meshmon/p2p/pb"
)

// mesh wires services to each other as gossip would: every published report
// reaches every other member's HandleReport. (The libp2p path is covered by
// the node tests.)
type mesh struct {
	mu   sync.Mutex
	svcs map[string]*Service
	sent map[string]int
}

func (m *mesh) publish(from string) func(*pb.MonitorReport) {
	return func(r *pb.MonitorReport) {
		m.mu.Lock()
		m.sent[from]++
		others := make([]*Service, 0, len(m.svcs))
		for id, s := range m.svcs {
			if id != from {
				others = append(others, s)
			}
		}
		m.mu.Unlock()
		for _, s := range others {
			s.HandleReport(from, r, time.Now())
		}
	}
}

// failing is a probe whose outcome the test sets per vantage point.
type failing struct{ down atomic.Bool }

func (f *failing) probe(context.Context) Result {
	if f.down.Load() {
		return Result{State: StateDown, Reason: "connection refused"}
	}
	return Result{State: StateUp, Latency: 3 * time.Millisecond}
}

func startMesh(t *testing.T, nodes []string, def func(self string, f *failing) Definition) (*mesh, map[string]*failing) {
	t.Helper()
	m := &mesh{svcs: map[string]*Service{}, sent: map[string]int{}}
	probes := map[string]*failing{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	live := map[string]bool{}
	for _, n := range nodes {
		live[n] = true
	}
	for _, n := range nodes {
		probes[n] = &failing{}
		s := New(Config{Network: "net", Self: n, Monitors: []Definition{def(n, probes[n])},
			Publish: m.publish(n), Debounce: 5 * time.Millisecond})
		s.SetLive(live)
		m.mu.Lock()
		m.svcs[n] = s
		m.mu.Unlock()
	}
	for _, s := range m.svcs {
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Run(ctx) }()
	}
	return m, probes
}

func webDef(nodes []string) func(string, *failing) Definition {
	return func(self string, f *failing) Definition {
		return Definition{Name: "web", Type: "http", Target: "http://127.0.0.1/", Group: "default",
			Interval: 50 * time.Millisecond, Timeout: 40 * time.Millisecond, Retry: 1, Runners: nodes, Hash: 7, Probe: f.probe}
	}
}

// eventually polls cond on a ticker until it holds or timeout passes, and
// then fails the test with what cond last said.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for {
		ok, last := cond()
		if ok {
			return
		}
		select {
		case <-deadline:
			t.Fatalf("%s: not within %v; last %s", what, timeout, last)
		case <-tick.C:
		}
	}
}

// waitVerdict waits until every service's verdict of "web" satisfies ok.
func waitVerdict(t *testing.T, m *mesh, what string, ok func(Verdict) bool) {
	t.Helper()
	eventually(t, 20*time.Second, "no "+what+" verdict on every member", func() (bool, string) {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, s := range m.svcs {
			v, found := s.Snapshot().Monitor("web")
			if !found || !ok(v.Verdict) {
				return false, fmt.Sprintf("%+v", v.Verdict)
			}
		}
		return true, ""
	})
}

func TestServiceAgrees(t *testing.T) {
	nodes := []string{"a", "b", "c"}
	m, probes := startMesh(t, nodes, webDef(nodes))
	waitVerdict(t, m, "up from 3", func(v Verdict) bool { return v.Status == StatusUp && v.Live == 3 })

	probes["a"].down.Store(true)
	waitVerdict(t, m, "degraded by a", func(v Verdict) bool {
		return v.Status == StatusDegraded && slices.Equal(v.Failing, []string{"a"}) && !v.Agreed
	})
	probes["b"].down.Store(true)
	waitVerdict(t, m, "down by a and b", func(v Verdict) bool {
		return v.Status == StatusDown && slices.Equal(v.Failing, []string{"a", "b"}) && v.Agreed
	})
	snap := m.svcs["c"].Snapshot()
	web, _ := snap.Monitor("web")
	for _, vt := range web.Vantages {
		if vt.Node == "a" && (vt.Reason != "connection refused" || vt.State != StateDown) {
			t.Errorf("c's evidence from a = %+v, want down with its reason", vt)
		}
	}
	probes["a"].down.Store(false)
	probes["b"].down.Store(false)
	waitVerdict(t, m, "up again", func(v Verdict) bool { return v.Status == StatusUp && v.Live == 3 })

	// A member that is no longer live does not count, whatever it said.
	probes["a"].down.Store(true)
	probes["b"].down.Store(true)
	waitVerdict(t, m, "down", func(v Verdict) bool { return v.Status == StatusDown })
	m.svcs["c"].SetLive(map[string]bool{"c": true, "b": true})
	eventually(t, 10*time.Second, "c's verdict without a, want degraded of 2 live", func() (bool, string) {
		v, _ := m.svcs["c"].Snapshot().Monitor("web")
		return v.Verdict.Status == StatusDegraded && v.Verdict.Live == 2, fmt.Sprintf("%+v", v.Verdict)
	})
}

// TestServicePublishesOnChange: a steady state is not republished on every
// probe, only when it changes (and on the slow refresh).
func TestServicePublishesOnChange(t *testing.T) {
	nodes := []string{"a", "b"}
	m, probes := startMesh(t, nodes, webDef(nodes))
	waitVerdict(t, m, "up", func(v Verdict) bool { return v.Status == StatusUp && v.Live == 2 })
	before := m.svcs["a"].Probes.Load()
	eventually(t, 20*time.Second, "20 more probes of a", func() (bool, string) {
		n := m.svcs["a"].Probes.Load()
		return n >= before+20, fmt.Sprintf("%d probes", n-before)
	})
	m.mu.Lock()
	sent := m.sent["a"]
	m.mu.Unlock()
	if sent != 1 {
		t.Errorf("a published %d reports over %d probes of a steady monitor, want 1", sent, m.svcs["a"].Probes.Load())
	}
	probes["a"].down.Store(true)
	waitVerdict(t, m, "degraded", func(v Verdict) bool { return v.Status == StatusDegraded })
	m.mu.Lock()
	sent = m.sent["a"]
	m.mu.Unlock()
	if sent != 2 {
		t.Errorf("a published %d reports after one change, want 2", sent)
	}
}

// TestServiceIgnoresOtherDefinitions: a member whose config.yml defines
// the monitor differently does not count, and it is counted.
func TestServiceIgnoresOtherDefinitions(t *testing.T) {
	s := New(Config{Network: "net", Self: "a", Monitors: []Definition{{Name: "web", Runners: []string{"a", "b"}, Hash: 1,
		Interval: time.Minute}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	s.SetLive(map[string]bool{"a": true, "b": true})
	s.HandleReport("b", &pb.MonitorReport{Results: []*pb.MonitorResult{
		{Name: "web", ConfigHash: 2, State: pb.MonitorState_MONITOR_STATE_DOWN},
		{Name: "other", ConfigHash: 1, State: pb.MonitorState_MONITOR_STATE_DOWN},
	}}, time.Now())
	eventually(t, 10*time.Second, "want mismatched and unknown 1 and 1", func() (bool, string) {
		mm, un := s.Mismatched.Load(), s.Unknown.Load()
		return mm == 1 && un == 1, fmt.Sprintf("mismatched=%d unknown=%d", mm, un)
	})
	v, _ := s.Snapshot().Monitor("web")
	if v.Verdict.Status != StatusUnknown || v.Vantages[1].Has {
		t.Errorf("verdict %+v, b %+v: a result of another definition must not count", v.Verdict, v.Vantages[1])
	}
}

// TestServiceRetakesReportsAfterReload: a member whose config.yml changed
// first publishes results this node ignores; once this node's definition
// matches, those results count at once, without waiting for the member's
// next report.
func TestServiceRetakesReportsAfterReload(t *testing.T) {
	def := func(hash uint32) []Definition {
		return []Definition{{Name: "web", Runners: []string{"a", "b"}, Hash: hash, Interval: time.Minute}}
	}
	s := New(Config{Network: "net", Self: "a", Monitors: def(1)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	s.SetLive(map[string]bool{"a": true, "b": true})
	s.HandleReport("b", &pb.MonitorReport{Results: []*pb.MonitorResult{
		{Name: "web", ConfigHash: 2, State: pb.MonitorState_MONITOR_STATE_DOWN, Reason: "HTTP 503"},
	}}, time.Now())
	waitFor := func(what string, ok func(View) bool) {
		t.Helper()
		eventually(t, 10*time.Second, what, func() (bool, string) {
			v, found := s.Snapshot().Monitor("web")
			return found && ok(v), fmt.Sprintf("%+v", v)
		})
	}
	eventually(t, 10*time.Second, "b's result of another definition counted", func() (bool, string) {
		n := s.Mismatched.Load()
		return n == 1, fmt.Sprintf("mismatched=%d", n)
	})
	waitFor("b's result ignored", func(v View) bool { return !v.Vantages[1].Has })
	s.SetMonitors(def(2))
	waitFor("b's result counted after the reload", func(v View) bool {
		return v.Vantages[1].Has && v.Vantages[1].Reason == "HTTP 503"
	})
	if n := s.Mismatched.Load(); n != 1 {
		t.Errorf("mismatched = %d after the retake, want 1 (a retake counts nothing again)", n)
	}
}
