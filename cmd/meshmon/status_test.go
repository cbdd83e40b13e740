package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/node/nodetest"
	"github.com/meshmon/meshmon/p2p"
	"github.com/meshmon/meshmon/web"
)

// statusFixture is a view with two networks and every case the table shows.
func statusFixture() *health.View {
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	return &health.View{Networks: map[string]*health.NetworkView{
		"prod": {NetworkID: "prod", Self: "server-01", UpdatedAt: at,
			Nodes: map[string]*health.NodeView{
				"server-01": {NodeID: "server-01", Status: health.StatusOnline, Confirmed: true, AgreedBy: 3, LiveObservers: 3, Version: "v0.3.0"},
				"server-02": {NodeID: "server-02", Status: health.StatusOnline, Confirmed: true, AgreedBy: 2, LiveObservers: 2, Version: "v0.3.0"},
				"server-03": {NodeID: "server-03", Status: health.StatusDegraded, Confirmed: true, AgreedBy: 1, LiveObservers: 2, Version: "v0.2.9"},
				"server-04": {NodeID: "server-04", Status: health.StatusOffline, Confirmed: true, AgreedBy: 2, LiveObservers: 2, Version: "v0.3.0"},
				"server-05": {NodeID: "server-05", Status: health.StatusUnknown, KeyMissing: "no pubkeys/server-05.pub", LastHeardMs: -1},
			},
			Connections: []health.Connection{
				{Src: "server-01", Dst: "server-02", RTTMs: 1.84, Status: "up"},
				{Src: "server-02", Dst: "server-01", RTTMs: 1.9, Status: "up"},
				{Src: "server-01", Dst: "server-03", RTTMs: 142.3, Status: "up", Relayed: true},
				{Src: "server-01", Dst: "server-04", Status: "down"},
			}},
		"lab": {NetworkID: "lab", Self: "pi", UpdatedAt: at,
			Nodes: map[string]*health.NodeView{
				"pi":     {NodeID: "pi", Status: health.StatusOnline, AgreedBy: 1, LiveObservers: 1, Version: "dev"},
				"laptop": {NodeID: "laptop", Status: health.StatusOffline, AgreedBy: 1, LiveObservers: 1, Version: "dev"},
				"old":    {NodeID: "old", Status: health.StatusLeft, Version: "v0.1.0"},
			}},
	}}
}

func fixtureServer(t *testing.T) *httptest.Server {
	t.Helper()
	v := statusFixture()
	srv := httptest.NewServer(web.NewServer(web.Deps{
		Version: "v0.3.0",
		P2P:     func() p2p.P2PInfo { return p2p.P2PInfo{} },
		View:    func() *health.View { return v },
		Events:  health.NewEventLog(10, nil),
	}))
	t.Cleanup(srv.Close)
	return srv
}

func runStatus(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"meshmon", "status"}, args...), &out, &errb)
	return out.String(), errb.String(), err
}

// TestStatusGolden: the table for a fixture view is testdata/status.golden.
func TestStatusGolden(t *testing.T) {
	srv := fixtureServer(t)
	out, stderr, err := runStatus(t, "--url", srv.URL+"/")
	if err != nil {
		t.Fatalf("meshmon status: %v\n%s", err, stderr)
	}
	golden := filepath.Join("testdata", "status.golden")
	if os.Getenv("MESHMON_UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (MESHMON_UPDATE_GOLDEN=1 writes it)", err)
	}
	if out != string(want) {
		t.Errorf("meshmon status printed:\n%s\nwant (%s):\n%s", out, golden, want)
	}
}

func TestStatusJSON(t *testing.T) {
	srv := fixtureServer(t)
	out, _, err := runStatus(t, "--json", "--url", srv.URL)
	if err != nil {
		t.Fatalf("meshmon status --json: %v", err)
	}
	var v health.View
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("--json output is not a view: %v\n%s", err, out)
	}
	if len(v.Networks) != 2 || len(v.Networks["prod"].Nodes) != 5 {
		t.Errorf("--json view = %+v; want both networks", v)
	}
}

func TestStatusUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	_, _, err = runStatus(t, "--url", url, "--timeout", "2s")
	if err == nil || exitCode(err) == 0 {
		t.Fatalf("meshmon status against a closed port: err %v (exit %d); want a non-zero exit", err, exitCode(err))
	}
	if !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("error %q does not say the node is unreachable", err)
	}
}

func TestStatusNotANode(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"no such endpoint: /api/view"}`))
	}))
	defer srv.Close()
	_, _, err := runStatus(t, "--url", srv.URL)
	if err == nil || !strings.Contains(err.Error(), "no such endpoint") {
		t.Errorf("meshmon status against a 404 = %v; want an error quoting the answer", err)
	}
	var ee *exitError
	if errors.As(err, &ee) {
		t.Errorf("exit code %d; want the default 1", ee.code)
	}
}

// TestStatusLiveNode runs `meshmon status` against a live 3-node cluster
// (in-process nodes, real libp2p and HTTP).
func TestStatusLiveNode(t *testing.T) {
	c := nodetest.StartCluster(t, 3, nodetest.Options{})
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, 60*time.Second)
	out, stderr, err := runStatus(t, "--url", c.URLs[0])
	if err != nil {
		t.Fatalf("meshmon status: %v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "NETWORK") {
		t.Fatalf("meshmon status printed %d lines; want a header and 3 nodes:\n%s", len(lines), out)
	}
	for i, name := range c.Names {
		f := strings.Fields(lines[i+1])
		if len(f) < 6 || f[1] != name || f[2] != "online" {
			t.Errorf("row %d = %q; want node %s online", i+1, lines[i+1], name)
		}
	}
	if !strings.Contains(lines[1], "self") {
		t.Errorf("first row %q does not mark the asked node as self", lines[1])
	}
}
