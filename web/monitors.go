package web

import (
	"net/http"
	"slices"
	"time"

	"github.com/meshmon/meshmon/history"
	"github.com/meshmon/meshmon/monitor"
)

// MonitorList is the body of /api/monitors: every network's monitors.
type MonitorList struct {
	Networks []NetworkMonitors `json:"networks"`
}

// NetworkMonitors is one network's monitors as this node sees them.
type NetworkMonitors struct {
	Network string `json:"network"`
	// UpdatedAt is when the verdicts were last computed.
	UpdatedAt time.Time `json:"updated_at"`
	// Monitors are in config order.
	Monitors []MonitorView `json:"monitors"`
}

// MonitorView is one monitor: its definition, agreed verdict and the
// evidence of each vantage point.
type MonitorView struct {
	Network string `json:"network"`
	Name    string `json:"name"`
	Type    string `json:"type"`
	// Target is what is probed, without credentials.
	Target string `json:"target"`
	Group  string `json:"group"`
	// IntervalMs is the time between probes in milliseconds.
	IntervalMs int64          `json:"interval_ms"`
	Verdict    MonitorVerdict `json:"verdict"`
	// Since is when the verdict's status began, on this node's clock.
	Since    time.Time        `json:"since"`
	Vantages []MonitorVantage `json:"vantages"`
}

// MonitorVerdict is a monitor's agreed verdict (monitor.Verdict).
type MonitorVerdict struct {
	// Status is unknown, up, warning, degraded or down.
	Status string `json:"status"`
	// Live is how many live vantage points with a result it rests on.
	Live int `json:"live"`
	// Failing and Warning name the live vantage points that see it down,
	// and warn.
	Failing []string `json:"failing"`
	Warning []string `json:"warning"`
	// Agreed is true when the verdict may alert.
	Agreed bool `json:"agreed"`
}

// MonitorVantage is one member's latest result of a monitor.
type MonitorVantage struct {
	Node string `json:"node"`
	// Live: the member is online or degraded (only live ones count).
	Live bool `json:"live"`
	// HasResult is false until the member's first result arrived; the
	// fields below are absent then.
	HasResult bool   `json:"has_result"`
	State     string `json:"state,omitempty"`
	// LatencyMs is the probe's duration in milliseconds.
	LatencyMs *float64 `json:"latency_ms,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	// At is when the result was obtained; Since when its state began.
	At    *time.Time `json:"at,omitempty"`
	Since *time.Time `json:"since,omitempty"`
}

// monitorView converts a snapshot's view to the API's shape.
func monitorView(network string, m monitor.View) MonitorView {
	v := MonitorView{Network: network, Name: m.Name, Type: m.Type, Target: m.Target, Group: m.Group,
		IntervalMs: m.Interval.Milliseconds(), Since: m.Since, Vantages: make([]MonitorVantage, 0, len(m.Vantages)),
		Verdict: MonitorVerdict{Status: string(m.Verdict.Status), Live: m.Verdict.Live, Agreed: m.Verdict.Agreed,
			Failing: nonNil(m.Verdict.Failing), Warning: nonNil(m.Verdict.Warning)}}
	for _, x := range m.Vantages {
		mv := MonitorVantage{Node: x.Node, Live: x.Live, HasResult: x.Has}
		if x.Has {
			mv.State, mv.Reason = string(x.State), x.Reason
			ms := float64(x.Latency.Microseconds()) / 1000
			mv.LatencyMs = &ms
			if !x.At.IsZero() {
				at := x.At
				mv.At = &at
			}
			if !x.Since.IsZero() {
				since := x.Since
				mv.Since = &since
			}
		}
		v.Vantages = append(v.Vantages, mv)
	}
	return v
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

// monitorSnapshots is d's snapshots, or none when d has no Monitors.
func (d Deps) monitorSnapshots() []*monitor.Snapshot {
	if d.Monitors == nil {
		return nil
	}
	return d.Monitors()
}

func handleMonitors(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body := MonitorList{Networks: []NetworkMonitors{}}
		for _, s := range d.monitorSnapshots() {
			if s == nil {
				continue
			}
			nm := NetworkMonitors{Network: s.Network, UpdatedAt: s.UpdatedAt, Monitors: make([]MonitorView, 0, len(s.Monitors))}
			for _, m := range s.Monitors {
				nm.Monitors = append(nm.Monitors, monitorView(s.Network, m))
			}
			body.Networks = append(body.Networks, nm)
		}
		writeJSON(w, http.StatusOK, body)
	}
}

// MonitorDetail is the body of /api/monitors/{network}/{name}.
type MonitorDetail struct {
	Monitor MonitorView `json:"monitor"`
	// History is the monitor's uptime, outages and latency from the
	// history store; absent when this node keeps no history
	// (HistoryError says why).
	History      *MonitorHistory `json:"history,omitempty"`
	HistoryError string          `json:"history_error,omitempty"`
}

// MonitorHistory is a monitor's history over a range.
type MonitorHistory struct {
	// Range is the range's name (1h, 24h, 7d, 30d, 90d) or custom.
	Range string    `json:"range"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	// Uptime is by window: 24h, 7d and 30d, and the range's own.
	Uptime map[string]WindowUptime `json:"uptime"`
	// Segments is the verdict's timeline over the range (down is down;
	// degraded and warning count as up; unknown and the times this node
	// did not run are no data).
	Segments []history.Segment `json:"segments"`
	// Outages over the range, newest first.
	Outages []MonitorOutage `json:"outages"`
	// Latency is each vantage point's response time over the range.
	Latency MonitorLatency `json:"latency"`
}

