package node_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/history"
	"github.com/meshmon/meshmon/node"
	"github.com/meshmon/meshmon/node/nodetest"
)

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: decode: %v", url, err)
		}
	}
	return resp.StatusCode
}

type healthBody struct {
	History *history.Health `json:"history"`
}

// TestHistoryThroughRestartsAndStoreFaults runs three nodes: n1 keeps
// history and is restarted; n2's data dir cannot be created (a file is in
// the way); n3's store file is garbage. All three monitor and agree as
// usual; n2 and n3 say what is wrong with their store.
func TestHistoryThroughRestartsAndStoreFaults(t *testing.T) {
	c := nodetest.StartCluster(t, 3, nodetest.Options{Start: func(int) bool { return false }})
	if err := os.WriteFile(filepath.Join(c.Dirs[1], "data"), []byte("not a dir"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(c.Dirs[2], "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	garbage := []byte(strings.Repeat("garbage!", 2048))
	if err := os.WriteFile(filepath.Join(c.Dirs[2], "data", history.FileName), garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		c.Start(i)
	}
	// Monitoring goes on whatever the stores do.
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge)

	var h healthBody
	getJSON(t, c.URLs[1]+"/api/health", &h)
	if h.History == nil || h.History.State != "unavailable" || h.History.Error == "" {
		t.Errorf("n2 /api/health history = %+v; want unavailable with the reason", h.History)
	}
	h = healthBody{}
	getJSON(t, c.URLs[2]+"/api/health", &h)
	if h.History == nil || h.History.State != "ok" || h.History.MovedAside == "" {
		t.Errorf("n3 /api/health history = %+v; want ok, with the corrupt file moved aside", h.History)
	}
	if h.History != nil && h.History.MovedAside != "" {
		if b, err := os.ReadFile(h.History.MovedAside); err != nil || string(b) != string(garbage) {
			t.Errorf("moved-aside file: %v; want the old garbage kept for inspection", err)
		}
	}
	for i, want := range map[int]string{1: "history is not being kept", 2: "history store was corrupt"} {
		evs := c.Node(i).Events().List(func(e health.Event) bool {
			return e.Kind == "history" && e.Severity == health.SeverityError && strings.Contains(e.Message, want)
		})
		if len(evs) != 1 {
			t.Errorf("%s: %d error events %q; want 1", c.Names[i], len(evs), want)
		}
	}

	// n1 restarts: its event ids go on above the first run's, /api/events
	// pages through both runs, and the time it was down is no data.
	first := c.Node(0).Events().List(nil)
	maxFirst := first[0].ID
	c.Stop(0)
	stoppedAt := time.Now()
	c.Start(0)
	c.WaitStatus([]int{0}, c.All(), health.StatusOnline, converge)

	var page struct {
		Events []health.Event `json:"events"`
	}
	getJSON(t, c.URLs[0]+"/api/events?limit=1000", &page)
	ids := map[uint64]bool{}
	var sawFirst, sawSecond bool
	for _, e := range page.Events {
		if ids[e.ID] {
			t.Errorf("event id %d twice in /api/events", e.ID)
		}
		ids[e.ID] = true
		sawFirst = sawFirst || e.ID <= maxFirst
		sawSecond = sawSecond || e.ID > maxFirst
	}
	if !sawFirst || !sawSecond {
		t.Errorf("/api/events after a restart: first run's events %v, second run's %v; want both", sawFirst, sawSecond)
	}
	if fresh := c.Node(0).Events().List(nil); fresh[len(fresh)-1].ID <= maxFirst {
		t.Errorf("second run's first event id = %d; want above the first run's %d", fresh[len(fresh)-1].ID, maxFirst)
	}

	var nh struct {
		Uptime history.Uptime `json:"uptime"`
	}
	if code := getJSON(t, c.URLs[0]+"/api/history/test/nodes/n2?range=1h", &nh); code != http.StatusOK {
		t.Fatalf("node history = %d", code)
	}
	if nh.Uptime.UpMs == 0 || nh.Uptime.Percent == nil {
		t.Errorf("n2's uptime as n1 saw it = %+v; want some up time", nh.Uptime)
	}
	gap := false
	for _, s := range nh.Uptime.Segments {
		if s.State == history.StateNoData && s.Start.Before(stoppedAt.Add(time.Second)) && s.End.After(stoppedAt) {
			gap = true
		}
	}
	if !gap {
		t.Errorf("segments = %+v; want no data while n1 was stopped (at %v)", nh.Uptime.Segments, stoppedAt)
	}
}

// TestUnavailableHistoryStoreOpensWithoutRestart starts n1 with its data
// dir blocked (a file where the dir should be), then clears the way: the
// running node opens its store, says so once, its metric of trouble goes
// back to 1, and it records from then on, links included.
func TestUnavailableHistoryStoreOpensWithoutRestart(t *testing.T) {
	c := nodetest.StartCluster(t, 2, nodetest.Options{Start: func(int) bool { return false },
		History: node.HistoryOptions{Flush: 200 * time.Millisecond, RetryMin: 100 * time.Millisecond, RetryMax: 400 * time.Millisecond}})
	blocker := filepath.Join(c.Dirs[0], "data")
	if err := os.WriteFile(blocker, []byte("not a dir"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Start(0)
	c.Start(1)
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge)

	var h healthBody
	getJSON(t, c.URLs[0]+"/api/health", &h)
	if h.History == nil || h.History.State != "unavailable" {
		t.Fatalf("n1 /api/health history = %+v; want unavailable", h.History)
	}
	if m := scrapeMetrics(t, c.URLs[0]); !strings.Contains(m, "\nmeshmon_history_store_ok 0\n") {
		t.Errorf("metrics while the store is unavailable lack meshmon_history_store_ok 0")
	}

	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "n1's store to open after the way was cleared", func() bool {
		h = healthBody{}
		getJSON(t, c.URLs[0]+"/api/health", &h)
		return h.History != nil && h.History.State == "ok"
	})
	if m := scrapeMetrics(t, c.URLs[0]); !strings.Contains(m, "\nmeshmon_history_store_ok 1\n") {
		t.Errorf("metrics after the store opened lack meshmon_history_store_ok 1")
	}
	back := c.Node(0).Events().List(func(e health.Event) bool {
		return e.Kind == "history" && e.Severity == health.SeverityInfo && strings.Contains(e.Message, "available again")
	})
	if len(back) != 1 {
		t.Errorf("n1: %d events saying the store is back; want 1", len(back))
	}
	if _, err := os.Stat(filepath.Join(blocker, history.FileName)); err != nil {
		t.Errorf("store file after the way was cleared: %v", err)
	}
	// History is kept from then on: n2's node and link rows fill in.
	for _, path := range []string{"/api/history/test/nodes/n2?range=1h", "/api/history/test/links/n1/n2?range=1h"} {
		waitUntil(t, path+" to have a current status", func() bool {
			var sh struct {
				Current *history.Current `json:"current"`
			}
			return getJSON(t, c.URLs[0]+path, &sh) == http.StatusOK && sh.Current != nil
		})
	}
}

// waitUntil polls cond every 50 ms until it holds, failing the test after
// converge.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(converge)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}
