package webtest_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/node/nodetest"
	"github.com/meshmon/meshmon/web/webtest"
)

// TestClusterResponsesMatchOpenAPI runs a real 3-node cluster in process and
// validates every endpoint's responses, success and error, of every node
// against the OpenAPI document.
func TestClusterResponsesMatchOpenAPI(t *testing.T) {
	contract, err := webtest.NewContract()
	if err != nil {
		t.Fatal(err)
	}
	c := nodetest.StartCluster(t, 3, nodetest.Options{NetworkID: "contract"})
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, 60*time.Second)

	for i, base := range c.URLs {
		for _, tc := range []struct {
			path   string
			header http.Header
			want   int
		}{
			{"/api/health", nil, 200},
			{"/api/p2p", nil, 200},
			{"/api/view", nil, 200},
			{"/api/networks", nil, 200},
			{"/api/networks/contract", nil, 200},
			{"/api/networks/nope", nil, 404},
			{"/api/events", nil, 200},
			{"/api/events?limit=2&network=contract&severity=info", nil, 200},
			{"/api/events?limit=0", nil, 400},
			{"/api/events?severity=loud", nil, 400},
			{"/api/events/stream", nil, 200},
			{"/api/events/stream", http.Header{"Last-Event-Id": {"1"}}, 200},
			{"/api/events/stream", http.Header{"Last-Event-Id": {"one"}}, 400},
			{"/api/notification_cluster", nil, 200},
			{"/api/raw/contract", nil, 200},
			{"/api/raw/nope", nil, 404},
			{"/metrics", nil, 0}, // 200 once the node mounts metrics, 404 until then
			{"/openapi.json", nil, 200},
			{"/docs", nil, 200},
		} {
			code, body := contract.Get(t, base, tc.path, tc.header)
			if tc.want != 0 && code != tc.want {
				t.Errorf("node %d: GET %s = %d; want %d\n%s", i, tc.path, code, tc.want, body)
			}
		}
		// The view is the cluster's: every node is online, confirmed.
		_, body := contract.Get(t, base, "/api/networks/contract", nil)
		var nv health.NetworkView
		if err := json.Unmarshal(body, &nv); err != nil {
			t.Fatal(err)
		}
		for id, n := range nv.Nodes {
			if n.Status != health.StatusOnline {
				t.Errorf("node %d sees %s %s; want online", i, id, n.Status)
			}
		}
	}
}