// MonitorOutage is one stretch of an agreed down verdict.
type MonitorOutage struct {
	history.Outage
	// Failing are the vantage points that saw it down when it began.
	Failing []string `json:"failing"`
}

// MonitorLatency is per-vantage response time at one resolution.
type MonitorLatency struct {
	Resolution history.Resolution `json:"resolution"`
	Vantages   []VantageLatency   `json:"vantages"`
}

// VantageLatency is one vantage point's response-time rollups
// (min_ms, mean_ms, max_ms of count results per minute or hour).
type VantageLatency struct {
	Node   string           `json:"node"`
	Points []history.Rollup `json:"points"`
}

// findMonitor finds a monitor in d's snapshots.
func (d Deps) findMonitor(network, name string) (monitor.View, *httpError) {
	for _, s := range d.monitorSnapshots() {
		if s == nil || s.Network != network {
			continue
		}
		if m, ok := s.Monitor(name); ok {
			return m, nil
		}
		return monitor.View{}, &httpError{http.StatusNotFound, "unknown monitor: " + name + " in network " + network}
	}
	return monitor.View{}, &httpError{http.StatusNotFound, "unknown network: " + network}
}

// httpError is an error answer.
type httpError struct {
	status int
	msg    string
}

func handleMonitor(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		network, name := r.PathValue("network"), r.PathValue("name")
		m, herr := d.findMonitor(network, name)
		if herr != nil {
			writeError(w, herr.status, herr.msg)
			return
		}
		now := d.Now()
		q := r.URL.Query()
		sp, err := parseSpan(q, now, "24h")
		if err != nil {
			writeHistoryError(w, err)
			return
		}
		res, err := parseResolution(q, sp)
		if err != nil {
			writeHistoryError(w, err)
			return
		}
		body := MonitorDetail{Monitor: monitorView(network, m)}
		rec, err := d.historyReader()
		if err != nil {
			body.HistoryError = err.Error()
			writeJSON(w, http.StatusOK, body)
			return
		}
		h, err := monitorHistory(rec, network, m, sp, res, now)
		if err != nil {
			writeHistoryError(w, err)
			return
		}
		body.History = h
		writeJSON(w, http.StatusOK, body)
	}
}

// monitorHistory reads monitor m's history over sp from rec.
func monitorHistory(rec *history.Recorder, network string, m monitor.View, sp span, res history.Resolution,
	now time.Time) (*MonitorHistory, error) {
	ss, err := rec.Sessions()
	if err != nil {
		return nil, err
	}
	cs, err := rec.Store().MonitorChanges(network, m.Name)
	if err != nil {
		return nil, err
	}
	h := &MonitorHistory{Range: sp.name, From: sp.from, To: sp.to, Uptime: map[string]WindowUptime{},
		Outages: []MonitorOutage{}}
	windows := make([]span, 0, 4)
	for _, name := range summaryWindows {
		windows = append(windows, span{name: name, from: now.Add(-namedRanges[name]), to: now})
	}
	if !slices.Contains(summaryWindows, sp.name) {
		windows = append(windows, sp)
	}
	for _, win := range windows {
		u := history.MonitorUptime(ss, cs, win.from, win.to)
		h.Uptime[win.name] = WindowUptime{Percent: u.Percent, UpMs: u.UpMs, DegradedMs: u.DegradedMs,
			DownMs: u.DownMs, LeftMs: u.LeftMs, NoDataMs: u.NoDataMs, Outages: len(u.Outages)}
	}
	u := history.MonitorUptime(ss, cs, sp.from, sp.to)
	h.Segments = u.Segments
	for _, o := range u.Outages {
		h.Outages = append(h.Outages, MonitorOutage{Outage: o, Failing: failingAt(cs, o.Start)})
	}
	slices.Reverse(h.Outages) // newest first

	h.Latency = MonitorLatency{Resolution: res, Vantages: make([]VantageLatency, 0, len(m.Vantages))}
	from := sp.from.Truncate(time.Minute)
	if res == history.Hour {
		from = sp.from.Truncate(time.Hour)
	}
	for _, v := range m.Vantages {
		pts, err := rec.Store().RTT(history.VantageSubject(network, m.Name, v.Node), res, from, sp.to)
		if err != nil {
			return nil, err
		}
		h.Latency.Vantages = append(h.Latency.Vantages, VantageLatency{Node: v.Node, Points: pts})
	}
	return h, nil
}

// failingAt is who failed according to the latest down change at or before t.
func failingAt(cs []history.MonitorChange, t time.Time) []string {
	out := []string{}
	for _, c := range cs {
		if c.Time.After(t) {
			break
		}
		if c.To == string(monitor.StatusDown) {
			out = nonNil(c.Failing)
		}
	}
	return out
}
