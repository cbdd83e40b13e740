package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/meshmon/meshmon/health"
)

// JSONMaxAlerts is the most alerts one generic webhook payload carries.
const JSONMaxAlerts = 50

// JSONSchema is the version of JSONPayload's layout; it changes only when a
// field changes meaning or disappears (new fields may appear at any time).
const JSONSchema = 1

// JSONPayload is the body posted to a generic webhook (nodeconf's
// `webhook:`), with Content-Type application/json. Its "text" field makes it
// a valid Slack (and Mattermost, Rocket.Chat…) incoming-webhook message;
// other receivers read the structured fields.
//
//	{
//	  "text": "db-1 is offline (network prod, agreed by 4 of 5 observers)",
//	  "schema": 1, "source": "meshmon", "meshmon_version": "0.2.0",
//	  "sent_by": "web-1", "network": "prod",
//	  "alerts": [{"id": "prod/db-1/offline/1712345678000/57078189",
//	              "node": "db-1", "kind": "offline", "from": "online",
//	              "title": "db-1 is offline", "at": "2024-04-05T19:34:38Z",
//	              "since": "2024-04-05T19:34:38Z", "agreeing": 4, "observers": 5,
//	              "suspecting": 4, "last_rtt_ms": 12.5}]
//	}
type JSONPayload struct {
	// Text is one line per alert, for chat receivers.
	Text string `json:"text"`
	// Schema is JSONSchema.
	Schema int `json:"schema"`
	// Source is always "meshmon".
	Source string `json:"source"`
	// MeshmonVersion is the sender's meshmon version.
	MeshmonVersion string `json:"meshmon_version"`
	// SentBy is the sending node's node_id.
	SentBy string `json:"sent_by"`
	// Network is the network_id of the first alert (all alerts of one
	// cluster share it).
	Network string `json:"network"`
	// Alerts are the alerts, oldest first.
	Alerts []JSONAlert `json:"alerts"`
}

// JSONAlert is one alert in a JSONPayload.
type JSONAlert struct {
	// ID is the alert's deterministic ID; receivers may use it to drop the
	// rare duplicate sent when a leader dies right after a delivery.
	ID string `json:"id"`
	// Node is the node_id the alert is about.
	Node string `json:"node"`
	// Kind is offline, online, degraded or left; for monitors
	// monitor_down, monitor_up or monitor_warning.
	Kind Kind `json:"kind"`
	// From is the previous confirmed status.
	From health.Status `json:"from,omitempty"`
	// Title is the headline, e.g. "db-1 is back online".
	Title string `json:"title"`
	// At is when the sender's consensus confirmed the transition.
	At time.Time `json:"at"`
	// Since is when the reported condition began (for online: the outage).
	Since time.Time `json:"since,omitzero"`
	// Until is when the outage ended (online alerts only).
	Until time.Time `json:"until,omitzero"`
	// DurationSeconds is Until − Since for online alerts (0: unknown).
	DurationSeconds float64 `json:"duration_seconds,omitempty"`
	// Agreeing is how many live observers agree with the new status.
	Agreeing int `json:"agreeing"`
	// Observers is how many live observers had an opinion.
	Observers int `json:"observers"`
	// Suspecting is how many of them suspect the node.
	Suspecting int `json:"suspecting"`
	// LastRTTMs is the last known ping RTT to the node in ms (0: none).
	LastRTTMs float64 `json:"last_rtt_ms,omitempty"`
	// Covers are IDs of earlier alerts about the node reported by this one.
	Covers []string `json:"covers,omitempty"`
	// Monitor, Target and Evidence are set for monitor alerts (kinds
	// monitor_down, monitor_up, monitor_warning; node is "monitor:<name>",
	// observers are vantage points).
	Monitor  string `json:"monitor,omitempty"`
	Target   string `json:"target,omitempty"`
	Evidence string `json:"evidence,omitempty"`
}

// JSONFormatter builds generic webhook payloads. It is pure.
type JSONFormatter struct {
	// SentBy is the sending node's node_id.
	SentBy string
	// Version is reported as meshmon_version; default version.Version.
	Version string
}

// Payloads groups alerts into payloads of at most JSONMaxAlerts, in order.
func (f JSONFormatter) Payloads(alerts []Alert) []JSONPayload {
	var out []JSONPayload
	for start := 0; start < len(alerts); start += JSONMaxAlerts {
		chunk := alerts[start:min(start+JSONMaxAlerts, len(alerts))]
		p := JSONPayload{
			Schema: JSONSchema, Source: "meshmon", MeshmonVersion: versionOr(f.Version),
			SentBy: f.SentBy, Network: chunk[0].Network, Alerts: make([]JSONAlert, 0, len(chunk)),
		}
		lines := make([]string, 0, len(chunk))
		for _, a := range chunk {
			p.Alerts = append(p.Alerts, JSONAlert{
				ID: a.ID, Node: a.Node, Kind: a.Kind, From: a.From, Title: a.Title(),
				At: a.At.UTC(), Since: a.Since.UTC(), Until: a.Until.UTC(),
				DurationSeconds: a.Duration().Seconds(),
				Agreeing:        a.Agreeing, Observers: a.Live, Suspecting: a.Suspecting,
				LastRTTMs: float64(a.LastRTT) / float64(time.Millisecond),
				Covers:    a.Covers,
				Monitor:   a.Monitor, Target: a.Target, Evidence: a.Evidence,
			})
			lines = append(lines, textLine(a))
		}
		p.Text = strings.Join(lines, "\n")
		out = append(out, p)
	}
	return out
}

func textLine(a Alert) string {
	if a.IsMonitor() {
		s := fmt.Sprintf("%s (network %s, %s", a.Title(), a.Network, a.Evidence)
		if d := a.Duration(); d > 0 {
			s += fmt.Sprintf(", was down for %s", humanDuration(d))
		}
		return s + ")"
	}
	s := fmt.Sprintf("%s (network %s, ", a.Title(), a.Network)
	if a.Kind == KindDegraded {
		s += fmt.Sprintf("suspected by %d of %d observers", a.Suspecting, a.Live)
	} else {
		s += fmt.Sprintf("agreed by %d of %d observers", a.Agreeing, a.Live)
	}
	if d := a.Duration(); d > 0 {
		s += fmt.Sprintf(", was %s for %s", a.From, humanDuration(d))
	}
	return s + ")"
}

// Format implements Formatter.
func (f JSONFormatter) Format(alerts []Alert) ([]Payload, error) {
	ps := f.Payloads(alerts)
	out := make([]Payload, 0, len(ps))
	for i, p := range ps {
		body, err := json.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("json payload: %w", err)
		}
		var ids []string
		for _, a := range alerts[i*JSONMaxAlerts : min((i+1)*JSONMaxAlerts, len(alerts))] {
			ids = append(ids, a.IDs()...)
		}
		out = append(out, Payload{AlertIDs: ids, Body: body})
	}
	return out, nil
}
