package notify

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/monitor"
)

// monSnap is a snapshot of monitor "web" whose vantage points a, b, c say
// the given states ("" no result, "x" not live).
func monSnap(states ...string) *monitor.Snapshot {
	reasons := map[string]string{"a": "timeout after 5s", "b": "HTTP 503", "c": "connection refused"}
	var vs []monitor.Vantage
	for i, s := range states {
		n := string(rune('a' + i))
		v := monitor.Vantage{Node: n, Live: s != "x", Has: s != "" && s != "x", State: monitor.State(s)}
		switch v.State {
		case monitor.StateDown:
			v.Reason = reasons[n]
		case monitor.StateWarn:
			v.Reason = "certificate expires in 4d (2026-12-11)"
		case monitor.StateUp:
			v.Latency = 12 * time.Millisecond
		}
		vs = append(vs, v)
	}
	return &monitor.Snapshot{Network: "net", Monitors: []monitor.View{{Name: "web", Target: "https://example.com/",
		Verdict: monitor.Agree(vs), Vantages: vs}}}
}

func TestMonitorTracker(t *testing.T) {
	type step struct {
		states []string
		kind   Kind // "" no alert
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"down from start alerts once", []step{
			{[]string{"down", "down", "up"}, KindMonitorDown},
			{[]string{"down", "down", "down"}, ""},
		}},
		{"one vantage point never alerts", []step{
			{[]string{"up", "up", "up"}, ""},
			{[]string{"down", "up", "up"}, ""},
			{[]string{"down", "up", "up"}, ""},
			{[]string{"up", "up", "up"}, ""},
		}},
		{"outage and one recovery through degraded", []step{
			{[]string{"up", "up", "up"}, ""},
			{[]string{"down", "down", "up"}, KindMonitorDown},
			{[]string{"down", "up", "up"}, ""},
			{[]string{"up", "up", "up"}, KindMonitorUp},
			{[]string{"up", "up", "up"}, ""},
		}},
		{"a vantage point that leaves keeps the outage open", []step{
			{[]string{"down", "down", "down"}, KindMonitorDown},
			{[]string{"x", "x", "down"}, ""},
			{[]string{"up", "up", "up"}, KindMonitorUp},
		}},
		{"an agreed warning alerts once a spell", []step{
			{[]string{"up", "up", "up"}, ""},
			{[]string{"warn", "up", "up"}, ""},
			{[]string{"warn", "warn", "up"}, KindMonitorWarning},
			{[]string{"warn", "warn", "warn"}, ""},
			{[]string{"up", "up", "up"}, ""},
			{[]string{"warn", "warn", "warn"}, KindMonitorWarning},
		}},
		{"two outages are two alerts each", []step{
			{[]string{"down", "down", "up"}, KindMonitorDown},
			{[]string{"up", "up", "up"}, KindMonitorUp},
			{[]string{"down", "down", "up"}, KindMonitorDown},
			{[]string{"up", "up", "up"}, KindMonitorUp},
		}},
	}
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewMonitorTracker("net", time.Time{})
			ids := map[string]bool{}
			var downAt time.Time
			for i, st := range tt.steps {
				now := t0.Add(time.Duration(i) * 10 * time.Second)
				got := tr.Observe(monSnap(st.states...), now)
				if st.kind == "" {
					if len(got) != 0 {
						t.Fatalf("step %d %v: alerts %+v, want none", i, st.states, got)
					}
					continue
				}
				if len(got) != 1 || got[0].Kind != st.kind {
					t.Fatalf("step %d %v: alerts %+v, want one %s", i, st.states, got, st.kind)
				}
				a := got[0]
				if ids[a.ID] {
					t.Errorf("step %d: ID %s reused", i, a.ID)
				}
				ids[a.ID] = true
				if a.Node != "monitor:web" || a.Monitor != "web" || a.Target != "https://example.com/" {
					t.Errorf("step %d: subject %q monitor %q target %q", i, a.Node, a.Monitor, a.Target)
				}
				switch a.Kind {
				case KindMonitorDown:
					downAt = now
				case KindMonitorUp:
					if !a.Since.Equal(downAt) || !a.Until.Equal(now) {
						t.Errorf("recovery outage %v–%v, want %v–%v", a.Since, a.Until, downAt, now)
					}
				}
			}
		})
	}
}

