package node_test

import (
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/node/nodetest"
)

func scrapeMetrics(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %s", resp.Status)
	}
	return string(b)
}

// TestMetricsFollowTheCluster scrapes a running node: the exposition is
// clean for promtool, carries our series and libp2p's, and follows a node
// going offline.
func TestMetricsFollowTheCluster(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: install Debian's prometheus package (apt-get install prometheus); .ci/run does")
	}
	c := nodetest.StartCluster(t, 3, nodetest.Options{})
	c.WaitStatus(c.All(), c.All(), health.StatusOnline, converge)
	body := scrapeMetrics(t, c.URLs[0])
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
	for _, want := range []string{
		`meshmon_node_status{network="test",node="n3",status="online"} 1`,
		`meshmon_config_last_reload_successful 1`,
		`meshmon_build_info{`,
		`meshmon_messages_received_total{kind="heartbeat",network="test"}`,
		`libp2p_`,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	c.Kill(2)
	c.WaitStatus([]int{0, 1}, []int{2}, health.StatusOffline, converge)
	ok := nodetest.Eventually(converge, func() bool {
		return strings.Contains(scrapeMetrics(t, c.URLs[0]), `meshmon_node_status{network="test",node="n3",status="offline"} 1`)
	})
	if !ok {
		t.Error("meshmon_node_status never showed n3 offline")
	}
}
