package web

import (
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/history"
	"github.com/meshmon/meshmon/monitor"
)

// statusPageCSP allows the page nothing but its own inline style: no
// scripts, no requests.
const statusPageCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// statusPageTmpl is the public status page. It shows names, statuses,
// uptime and outages only: never peer IDs, addresses, urls, versions or
// events, so it is safe to expose while the dashboard stays private.
var statusPageTmpl = template.Must(template.New("status").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="60">
<title>{{.Network}} status</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;background:#f4f6f9;color:#111827}
main{max-width:760px;margin:0 auto;padding:24px 16px}
h1{font-size:1.5rem;margin:0 0 4px}
.banner{border-radius:10px;padding:14px 16px;margin:16px 0;font-weight:600;color:#fff}
.ok{background:#15803d}.warn{background:#b45309}.bad{background:#c81e1e}
table{width:100%;border-collapse:collapse;background:#fff;border-radius:10px;overflow:hidden}
th,td{text-align:left;padding:8px 10px;border-bottom:1px solid #dfe3ea}
th{font-size:.8rem;color:#556070;text-transform:uppercase}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.s-online{color:#15803d}.s-degraded{color:#b45309}.s-offline{color:#c81e1e}.s-left,.s-unknown{color:#6b7280}
.muted{color:#556070;font-size:.85rem}
h2{font-size:1.1rem;margin:28px 0 8px}
@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}table{background:#151b23}th,td{border-color:#2a323d}.muted,th{color:#9aa6b4}}
</style></head>
<body><main>
<h1>{{.Network}}</h1>
<p class="muted">Status as the members of this network agree on it. Updated {{.At.Format "2006-01-02 15:04:05 MST"}}; this page refreshes every minute.</p>
<div class="banner {{.Tone}}" data-testid="overall">{{.Overall}}</div>
<table data-testid="members"><thead><tr><th>Member</th><th>Status</th><th class="n">24 h</th><th class="n">7 d</th><th class="n">30 d</th></tr></thead>
<tbody>{{range .Members}}<tr data-node="{{.Name}}"><td>{{.Name}}</td><td class="s-{{.Status}}">{{.Status}}{{if .For}} <span class="muted">for {{.For}}</span>{{end}}</td>{{range .Uptime}}<td class="n">{{.}}</td>{{end}}</tr>
{{end}}</tbody></table>
{{if .Services}}<h2>Services</h2>
<p class="muted">Watched from every member; down only when most of them agree.</p>
<table data-testid="services"><thead><tr><th>Service</th><th>Status</th><th class="n">24 h</th><th class="n">7 d</th><th class="n">30 d</th></tr></thead>
<tbody>{{range .Services}}<tr data-monitor="{{.Name}}"><td>{{.Name}}</td><td class="s-{{.Tone}}">{{.Status}}{{if .For}} <span class="muted">for {{.For}}</span>{{end}}</td>{{range .Uptime}}<td class="n">{{.}}</td>{{end}}</tr>
{{end}}</tbody></table>{{end}}
<h2>Recent outages</h2>
{{if .Outages}}<table data-testid="outages"><thead><tr><th>Member or service</th><th>Start</th><th>Duration</th></tr></thead><tbody>
{{range .Outages}}<tr><td>{{.Name}}</td><td>{{.Start.Format "2006-01-02 15:04 MST"}}</td><td>{{.Duration}}{{if .Ongoing}} (ongoing){{end}}</td></tr>
{{end}}</tbody></table>{{else}}<p class="muted" data-testid="no-outages">No outages in the last 7 days.</p>{{end}}
{{if not .HasHistory}}<p class="muted">This node keeps no history, so uptime is not known.</p>{{end}}
</main></body></html>
`))

type statusMember struct {
	Name, Status, For string
	Uptime            []string
}

// statusService is one monitor on the status page: its name, verdict and
// uptime; never its target (it may name internal hosts) or evidence.
type statusService struct {
	Name, Status, Tone, For string
	Uptime                  []string
}

type statusOutage struct {
	Name     string
	Start    time.Time
	Duration string
	Ongoing  bool
}

type statusPageData struct {
	Network, Overall, Tone string
	At                     time.Time
	Members                []statusMember
	Services               []statusService
	Outages                []statusOutage
	HasHistory             bool
}

// fmtDurationShort formats a duration as "45 s", "12 min", "3 h 5 min", "2 d 4 h".
func fmtDurationShort(d time.Duration) string {
	m := int64(d / time.Minute)
	switch {
	case m < 1:
		return (d / time.Second * time.Second).String()
	case m < 60:
		return itoa(m) + " min"
	case m < 48*60:
		if m%60 == 0 {
			return itoa(m/60) + " h"
		}
		return itoa(m/60) + " h " + itoa(m%60) + " min"
	}
	h := m / 60
	if h%24 == 0 {
		return itoa(h/24) + " d"
	}
	return itoa(h/24) + " d " + itoa(h%24) + " h"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// handleStatusPage serves /status/{id}, the public status page, when Deps
// enable it; 404 otherwise.
func handleStatusPage(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		nv := d.View().Networks[r.PathValue("id")]
		if !d.StatusPage || nv == nil {
			http.NotFound(w, r)
			return
		}
		now := d.Now()
		data := statusPageData{Network: nv.NetworkID, At: now}
		sum := summarize(nv)
		switch sum.Health {
		case healthOnline:
			data.Overall, data.Tone = "All members are up", "ok"
		case healthWarning:
			data.Overall, data.Tone = "Some members are down or degraded", "warn"
		default:
			data.Overall, data.Tone = "Most members are down", "bad"
		}
		rec, herr := d.historyReader()
		var ss []history.Session
		if herr == nil {
			if ss, herr = rec.Sessions(); herr == nil {
				data.HasHistory = true
			}
		}
		ids := make([]string, 0, len(nv.Nodes))
		for id := range nv.Nodes {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			m := statusMember{Name: id, Status: string(nv.Nodes[id].Status)}
			var cs []history.Change
			if data.HasHistory {
				cs, _ = rec.Store().Changes(history.NodeSubject(nv.NetworkID, id))
				// "offline for 30 min": how long a member has been down.
				if cur, ok := history.CurrentOf(cs, currentSession(rec, ss)); ok && cur.Status == m.Status &&
					m.Status != string(health.StatusOnline) {
					m.For = fmtDurationShort(now.Sub(cur.Since))
				}
			}
			for _, win := range summaryWindows {
				if !data.HasHistory {
					m.Uptime = append(m.Uptime, "—")
					continue
				}
				u := history.Compute(ss, cs, now.Add(-namedRanges[win]), now, history.ClassifyNode)
				m.Uptime = append(m.Uptime, fmtPercent(u.Percent))
				if win == "7d" {
					for _, o := range u.Outages {
						data.Outages = append(data.Outages, statusOutage{Name: id, Start: o.Start,
							Duration: fmtDurationShort(time.Duration(o.DurationMs) * time.Millisecond), Ongoing: o.Ongoing})
					}
				}
			}
			data.Members = append(data.Members, m)
		}
		data.Services, data.Outages = statusServices(d, nv.NetworkID, rec, ss, data.HasHistory, now, data.Outages)
		slices.SortStableFunc(data.Outages, func(a, b statusOutage) int { return b.Start.Compare(a.Start) })
		if len(data.Outages) > 20 {
			data.Outages = data.Outages[:20]
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", statusPageCSP)
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		_ = statusPageTmpl.Execute(w, data)
	}
}

// serviceLabel is how the status page words a monitor verdict, and its
// colour class.
func serviceLabel(s monitor.Status) (label, tone string) {
	switch s {
	case monitor.StatusUp:
		return "up", "online"
	case monitor.StatusWarning:
		return "up (warning)", "online"
	case monitor.StatusDegraded:
		return "partial", "degraded"
	case monitor.StatusDown:
		return "down", "offline"
	}
	return "unknown", "unknown"
}

// statusServices returns the network's monitors for the status page, and
// outages with their outages of the last 7 days added.
func statusServices(d Deps, network string, rec *history.Recorder, ss []history.Session, hasHistory bool,
	now time.Time, outages []statusOutage) ([]statusService, []statusOutage) {
	if d.Monitors == nil {
		return nil, outages
	}
	var out []statusService
	for _, snap := range d.Monitors() {
		if snap == nil || snap.Network != network {
			continue
		}
		for _, m := range snap.Monitors {
			sv := statusService{Name: m.Name}
			sv.Status, sv.Tone = serviceLabel(m.Verdict.Status)
			if m.Verdict.Status == monitor.StatusDown && !m.Since.IsZero() {
				sv.For = fmtDurationShort(now.Sub(m.Since))
			}
			var cs []history.MonitorChange
			if hasHistory {
				cs, _ = rec.Store().MonitorChanges(network, m.Name)
			}
			for _, win := range summaryWindows {
				if !hasHistory {
					sv.Uptime = append(sv.Uptime, "—")
					continue
				}
				u := history.MonitorUptime(ss, cs, now.Add(-namedRanges[win]), now)
				sv.Uptime = append(sv.Uptime, fmtPercent(u.Percent))
				if win == "7d" {
					for _, o := range u.Outages {
						outages = append(outages, statusOutage{Name: m.Name, Start: o.Start,
							Duration: fmtDurationShort(time.Duration(o.DurationMs) * time.Millisecond), Ongoing: o.Ongoing})
					}
				}
			}
			out = append(out, sv)
		}
	}
	return out, outages
}
