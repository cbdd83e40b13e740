package notify

import (
	"strings"
	"time"

	"github.com/meshmon/meshmon/monitor"
)

// The kinds of monitor alerts (docs/monitors.md).
const (
	// KindMonitorDown: a majority, and at least two, of the live vantage
	// points see the monitor failing.
	KindMonitorDown Kind = "monitor_down"
	// KindMonitorUp: a monitor that was down passes again (Since and Until
	// give the outage).
	KindMonitorUp Kind = "monitor_up"
	// KindMonitorWarning: a majority, and at least two, of the live
	// vantage points warn (a certificate that expires soon).
	KindMonitorWarning Kind = "monitor_warning"
)

// monitorPrefix starts the subject of a monitor's alerts: "monitor:<name>".
// A node_id cannot hold ':', so a monitor never shares a node's alerts.
const monitorPrefix = "monitor:"

// MonitorSubject is the subject (Alert.Node) of monitor name's alerts.
func MonitorSubject(name string) string { return monitorPrefix + name }

// IsMonitor tells whether the alert is about a monitor.
func (a Alert) IsMonitor() bool { return strings.HasPrefix(a.Node, monitorPrefix) }

// monitorTitle is a monitor alert's headline.
func (a Alert) monitorTitle() string {
	switch a.Kind {
	case KindMonitorDown:
		return a.Monitor + " is down"
	case KindMonitorUp:
		return a.Monitor + " is back up"
	}
	return a.Monitor + " warns: " + a.Reason
}

// monitorKnown is what the MonitorTracker remembers of one monitor.
type monitorKnown struct {
	// seen is true once a verdict other than unknown was taken in.
	seen bool
	// outage is when the current outage began (zero: none is open).
	outage time.Time
	// warned is true once this warning spell was alerted.
	warned bool
	// recent are the IDs of its alerts in the current and previous buckets.
	recent []string
}

// MonitorTracker turns monitor verdicts into alerts. It is pure and owned
// by one goroutine (the alert loop).
//
// An outage opens when the verdict becomes down (agreed by a majority of at
// least two live vantage points) and closes when it is up or warning again;
// degraded or unknown in between keep it open, so a monitor that recovers
// from some vantage points first gives one "back up" alert, when all pass.
// A warning agreed by a majority alerts once per spell; the spell ends
// when the verdict is up. A degraded monitor (one vantage point's word, or
// a minority) never alerts.
//
// An outage that began before this node started (the failing vantage
// points' states are older than started) is learnt without an alert: the
// members that were up alerted it, and a restarted leader must not again.
// One that began after, such as every member starting while a service is
// down, alerts.
type MonitorTracker struct {
	network string
	started time.Time
	known   map[string]*monitorKnown
}

// NewMonitorTracker returns a tracker for network's monitors on a node
// that started at started.
func NewMonitorTracker(network string, started time.Time) *MonitorTracker {
	return &MonitorTracker{network: network, started: started, known: map[string]*monitorKnown{}}
}

// downSince is when a down verdict's majority formed, as the failing
// vantage points date their states: the latest of their Since.
func downSince(m monitor.View) time.Time {
	var t time.Time
	for _, x := range m.Vantages {
		if x.Live && x.Has && x.State == monitor.StateDown && x.Since.After(t) {
			t = x.Since
		}
	}
	return t
}

// Observe takes a snapshot at now and returns the alerts it causes.
func (t *MonitorTracker) Observe(s *monitor.Snapshot, now time.Time) []Alert {
	if s == nil {
		return nil
	}
	var out []Alert
	seen := make(map[string]bool, len(s.Monitors))
	for _, m := range s.Monitors {
		seen[m.Name] = true
		k := t.known[m.Name]
		if k == nil {
			k = &monitorKnown{}
			t.known[m.Name] = k
		}
		v := m.Verdict
		first := !k.seen && v.Status != monitor.StatusUnknown
		if first {
			k.seen = true
			if since := downSince(m); v.Status == monitor.StatusDown && !since.IsZero() && since.Before(t.started) {
				k.outage = since
			}
		}
		a := Alert{Network: t.network, Node: MonitorSubject(m.Name), Monitor: m.Name, Target: m.Target,
			At: now, Since: now, Live: v.Live}
		switch {
		case v.Status == monitor.StatusDown && k.outage.IsZero():
			k.outage = now
			a.Kind, a.Suspecting, a.Agreeing = KindMonitorDown, len(v.Failing), len(v.Failing)
			a.Evidence = monitor.Evidence(m)
		case (v.Status == monitor.StatusUp || v.Status == monitor.StatusWarning) && !k.outage.IsZero():
			a.Kind, a.Since, a.Until = KindMonitorUp, k.outage, now
			a.Agreeing = v.Live - len(v.Failing)
			a.Evidence = monitor.Evidence(m)
			k.outage = time.Time{}
		case v.Status == monitor.StatusWarning && v.Agreed && !k.warned:
			a.Kind, a.Suspecting, a.Agreeing = KindMonitorWarning, len(v.Warning), len(v.Warning)
			a.Reason = firstReason(m, monitor.StateWarn)
			a.Evidence = monitor.Evidence(m)
		}
		if v.Status == monitor.StatusWarning && v.Agreed {
			k.warned = true
		} else if v.Status == monitor.StatusUp {
			k.warned = false
		}
		if a.Kind == "" {
			continue
		}
		a.ID, k.recent = nextMonitorID(a, k.recent)
		out = append(out, a)
	}
	for name := range t.known {
		if !seen[name] {
			delete(t.known, name)
		}
	}
	return out
}

// nextMonitorID numbers a's transition within its bucket (see nextID).
func nextMonitorID(a Alert, recent []string) (string, []string) {
	id, k := nextID(a, recent, Known{})
	return id, k.Recent
}

// firstReason is the reason of the first live vantage point in state st.
func firstReason(m monitor.View, st monitor.State) string {
	for _, v := range m.Vantages {
		if v.Live && v.Has && v.State == st && v.Reason != "" {
			return v.Reason
		}
	}
	return string(st)
}

// monitorKindRule maps a monitor alert's kind to the member alert kind whose
// agreement rule it follows (Agreed): down and warning need a majority of
// at least two, like offline; back up needs two live vantage points.
func monitorKindRule(k Kind) (rule Kind, ok bool) {
	switch k {
	case KindMonitorDown, KindMonitorWarning:
		return KindOffline, true
	case KindMonitorUp:
		return KindOnline, true
	}
	return "", false
}
