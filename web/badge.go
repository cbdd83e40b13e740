package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/history"
)

// Badge colours, shields.io's.
const (
	badgeGreen  = "#4c1"
	badgeYellow = "#dfb317"
	badgeOrange = "#fe7d37"
	badgeRed    = "#e05d44"
	badgeGrey   = "#9f9f9f"
)

// badgeTextWidth estimates the width in px of s in 11 px Verdana (the
// shields.io font): narrow, normal and wide characters.
func badgeTextWidth(s string) int {
	w := 0.0
	for _, r := range s {
		switch {
		case strings.ContainsRune("iIl.,:;|!'()[] ", r):
			w += 3.9
		case strings.ContainsRune("mwMW%@", r):
			w += 10.5
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '#', r == '_':
			w += 7.5
		default:
			w += 6.6
		}
	}
	return int(w + 0.5)
}

// xmlEscape escapes text for SVG.
func xmlEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&#39;")
		default:
			if r < 0x20 {
				continue
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// badgeSVG draws a flat shields.io-style badge: label on grey, message on
// color. It is a pure function of its inputs.
func badgeSVG(label, message, color string) string {
	lw := badgeTextWidth(label) + 10
	mw := badgeTextWidth(message) + 10
	l, m := xmlEscape(label), xmlEscape(message)
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="%[1]d" height="20" role="img" aria-label="%[4]s: %[5]s">`+
		`<title>%[4]s: %[5]s</title>`+
		`<linearGradient id="s" x2="0" y2="100%%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>`+
		`<clipPath id="r"><rect width="%[1]d" height="20" rx="3" fill="#fff"/></clipPath>`+
		`<g clip-path="url(#r)"><rect width="%[2]d" height="20" fill="#555"/><rect x="%[2]d" width="%[3]d" height="20" fill="%[6]s"/><rect width="%[1]d" height="20" fill="url(#s)"/></g>`+
		`<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">`+
		`<text x="%[7]d" y="15" fill="#010101" fill-opacity=".3">%[4]s</text><text x="%[7]d" y="14">%[4]s</text>`+
		`<text x="%[8]d" y="15" fill="#010101" fill-opacity=".3">%[5]s</text><text x="%[8]d" y="14">%[5]s</text></g></svg>`,
		lw+mw, lw, mw, l, m, color, lw/2, lw+mw/2)
}

// writeBadge answers an SVG badge, cacheable for a minute (READMEs and
// wikis embed them through image proxies).
func writeBadge(w http.ResponseWriter, status int, label, message, color string) {
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "max-age=60")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(badgeSVG(label, message, color)))
}

// statusColor is a node status's badge colour.
func statusColor(s health.Status) string {
	switch s {
	case health.StatusOnline:
		return badgeGreen
	case health.StatusDegraded:
		return badgeYellow
	case health.StatusOffline:
		return badgeRed
	}
	return badgeGrey
}

// uptimeColor grades an uptime percentage as shields.io's uptime badges do.
func uptimeColor(p *float64) string {
	switch {
	case p == nil:
		return badgeGrey
	case *p >= 99.9:
		return badgeGreen
	case *p >= 99:
		return badgeYellow
	case *p >= 95:
		return badgeOrange
	}
	return badgeRed
}

// fmtPercent formats an uptime for a badge: "99.95%", "100%", "no data".
func fmtPercent(p *float64) string {
	if p == nil {
		return "no data"
	}
	if *p >= 100 {
		return "100%"
	}
	// Never round up to 100%: 99.999 is 99.99%.
	return fmt.Sprintf("%.2f%%", float64(int64(*p*100))/100)
}

// handleBadge serves /badge/{id}/… : the status or uptime of a network or
// of one of its nodes. Unknown networks and nodes get a grey "not found"
// badge with 404, so an embedded image never breaks.
func handleBadge(d Deps, what string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		network, node := r.PathValue("id"), r.PathValue("node")
		nv := d.View().Networks[network]
		label := network
		if node != "" {
			label = node
		}
		if nv == nil || (node != "" && nv.Nodes[node] == nil) {
			writeBadge(w, http.StatusNotFound, label, "not found", badgeGrey)
			return
		}
		if what == "status" {
			if node != "" {
				st := nv.Nodes[node].Status
				writeBadge(w, http.StatusOK, label, string(st), statusColor(st))
				return
			}
			sum := summarize(nv)
			up := sum.Statuses[health.StatusOnline] + sum.Statuses[health.StatusDegraded]
			color := badgeGreen
			switch sum.Health {
			case healthWarning:
				color = badgeYellow
			case healthOffline:
				color = badgeRed
			}
			writeBadge(w, http.StatusOK, label, fmt.Sprintf("%d/%d online", up, len(nv.Nodes)), color)
			return
		}
		rangeName := "24h"
		if r.URL.Query().Has("range") {
			rangeName = r.URL.Query().Get("range")
		}
		win, ok := namedRanges[rangeName]
		if !ok {
			writeBadge(w, http.StatusBadRequest, "range", "1h, 24h, 7d, 30d or 90d", badgeGrey)
			return
		}
		rec, err := d.historyReader()
		if err != nil {
			writeBadge(w, http.StatusServiceUnavailable, "uptime "+rangeName, "no history", badgeGrey)
			return
		}
		now := d.Now()
		nodes := []string{node}
		if node == "" {
			nodes = nodes[:0]
			for id := range nv.Nodes {
				nodes = append(nodes, id)
			}
		}
		ss, err := rec.Sessions()
		if err != nil {
			writeBadge(w, http.StatusInternalServerError, "uptime "+rangeName, "error", badgeGrey)
			return
		}
		// A network's uptime: the time its members were up over the time
		// their status was known, all members together.
		var upMs, knownMs int64
		for _, id := range nodes {
			cs, err := rec.Store().Changes(history.NodeSubject(network, id))
			if err != nil {
				writeBadge(w, http.StatusInternalServerError, "uptime "+rangeName, "error", badgeGrey)
				return
			}
			u := history.Compute(ss, cs, now.Add(-win), now, history.ClassifyNode)
			upMs += u.UpMs + u.DegradedMs
			knownMs += u.UpMs + u.DegradedMs + u.DownMs
		}
		var p *float64
		if knownMs > 0 {
			v := float64(upMs) * 100 / float64(knownMs)
			p = &v
		}
		writeBadge(w, http.StatusOK, label+" uptime "+rangeName, fmtPercent(p), uptimeColor(p))
	}
}