func TestMonitorAlertText(t *testing.T) {
	tr := NewMonitorTracker("net", time.Time{})
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	down := tr.Observe(monSnap("down", "down", "down", "up"), t0)[0]
	wantEv := "down from 3/4 vantage points: a timeout after 5s, b HTTP 503, c connection refused"
	if down.Evidence != wantEv {
		t.Errorf("evidence = %q, want %q", down.Evidence, wantEv)
	}
	if down.Title() != "web is down" || down.Live != 4 || down.Suspecting != 3 {
		t.Errorf("title %q live %d suspecting %d", down.Title(), down.Live, down.Suspecting)
	}
	up := tr.Observe(monSnap("up", "up", "up", "up"), t0.Add(4*time.Minute+12*time.Second))[0]
	if up.Title() != "web is back up" || up.Duration() != 4*time.Minute+12*time.Second {
		t.Errorf("recovery title %q duration %v", up.Title(), up.Duration())
	}
	e := DiscordFormatter{SentBy: "a"}.Embed(up)
	if !strings.Contains(e.Description, "Was down from") || e.Color != ColorOnline {
		t.Errorf("recovery embed %+v", e)
	}
	if !slices.ContainsFunc(e.Fields, func(f DiscordField) bool { return f.Name == "Duration" && f.Value == "4m 12s" }) {
		t.Errorf("recovery embed fields %+v lack the duration 4m 12s", e.Fields)
	}
	e = DiscordFormatter{SentBy: "a"}.Embed(down)
	if e.Description != wantEv || e.Color != ColorOffline || e.Title != "web is down" {
		t.Errorf("down embed %+v", e)
	}
	ps, err := JSONFormatter{SentBy: "a"}.Format([]Alert{down})
	if err != nil {
		t.Fatal(err)
	}
	var body JSONPayload
	if err := json.Unmarshal(ps[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if a := body.Alerts[0]; a.Monitor != "web" || a.Evidence != wantEv || a.Kind != KindMonitorDown {
		t.Errorf("json alert %+v", a)
	}
	warn := NewMonitorTracker("net", time.Time{}).Observe(monSnap("warn", "warn", "up"), t0)[0]
	if warn.Title() != "web warns: certificate expires in 4d (2026-12-11)" {
		t.Errorf("warning title %q", warn.Title())
	}
}

// TestMonitorAlertsEligible: monitor alerts follow the agreement rules of
// member alerts: down needs a majority of at least two vantage points.
func TestMonitorAlertsEligible(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		kind             Kind
		live, suspecting int
		send             bool
	}{
		{KindMonitorDown, 3, 2, true},
		{KindMonitorDown, 4, 2, false},
		{KindMonitorDown, 1, 1, false},
		{KindMonitorWarning, 2, 2, true},
		{KindMonitorUp, 2, 0, true},
		{KindMonitorUp, 1, 0, false},
	} {
		e := Eligible(EligibilityInput{Alert: Alert{Kind: c.kind, Node: MonitorSubject("web"), Live: c.live,
			Suspecting: c.suspecting, At: now}, Self: "a", Sender: "a", Now: now, Local: health.LocalHealth{}})
		if e.Send != c.send {
			t.Errorf("%s live %d suspecting %d: send %v (%s), want %v", c.kind, c.live, c.suspecting, e.Send, e.Reason, c.send)
		}
	}
}

// TestMonitorTrackerLearnsOlderOutages: a node that starts during an outage
// the others already alerted learns it without an alert, and still sends
// the recovery; an outage that began after it started alerts.
func TestMonitorTrackerLearnsOlderOutages(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	snap := func(since time.Time, states ...string) *monitor.Snapshot {
		s := monSnap(states...)
		for i := range s.Monitors[0].Vantages {
			s.Monitors[0].Vantages[i].Since = since
		}
		return s
	}
	tr := NewMonitorTracker("net", t0)
	if got := tr.Observe(snap(t0.Add(-time.Hour), "down", "down", "up"), t0.Add(time.Second)); len(got) != 0 {
		t.Fatalf("an outage older than this node alerted again: %+v", got)
	}
	got := tr.Observe(snap(t0, "up", "up", "up"), t0.Add(time.Minute))
	if len(got) != 1 || got[0].Kind != KindMonitorUp || !got[0].Since.Equal(t0.Add(-time.Hour)) {
		t.Fatalf("recovery of the learnt outage: %+v", got)
	}

	tr = NewMonitorTracker("net", t0)
	got = tr.Observe(snap(t0.Add(2*time.Second), "down", "down", "up"), t0.Add(3*time.Second))
	if len(got) != 1 || got[0].Kind != KindMonitorDown {
		t.Fatalf("an outage that began after start must alert: %+v", got)
	}
}
