package node_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshmon/meshmon/internal/syncbuf"
	"github.com/meshmon/meshmon/node/nodetest"
)

// TestNodeServesHTTPAccessControlFromNodeconf checks that nodeconf's http
// section reaches the running node's server: with auth set, the API asks
// for credentials, the token opens it, and the public path stays open;
// the token is in no log line.
func TestNodeServesHTTPAccessControlFromNodeconf(t *testing.T) {
	const token = "node-token-0123456789-SECRET"
	var logs syncbuf.Buffer
	c := nodetest.StartCluster(t, 1, nodetest.Options{Start: func(int) bool { return false }, Logs: &logs})
	conf := filepath.Join(c.Dirs[0], "nodeconf.yml")
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("\nhttp:\n  idle_timeout: 5s\n  auth:\n    bearer_tokens: [" + token + "]\n    public: [/api/health, /api/p2p]\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	c.Start(0)

	client := &http.Client{Timeout: 10 * time.Second}
	for _, tc := range []struct {
		path  string
		token string
		want  int
	}{
		{"/api/view", "", 401},
		{"/api/raw/test", "", 401},
		{"/metrics", "", 401},
		{"/api/view", token, 200},
		{"/metrics", token, 200},
		{"/api/health", "", 200},
		{"/api/p2p", "", 200},
	} {
		req, _ := http.NewRequest(http.MethodGet, c.URLs[0]+tc.path, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s (token %v) = %d; want %d", tc.path, tc.token != "", resp.StatusCode, tc.want)
		}
	}
	c.Stop(0)
	out := logs.String()
	if strings.Contains(out, "SECRET") {
		t.Errorf("the node logged its bearer token:\n%s", out)
	}
	if !strings.Contains(out, "http access control on") {
		t.Errorf("no log line says access control is on:\n%s", out)
	}
}
