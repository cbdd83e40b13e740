package web

import (
	"encoding/json"
	"testing"
)

// TestOpenAPIExamplesFollowConsensus: every network view among the OpenAPI
// document's examples is one the node can produce: it validates against
// the schema (loadSpec validates every example), and its verdicts follow
// the consensus rules (DESIGN.md §6, health.Consensus). An example with
// confirmed: true on one live observer would teach readers a rule the
// code does not have.
func TestOpenAPIExamplesFollowConsensus(t *testing.T) {
	doc, _ := loadSpec(t) // validates every example against its schema
	views := 0
	for name, ref := range doc.Components.Examples {
		if ref.Value == nil {
			continue
		}
		data, err := json.Marshal(ref.Value.Value)
		if err != nil {
			t.Fatalf("example %s: %v", name, err)
		}
		var nets []exampleNetworkView
		var one exampleNetworkView
		var all struct {
			Networks map[string]exampleNetworkView `json:"networks"`
		}
		if err := json.Unmarshal(data, &all); err == nil && len(all.Networks) > 0 {
			for _, nv := range all.Networks {
				nets = append(nets, nv)
			}
		} else if err := json.Unmarshal(data, &one); err == nil && one.Self != "" {
			nets = append(nets, one)
		}
		for _, nv := range nets {
			views++
			t.Run(name, func(t *testing.T) { checkConsensusRules(t, nv) })
		}
	}
	if views == 0 {
		t.Fatal("no network view among the OpenAPI examples")
	}
}

type exampleNetworkView struct {
	Self  string `json:"self"`
	Nodes map[string]struct {
		Status        string `json:"status"`
		Confirmed     bool   `json:"confirmed"`
		AgreedBy      int    `json:"agreed_by"`
		LiveObservers int    `json:"live_observers"`
		Observers     map[string]struct {
			Opinion string `json:"opinion"`
		} `json:"observers"`
	} `json:"nodes"`
	Connections []struct {
		Src    string `json:"src"`
		Dst    string `json:"dst"`
		Status string `json:"status"`
	} `json:"connections"`
}

// checkConsensusRules checks one view against the consensus rules.
func checkConsensusRules(t *testing.T, nv exampleNetworkView) {
	t.Helper()
	alive := func(id string) bool {
		n, ok := nv.Nodes[id]
		return ok && (n.Status == "online" || n.Status == "degraded")
	}
	for id, n := range nv.Nodes {
		suspect := 0
		var only string
		for o, op := range n.Observers {
			only = op.Opinion
			if op.Opinion == "suspect" {
				suspect++
			}
			if o == id && id != nv.Self {
				t.Errorf("%s is its own observer; a member never judges itself", id)
			}
			if o != nv.Self && !alive(o) {
				t.Errorf("%s: observer %s is %s in this view; only live members (and this node) observe", id, o, nv.Nodes[o].Status)
			}
		}
		live := len(n.Observers)
		if n.LiveObservers != live {
			t.Errorf("%s: live_observers %d, but %d observers gave an opinion", id, n.LiveObservers, live)
		}
		if want := live >= 2; n.Confirmed != want {
			t.Errorf("%s: confirmed %v with %d live observers; want %v (at least 2)", id, n.Confirmed, live, want)
		}
		var status string
		var agreed int
		switch {
		case n.Status == "left":
			continue
		case id == nv.Self:
			status, agreed = "online", live-suspect
		case live == 0:
			status, agreed = "unknown", 0
		case live < 2:
			status, agreed = "online", 1
			if only == "suspect" {
				status = "offline"
			}
		case 2*suspect > live:
			status, agreed = "offline", suspect
		case suspect > 0:
			status, agreed = "degraded", live-suspect
		default:
			status, agreed = "online", live
		}
		if n.Status != status || n.AgreedBy != agreed {
			t.Errorf("%s: status %s agreed_by %d from %d observers (%d suspect); the consensus gives %s agreed_by %d",
				id, n.Status, n.AgreedBy, live, suspect, status, agreed)
		}
	}
	for _, e := range nv.Connections {
		if (!alive(e.Src) || !alive(e.Dst)) && e.Status != "down" {
			t.Errorf("edge %s→%s is %s, but an end is not alive; want down", e.Src, e.Dst, e.Status)
		}
	}
}
