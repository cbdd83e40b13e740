package monitor

import (
	"context"
	"fmt"
	"time"

	"github.com/meshmon/meshmon/health"
)

// own is this node's latest result of a monitor it runs.
type own struct {
	Result
	at, since time.Time
}

// state is owned by Run's goroutine.
type state struct {
	s    *Service
	ctx  context.Context
	defs []Definition
	// own are this node's results, by monitor name.
	own map[string]own
	// peers are the other members' latest results: node → name → vantage.
	peers map[string]map[string]Vantage
	// raw are the members' latest reports as they arrived, taken in again
	// when this node's definitions change (retake).
	raw  map[string]rawReport
	live map[string]bool
	// status and since are each monitor's verdict and when it began.
	status map[string]Status
	since  map[string]time.Time
	// probers run this node's probes, by monitor name; stopped are those
	// cancelled but maybe not yet returned (Run waits for them at the end).
	probers map[string]*prober
	stopped []*prober
	// sentAny is true once a non-empty report went out: an empty one must
	// then follow when this node stops running every monitor.
	sentAny    bool
	dirty      bool
	publishDue bool
}

func newState(s *Service) *state {
	return &state{
		s:       s,
		own:     map[string]own{},
		peers:   map[string]map[string]Vantage{},
		raw:     map[string]rawReport{},
		live:    map[string]bool{},
		status:  map[string]Status{},
		since:   map[string]time.Time{},
		probers: map[string]*prober{},
	}
}

func (st *state) def(name string) (Definition, bool) {
	for _, d := range st.defs {
		if d.Name == name {
			return d, true
		}
	}
	return Definition{}, false
}

// setMonitors applies a new definition list.
func (st *state) setMonitors(defs []Definition) {
	st.defs = defs
	keep := map[string]bool{}
	for _, d := range defs {
		if d.Probe == nil {
			continue
		}
		keep[d.Name] = true
		if p, ok := st.probers[d.Name]; ok && p.hash == d.Hash {
			continue
		}
		st.stopProber(d.Name)
		delete(st.own, d.Name)
		st.startProber(d)
	}
	for name := range st.probers {
		if !keep[name] {
			st.stopProber(name)
		}
	}
	for name := range st.own {
		if !keep[name] {
			delete(st.own, name)
			st.publishDue = true
		}
	}
	for name := range st.status {
		if _, ok := st.def(name); !ok {
			delete(st.status, name)
			delete(st.since, name)
		}
	}
	st.retake()
	st.dirty = true
}

// rebuild recomputes every verdict and stores a new snapshot.
func (st *state) rebuild(now time.Time) {
	snap := &Snapshot{Network: st.s.cfg.Network, UpdatedAt: now, Monitors: make([]View, 0, len(st.defs))}
	for _, d := range st.defs {
		v := View{Name: d.Name, Type: d.Type, Target: d.Target, Group: d.Group, Interval: d.Interval,
			Vantages: make([]Vantage, 0, len(d.Runners))}
		for _, node := range d.Runners {
			v.Vantages = append(v.Vantages, st.vantage(d, node))
		}
		v.Verdict = Agree(v.Vantages)
		if old, ok := st.status[d.Name]; !ok || old != v.Verdict.Status {
			if ok {
				st.changed(v, old)
			}
			st.status[d.Name] = v.Verdict.Status
			st.since[d.Name] = now
		}
		v.Since = st.since[d.Name]
		snap.Monitors = append(snap.Monitors, v)
	}
	st.s.snap.Store(snap)
}

// changed logs and raises an event for a verdict that changed from old.
// The first verdict of a monitor at start (from unknown to up) is no news.
func (st *state) changed(v View, old Status) {
	st.s.log.Info("monitor verdict changed", "monitor", v.Name, "from", old, "to", v.Verdict.Status,
		"failing", v.Verdict.Failing, "live", v.Verdict.Live)
	if st.s.cfg.Events == nil || (old == StatusUnknown && v.Verdict.Status == StatusUp) {
		return
	}
	sev := health.SeverityInfo
	switch v.Verdict.Status {
	case StatusDown:
		sev = health.SeverityError
	case StatusDegraded, StatusWarning:
		sev = health.SeverityWarning
	}
	msg := fmt.Sprintf("monitor %s is %s (was %s)", v.Name, v.Verdict.Status, old)
	if v.Verdict.Live > 0 {
		msg += ": " + Evidence(v)
	}
	st.s.cfg.Events.Add(health.Event{Network: st.s.cfg.Network, Kind: "monitor", Severity: sev, Message: msg})
}

// vantage is what node says of monitor d.
func (st *state) vantage(d Definition, node string) Vantage {
	if node == st.s.cfg.Self {
		o, ok := st.own[d.Name]
		if !ok || d.Probe == nil {
			return Vantage{Node: node, Live: true}
		}
		return Vantage{Node: node, Live: true, Has: true, State: o.State, Latency: o.Latency, Reason: o.Reason,
			At: o.at, Since: o.since}
	}
	v, ok := st.peers[node][d.Name]
	if !ok {
		v = Vantage{Node: node}
	}
	v.Live = st.live[node]
	return v
}
