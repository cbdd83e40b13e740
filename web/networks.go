package web

import (
	"cmp"
	"net/http"
	"slices"
	"time"

	"github.com/meshmon/meshmon/health"
)

// NetworkSummary is one entry of /api/networks: a network's member counts
// and overall health, for the dashboard's network cards.
type NetworkSummary struct {
	// NetworkID is the network_id.
	NetworkID string `json:"network_id"`
	// Self is this node's node_id in the network.
	Self string `json:"self"`
	// Health is online, warning or offline (see networkHealth).
	Health string `json:"health"`
	// Members is the number of members in node_config.
	Members int `json:"members"`
	// Online is the number of members whose status is online.
	Online int `json:"online"`
	// Statuses counts members per status; every status is present.
	Statuses map[health.Status]int `json:"statuses"`
	// MissingKeys is the number of members without a usable public key.
	MissingKeys int `json:"missing_keys"`
	// UpdatedAt is when the network's view was computed.
	UpdatedAt time.Time `json:"updated_at"`
	// Config is where the network's config comes from, when the node says.
	Config *health.ConfigSource `json:"config,omitempty"`
}

// The values of NetworkSummary.Health.
const (
	healthOnline  = "online"
	healthWarning = "warning"
	healthOffline = "offline"
)

// allStatuses lists every status, so summaries show zeros too.
var allStatuses = [...]health.Status{health.StatusOnline, health.StatusDegraded, health.StatusOffline,
	health.StatusLeft, health.StatusUnknown}

// summarize counts a network's members per status.
func summarize(nv *health.NetworkView) NetworkSummary {
	s := NetworkSummary{
		NetworkID: nv.NetworkID,
		Self:      nv.Self,
		Members:   len(nv.Nodes),
		Statuses:  make(map[health.Status]int, len(allStatuses)),
		UpdatedAt: nv.UpdatedAt,
		Config:    nv.Config,
	}
	for _, st := range allStatuses {
		s.Statuses[st] = 0
	}
	for _, n := range nv.Nodes {
		s.Statuses[n.Status]++
		if n.KeyMissing != "" {
			s.MissingKeys++
		}
	}
	s.Online = s.Statuses[health.StatusOnline]
	s.Health = networkHealth(s.Statuses)
	return s
}

// networkHealth grades a network from its members' statuses, ignoring
// members that left: online when all of them are online, offline when more
// than half of them are offline, warning otherwise (something degraded,
// unknown or a minority offline).
func networkHealth(counts map[health.Status]int) string {
	present := 0
	for st, n := range counts {
		if st != health.StatusLeft {
			present += n
		}
	}
	switch {
	case counts[health.StatusOnline] == present:
		return healthOnline
	case 2*counts[health.StatusOffline] > present:
		return healthOffline
	}
	return healthWarning
}

func handleView(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, d.View())
	}
}

func handleNetworks(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := d.View()
		out := make([]NetworkSummary, 0, len(v.Networks))
		for _, nv := range v.Networks {
			if nv != nil {
				out = append(out, summarize(nv))
			}
		}
		slices.SortFunc(out, func(a, b NetworkSummary) int { return cmp.Compare(a.NetworkID, b.NetworkID) })
		writeJSON(w, http.StatusOK, map[string]any{"networks": out})
	}
}

func handleNetwork(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		nv, ok := d.View().Networks[id]
		if !ok || nv == nil {
			writeError(w, http.StatusNotFound, "unknown network: "+id)
			return
		}
		writeJSON(w, http.StatusOK, nv)
	}
}
