package web

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/meshmon/meshmon/health"
)

func TestNetworkHealth(t *testing.T) {
	type counts = map[health.Status]int
	for _, tc := range []struct {
		name   string
		counts counts
		want   string
	}{
		{"all online", counts{health.StatusOnline: 3}, healthOnline},
		{"online and left", counts{health.StatusOnline: 2, health.StatusLeft: 3}, healthOnline},
		{"one degraded", counts{health.StatusOnline: 2, health.StatusDegraded: 1}, healthWarning},
		{"one unknown", counts{health.StatusOnline: 2, health.StatusUnknown: 1}, healthWarning},
		{"minority offline", counts{health.StatusOnline: 2, health.StatusOffline: 1}, healthWarning},
		{"half offline", counts{health.StatusOnline: 2, health.StatusOffline: 2}, healthWarning},
		{"majority offline", counts{health.StatusOnline: 1, health.StatusOffline: 2}, healthOffline},
		{"majority offline, left ignored", counts{health.StatusOnline: 1, health.StatusOffline: 2, health.StatusLeft: 4}, healthOffline},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := networkHealth(tc.counts); got != tc.want {
				t.Errorf("networkHealth(%v) = %s; want %s", tc.counts, got, tc.want)
			}
		})
	}
}

func TestNetworksList(t *testing.T) {
	srv := serve(t, newFixture(t).full())
	resp := get(t, srv.URL+"/api/networks", nil)
	defer resp.Body.Close()
	var body struct{ Networks []NetworkSummary }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if len(body.Networks) != 2 || body.Networks[0].NetworkID != "prod" || body.Networks[1].NetworkID != "solo" {
		t.Fatalf("networks = %+v; want prod then solo", body.Networks)
	}
	prod := body.Networks[0]
	want := map[health.Status]int{health.StatusOnline: 1, health.StatusDegraded: 1, health.StatusOffline: 1,
		health.StatusUnknown: 1, health.StatusLeft: 1}
	for s, n := range want {
		if prod.Statuses[s] != n {
			t.Errorf("prod statuses[%s] = %d; want %d", s, prod.Statuses[s], n)
		}
	}
	if prod.Members != 5 || prod.Online != 1 || prod.MissingKeys != 1 || prod.Health != healthWarning || prod.Config == nil {
		t.Errorf("prod = %+v; want 5 members, 1 online, 1 missing key, warning, a config", prod)
	}
	if solo := body.Networks[1]; solo.Health != healthOnline || solo.Members != 1 {
		t.Errorf("solo = %+v; want 1 member, online", solo)
	}
}

// TestViewShapeIsStable: /api/view still serves health.View as it is, with
// upstream's field names.
func TestViewShapeIsStable(t *testing.T) {
	f := newFixture(t)
	srv := serve(t, f.full())
	resp := get(t, srv.URL+"/api/view", nil)
	defer resp.Body.Close()
	var raw map[string]map[string]map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	prod := raw["networks"]["prod"]
	for _, k := range []string{"network_id", "self", "nodes", "connections", "updated_at"} {
		if _, ok := prod[k]; !ok {
			t.Errorf("/api/view networks.prod lacks %q", k)
		}
	}
	node := prod["nodes"].(map[string]any)["server-02"].(map[string]any)
	for _, k := range []string{"node_id", "status", "confirmed", "agreed_by", "live_observers", "version", "peer_id",
		"last_heard_ms", "observers"} {
		if _, ok := node[k]; !ok {
			t.Errorf("/api/view node lacks %q", k)
		}
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d", resp.StatusCode)
	}
}

func TestMethodNotAllowedAndUnknownEndpoint(t *testing.T) {
	srv := serve(t, newFixture(t).full())
	resp, err := http.Post(srv.URL+"/api/view", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("POST /api/view = %d %s; want 405 application/json", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, p := range []string{"/api/nope", "/api/networks/", "/api/raw/"} {
		resp := get(t, srv.URL+p, nil)
		var e apiError
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || e.Error == "" {
			t.Errorf("GET %s = %d %+v; want 404 with a JSON error", p, resp.StatusCode, e)
		}
	}
}
