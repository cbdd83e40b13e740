package monitor

import (
	"context"
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

// waitVerdict waits until every service's verdict of "web" satisfies ok.
func waitVerdict(t *testing.T, m *mesh, what string, ok func(Verdict) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		all := true
		var last Verdict
		m.mu.Lock()
		for _, s := range m.svcs {
			v, found := s.Snapshot().Monitor("web")
			if !found || !ok(v.Verdict) {
				all, last = false, v.Verdict
				break
			}
		}
		m.mu.Unlock()
		if all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s verdict on every member; last seen %+v", what, last)
		}
		time.Sleep(10 * time.Millisecond)
	}
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
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, _ := m.svcs["c"].Snapshot().Monitor("web")
		if v.Verdict.Status == StatusDegraded && v.Verdict.Live == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("c's verdict without a = %+v, want degraded of 2 live", v.Verdict)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestServicePublishesOnChange: a steady state is not republished on every
// probe, only when it changes (and on the slow refresh).
func TestServicePublishesOnChange(t *testing.T) {
	nodes := []string{"a", "b"}
	m, probes := startMesh(t, nodes, webDef(nodes))
	waitVerdict(t, m, "up", func(v Verdict) bool { return v.Status == StatusUp && v.Live == 2 })
	before := m.svcs["a"].Probes.Load()
	for m.svcs["a"].Probes.Load() < before+20 {
		time.Sleep(10 * time.Millisecond)
	}
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
	deadline := time.Now().Add(10 * time.Second)
	for s.Mismatched.Load() != 1 || s.Unknown.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("mismatched=%d unknown=%d, want 1 and 1", s.Mismatched.Load(), s.Unknown.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
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
		deadline := time.Now().Add(10 * time.Second)
		for {
			if v, found := s.Snapshot().Monitor("web"); found && ok(v) {
				return
			}
			if time.Now().After(deadline) {
				v, _ := s.Snapshot().Monitor("web")
				t.Fatalf("%s: %+v", what, v)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Mismatched.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("b's result of another definition was not counted")
		}
		time.Sleep(5 * time.Millisecond)
	}
	waitFor("b's result ignored", func(v View) bool { return !v.Vantages[1].Has })
	s.SetMonitors(def(2))
	waitFor("b's result counted after the reload", func(v View) bool {
		return v.Vantages[1].Has && v.Vantages[1].Reason == "HTTP 503"
	})
	if n := s.Mismatched.Load(); n != 1 {
		t.Errorf("mismatched = %d after the retake, want 1 (a retake counts nothing again)", n)
	}
}
