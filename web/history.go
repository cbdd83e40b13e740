package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/history"
)

// Ranges a history query may name, and the uptime windows of the summary.
var namedRanges = map[string]time.Duration{
	"1h": time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour,
	"30d": 30 * 24 * time.Hour, "90d": 90 * 24 * time.Hour,
}

// summaryWindows are the uptime columns of /api/history/{id}/uptime.
var summaryWindows = []string{"24h", "7d", "30d"}

// maxRange bounds a custom range (the hourly rollups' retention).
const maxRange = 400 * 24 * time.Hour

// span is a parsed history range.
type span struct {
	name     string // "24h"…, or "custom"
	from, to time.Time
}

// parseSpan reads range=1h|24h|7d|30d|90d (default def) or from=…&to=…
// (RFC 3339; to defaults to now).
func parseSpan(q url.Values, now time.Time, def string) (span, error) {
	if q.Has("from") || q.Has("to") {
		if q.Has("range") {
			return span{}, &badParam{"range", q.Get("range"), "either range or from/to, not both"}
		}
		sp := span{name: "custom", to: now}
		if !q.Has("from") {
			return span{}, &badParam{"from", "", "an RFC 3339 time with to"}
		}
		f, err := time.Parse(time.RFC3339, q.Get("from"))
		if err != nil {
			return span{}, &badParam{"from", q.Get("from"), "an RFC 3339 time (2025-06-01T12:00:00Z)"}
		}
		sp.from = f
		if q.Has("to") {
			t, err := time.Parse(time.RFC3339, q.Get("to"))
			if err != nil {
				return span{}, &badParam{"to", q.Get("to"), "an RFC 3339 time (2025-06-01T12:00:00Z)"}
			}
			sp.to = t
		}
		if !sp.to.After(sp.from) {
			return span{}, &badParam{"to", q.Get("to"), "a time after from"}
		}
		if sp.to.Sub(sp.from) > maxRange {
			return span{}, &badParam{"from", q.Get("from"), "a range of at most 400 days"}
		}
		return sp, nil
	}
	name := def
	if q.Has("range") {
		name = q.Get("range")
	}
	d, ok := namedRanges[name]
	if !ok {
		return span{}, &badParam{"range", name, "1h, 24h, 7d, 30d or 90d"}
	}
	return span{name: name, from: now.Add(-d), to: now}, nil
}

// parseResolution reads resolution=minute|hour; by default minutes for a
// range up to 2 days, else hours.
func parseResolution(q url.Values, sp span) (history.Resolution, error) {
	switch r := q.Get("resolution"); {
	case !q.Has("resolution"):
		if sp.to.Sub(sp.from) <= 48*time.Hour {
			return history.Minute, nil
		}
		return history.Hour, nil
	case r == string(history.Minute) || r == string(history.Hour):
		return history.Resolution(r), nil
	default:
		return "", &badParam{"resolution", r, "minute or hour"}
	}
}

// errNoHistory answers 503: the node keeps no history.
type errNoHistory struct{ why string }

func (e *errNoHistory) Error() string { return "history is not kept on this node: " + e.why }

// historyReader returns the node's recorder with a store, or why not.
func (d Deps) historyReader() (*history.Recorder, error) {
	if d.History == nil {
		return nil, &errNoHistory{"not enabled"}
	}
	if d.History.Store() == nil {
		return nil, &errNoHistory{d.History.Health().Error}
	}
	return d.History, nil
}

// historyHandler serves a history route: h runs with the node's recorder
// (a node without a store answers 503 first) and returns its error, which
// is answered with its status (writeHistoryError).
func (d Deps) historyHandler(h func(w http.ResponseWriter, r *http.Request, rec *history.Recorder) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec, err := d.historyReader()
		if err == nil {
			err = h(w, r, rec)
		}
		if err != nil {
			writeHistoryError(w, err)
		}
	}
}

