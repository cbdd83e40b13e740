package web

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestHealthListsIdentityClashes: a member that runs as two hosts with one
// key makes /api/health degraded, with a reason naming it and both
// incarnations; a view without one says ok.
func TestHealthListsIdentityClashes(t *testing.T) {
	cases := []struct {
		name        string
		clash       bool
		wantStatus  string
		wantReasons []string
	}{
		{"cloned member", true, "degraded", []string{"prod: server-02 runs as two hosts with one key (incarnations [1748779200000 1748779100001])"}},
		{"no clash", false, "ok", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			for _, nv := range f.view.Networks {
				nv.Local.Healthy = true
				for _, n := range nv.Nodes {
					if !c.clash {
						n.IdentityClash = nil
					}
				}
			}
			srv := serve(t, f.minimal())
			resp := get(t, srv.URL+"/api/health", nil)
			defer resp.Body.Close()
			var h Health
			if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
				t.Fatal(err)
			}
			if h.Status != c.wantStatus || !slices.Equal(h.Reasons, c.wantReasons) {
				t.Errorf("/api/health = %s %q; want %s %q", h.Status, h.Reasons, c.wantStatus, c.wantReasons)
			}
		})
	}
}