// writeHistoryError answers err with its status.
func writeHistoryError(w http.ResponseWriter, err error) {
	var bp *badParam
	var nh *errNoHistory
	switch {
	case errors.As(err, &bp):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.As(err, &nh):
		writeError(w, http.StatusServiceUnavailable, err.Error())
	case errors.Is(err, errUnknown):
		writeError(w, http.StatusNotFound, err.Error())
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

var errUnknown = errors.New("unknown")

// knownSubject tells whether sub is in the current view or has history.
func (d Deps) knownSubject(rec *history.Recorder, sub history.Subject) error {
	if nv := d.View().Networks[sub.Network]; nv != nil {
		_, a := nv.Nodes[sub.Node]
		_, b := nv.Nodes[sub.Peer]
		if a && (sub.Kind == "node" || b) {
			return nil
		}
	}
	cs, err := rec.Store().Changes(sub)
	if err != nil {
		return err
	}
	if len(cs) > 0 {
		return nil
	}
	if sub.Kind == "link" {
		return fmt.Errorf("%w link: %s → %s in network %s", errUnknown, sub.Node, sub.Peer, sub.Network)
	}
	return fmt.Errorf("%w node: %s in network %s", errUnknown, sub.Node, sub.Network)
}

// networkRecords is what the network-wide history answers start from: the
// subjects of a network with recorded changes and this node's sessions.
// The network must be in the view or have history (else errUnknown).
func (d Deps) networkRecords(rec *history.Recorder, network string) ([]history.Subject, []history.Session, error) {
	subs, err := rec.Store().Subjects(network)
	if err != nil {
		return nil, nil, err
	}
	if len(subs) == 0 && d.View().Networks[network] == nil {
		return nil, nil, fmt.Errorf("%w network: %s", errUnknown, network)
	}
	ss, err := rec.Sessions()
	if err != nil {
		return nil, nil, err
	}
	return subs, ss, nil
}

// SubjectHistory is the body of a node's or a link's history.
type SubjectHistory struct {
	history.Subject
	Range string `json:"range"`
	// Current is the latest recorded status and since when (absent when
	// this run has recorded none yet).
	Current *history.Current `json:"current,omitempty"`
	Uptime  history.Uptime   `json:"uptime"`
	RTT     RTTSeries        `json:"rtt"`
}

// RTTSeries is RTT over a range at one resolution.
type RTTSeries struct {
	Resolution history.Resolution `json:"resolution"`
	Points     []history.Rollup   `json:"points"`
}

func handleSubjectHistory(d Deps, kind string) http.HandlerFunc {
	return d.historyHandler(func(w http.ResponseWriter, r *http.Request, rec *history.Recorder) error {
		sp, err := parseSpan(r.URL.Query(), d.Now(), "24h")
		if err != nil {
			return err
		}
		res, err := parseResolution(r.URL.Query(), sp)
		if err != nil {
			return err
		}
		sub := history.NodeSubject(r.PathValue("id"), r.PathValue("node"))
		if kind == "link" {
			sub = history.LinkSubject(r.PathValue("id"), r.PathValue("src"), r.PathValue("dst"))
		}
		if err := d.knownSubject(rec, sub); err != nil {
			return err
		}
		ss, err := rec.Sessions()
		if err != nil {
			return err
		}
		cs, err := rec.Store().Changes(sub)
		if err != nil {
			return err
		}
		body := SubjectHistory{Subject: sub, Range: sp.name, Uptime: history.Compute(ss, cs, sp.from, sp.to, sub.Classify)}
		if cur, ok := history.CurrentOf(cs, currentSession(rec, ss)); ok {
			body.Current = &cur
		}
		body.RTT.Resolution = res
		if body.RTT.Points, err = rec.Store().RTT(sub, res, sp.from.Truncate(time.Minute), sp.to); err != nil {
			return err
		}
		// Links other members measure are kept per hour only: by default,
		// show those rather than nothing.
		if len(body.RTT.Points) == 0 && res == history.Minute && !r.URL.Query().Has("resolution") {
			body.RTT.Resolution = history.Hour
			if body.RTT.Points, err = rec.Store().RTT(sub, history.Hour, sp.from.Truncate(time.Hour), sp.to); err != nil {
				return err
			}
		}
		writeJSON(w, http.StatusOK, body)
		return nil
	})
}

// currentSession is the running session, or the latest recorded one when
// the recorder does not run (a store read after the node stopped).
func currentSession(rec *history.Recorder, ss []history.Session) uint64 {
	if id := rec.SessionID(); id != 0 {
		return id
	}
	var id uint64
	for _, s := range ss {
		id = max(id, s.ID)
	}
	return id
}

// WindowUptime is uptime over one window, without the timeline.
type WindowUptime struct {
	Percent    *float64 `json:"percent"`
	UpMs       int64    `json:"up_ms"`
	DegradedMs int64    `json:"degraded_ms"`
	DownMs     int64    `json:"down_ms"`
	LeftMs     int64    `json:"left_ms"`
	NoDataMs   int64    `json:"no_data_ms"`
	Outages    int      `json:"outages"`
}

// SubjectUptime is one row of the uptime summary.
type SubjectUptime struct {
	history.Subject
	Current *history.Current `json:"current,omitempty"`
	// Uptime is by window name: 24h, 7d, 30d, and custom when asked.
	Uptime map[string]WindowUptime `json:"uptime"`
}

// UptimeSummary is the body of /api/history/{id}/uptime.
type UptimeSummary struct {
	Network string          `json:"network"`
	At      time.Time       `json:"at"`
	Nodes   []SubjectUptime `json:"nodes"`
	// Links are present when asked for (links=true).
	Links []SubjectUptime `json:"links,omitempty"`
}

func handleUptimeSummary(d Deps) http.HandlerFunc {
	return d.historyHandler(func(w http.ResponseWriter, r *http.Request, rec *history.Recorder) error {
		q := r.URL.Query()
		now := d.Now()
		windows := make([]span, 0, 4)
		for _, name := range summaryWindows {
			windows = append(windows, span{name: name, from: now.Add(-namedRanges[name]), to: now})
		}
		if q.Has("from") || q.Has("to") || q.Has("range") {
			sp, err := parseSpan(q, now, "24h")
			if err != nil {
				return err
			}
			sp.name = "custom"
			windows = append(windows, sp)
		}
		links := false
		if q.Has("links") {
			var err error
			if links, err = strconv.ParseBool(q.Get("links")); err != nil {
				return &badParam{"links", q.Get("links"), "true or false"}
			}
		}
		network := r.PathValue("id")
		subs, ss, err := d.networkRecords(rec, network)
		if err != nil {
			return err
		}
		// Members of the view without history yet have rows too.
		if nv := d.View().Networks[network]; nv != nil {
			for id := range nv.Nodes {
				if s := history.NodeSubject(network, id); !slices.Contains(subs, s) {
					subs = append(subs, s)
				}
			}
		}
		slices.SortFunc(subs, func(a, b history.Subject) int {
			return strings.Compare(a.Node+"\x00"+a.Peer, b.Node+"\x00"+b.Peer)
		})
		body := UptimeSummary{Network: network, At: now, Nodes: []SubjectUptime{}}
		for _, sub := range subs {
			if sub.Kind == "link" && !links {
				continue
			}
			cs, err := rec.Store().Changes(sub)
			if err != nil {
				return err
			}
			row := SubjectUptime{Subject: sub, Uptime: map[string]WindowUptime{}}
			if cur, ok := history.CurrentOf(cs, currentSession(rec, ss)); ok {
				row.Current = &cur
			}
			for _, win := range windows {
				u := history.Compute(ss, cs, win.from, win.to, sub.Classify)
				row.Uptime[win.name] = WindowUptime{Percent: u.Percent, UpMs: u.UpMs, DegradedMs: u.DegradedMs,
					DownMs: u.DownMs, LeftMs: u.LeftMs, NoDataMs: u.NoDataMs, Outages: len(u.Outages)}
			}
			if sub.Kind == "link" {
				body.Links = append(body.Links, row)
			} else {
				body.Nodes = append(body.Nodes, row)
			}
		}
		writeJSON(w, http.StatusOK, body)
		return nil
	})
}

// SubjectOutage is one outage of one node.
type SubjectOutage struct {
	Node string `json:"node"`
	history.Outage
}

// OutageList is the body of /api/history/{id}/outages.
type OutageList struct {
	Network string          `json:"network"`
	Range   string          `json:"range"`
	From    time.Time       `json:"from"`
	To      time.Time       `json:"to"`
	Outages []SubjectOutage `json:"outages"`
}

func handleOutages(d Deps) http.HandlerFunc {
	return d.historyHandler(func(w http.ResponseWriter, r *http.Request, rec *history.Recorder) error {
		sp, err := parseSpan(r.URL.Query(), d.Now(), "30d")
		if err != nil {
			return err
		}
		network := r.PathValue("id")
		subs, ss, err := d.networkRecords(rec, network)
		if err != nil {
			return err
		}
		body := OutageList{Network: network, Range: sp.name, From: sp.from, To: sp.to, Outages: []SubjectOutage{}}
		for _, sub := range subs {
			if sub.Kind != "node" {
				continue
			}
			cs, err := rec.Store().Changes(sub)
			if err != nil {
				return err
			}
			for _, o := range history.Compute(ss, cs, sp.from, sp.to, history.ClassifyNode).Outages {
				body.Outages = append(body.Outages, SubjectOutage{Node: sub.Node, Outage: o})
			}
		}
		// Newest first.
		slices.SortStableFunc(body.Outages, func(a, b SubjectOutage) int { return b.Start.Compare(a.Start) })
		writeJSON(w, http.StatusOK, body)
		return nil
	})
}

// AlertList is the body of /api/history/alerts.
type AlertList struct {
	Alerts []history.Alert `json:"alerts"`
}

func handleAlertHistory(d Deps) http.HandlerFunc {
	return d.historyHandler(func(w http.ResponseWriter, r *http.Request, rec *history.Recorder) error {
		q := r.URL.Query()
		limit := defaultEventLimit
		if s := q.Get("limit"); q.Has("limit") {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > maxEventLimit {
				return &badParam{"limit", s, fmt.Sprintf("a whole number from 1 to %d", maxEventLimit)}
			}
			limit = n
		}
		as, err := rec.Store().Alerts(q.Get("network"), limit)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, AlertList{Alerts: as})
		return nil
	})
}

// mergeEvents merges two newest-first lists by id, without duplicates.
func mergeEvents(a, b []health.Event) []health.Event {
	out := make([]health.Event, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var e health.Event
		switch {
		case j >= len(b) || (i < len(a) && a[i].ID > b[j].ID):
			e, i = a[i], i+1
		case i >= len(a) || b[j].ID > a[i].ID:
			e, j = b[j], j+1
		default: // same id
			e, i, j = a[i], i+1, j+1
		}
		out = append(out, e)
	}
	return out
}
