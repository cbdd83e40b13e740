package metrics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshmon/meshmon/metrics"
)

// deployDir holds the Grafana dashboard and the Prometheus files.
const deployDir = "../deploy"

func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(promtool(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestAlertRulesAreValid(t *testing.T) {
	runPromtool(t, "check", "rules", filepath.Join(deployDir, "prometheus", "alerts.yml"))
}

func TestAlertRulesUnitTests(t *testing.T) {
	runPromtool(t, "test", "rules", filepath.Join(deployDir, "prometheus", "alerts_test.yml"))
}

func TestPrometheusConfigIsValid(t *testing.T) {
	runPromtool(t, "check", "config", filepath.Join(deployDir, "prometheus", "prometheus.yml"))
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID      int    `json:"id"`
		Type    string `json:"type"`
		Title   string `json:"title"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, "grafana", "meshmon.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("meshmon.json: %v", err)
	}
	return d
}

// TestDashboardShape: the dashboard has the network variable and the panels
// the issue asks for, each with a query.
func TestDashboardShape(t *testing.T) {
	d := loadDashboard(t)
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	for _, want := range []string{"datasource", "network", "instance"} {
		if !vars[want] {
			t.Errorf("dashboard has no %q variable", want)
		}
	}
	titles := map[string]bool{}
	for _, p := range d.Panels {
		titles[p.Title] = true
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if !strings.Contains(tg.Expr, `network=~"$network"`) && !strings.Contains(tg.Expr, "meshmon_config_") &&
				!strings.Contains(tg.Expr, "meshmon_build_info") {
				t.Errorf("panel %q query %s ignores the network variable", p.Title, tg.RefID)
			}
		}
	}
	for _, want := range []string{"Nodes online", "Node status", "RTT matrix (latest)", "RTT per edge",
		"Messages received", "Messages rejected", "Alert deliveries", "Notification leaders",
		"Monitor status", "Monitors down", "Monitor response time per vantage point"} {
		if !titles[want] {
			t.Errorf("dashboard has no panel %q", want)
		}
	}
}

// TestDeployUsesKnownMetrics: every meshmon_ name in the dashboard and the
// alert rules is a metric the collector exports.
func TestDeployUsesKnownMetrics(t *testing.T) {
	_, src := newSources(t)
	body := scrape(t, metrics.Handler(newRegistry(t, src)))
	name := regexp.MustCompile(`meshmon_[a-z_]+`)
	for _, f := range []string{"grafana/meshmon.json", "prometheus/alerts.yml", "prometheus/alerts_test.yml"} {
		b, err := os.ReadFile(filepath.Join(deployDir, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range name.FindAllString(string(b), -1) {
			base := n
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				if b, ok := strings.CutSuffix(n, s); ok && strings.Contains(body, "# TYPE "+b+" histogram") {
					base = b
				}
			}
			if !strings.Contains(body, "# TYPE "+base+" ") {
				t.Errorf("%s uses %s, which the collector does not export", f, n)
			}
		}
	}
}

// grafanaVars replaces the dashboard's variables as Grafana would for "All".
var grafanaVars = strings.NewReplacer(
	"$network", ".*", "$instance", ".*", "$__rate_interval", "1m", "$__range", "5m", "$__interval", "15s",
)

// TestDashboardQueriesOnRealPrometheus starts a real Prometheus (Debian's
// prometheus package) scraping a metrics endpoint, then evaluates every
// query of the dashboard through its HTTP API: each must be valid and
// return at least one series.
func TestDashboardQueriesOnRealPrometheus(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus not found: install Debian's prometheus package (apt-get install prometheus); .ci/run does")
	}
	_, src := newSources(t)
	target := httptest.NewServer(metrics.Handler(newRegistry(t, src)))
	defer target.Close()
	api := startPrometheus(t, bin, strings.TrimPrefix(target.URL, "http://"))

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// rate() needs two samples in its window: wait for three scrapes.
	waitQuery(ctx, t, api, `count_over_time(meshmon_build_info{job="meshmon"}[1m]) >= 3`)

	d := loadDashboard(t)
	n := 0
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			q := grafanaVars.Replace(tg.Expr)
			res, err := query(ctx, api, q)
			if err != nil {
				t.Errorf("panel %q query %s: %v\n%s", p.Title, tg.RefID, err, q)
				continue
			}
			if len(res) == 0 {
				t.Errorf("panel %q query %s returns no series\n%s", p.Title, tg.RefID, q)
			}
			n++
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		m := regexp.MustCompile(`^label_values\((\w+), (\w+)\)$`).FindStringSubmatch(fmt.Sprint(v.Query.(map[string]any)["query"]))
		if m == nil {
			t.Errorf("variable %s: query %v is not label_values(metric, label)", v.Name, v.Query)
			continue
		}
		vals, err := labelValues(ctx, api, m[2], m[1])
		if err != nil || len(vals) == 0 {
			t.Errorf("variable %s: label_values(%s, %s) = %v, %v; want values", v.Name, m[1], m[2], vals, err)
		}
	}
	if n < 15 {
		t.Errorf("evaluated %d panel queries; want the whole dashboard", n)
	}
}

// startPrometheus runs Prometheus on a free loopback port scraping the
// targets (host:port) every second, until the test ends, and returns its
// base URL.
func startPrometheus(t *testing.T, bin string, targets ...string) string {
	t.Helper()
	dir := t.TempDir()
	quoted := make([]string, len(targets))
	for i, tg := range targets {
		quoted[i] = strconv.Quote(tg)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: meshmon
    static_configs:
      - targets: [%s]
`, strings.Join(quoted, ", "))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn")
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready within 30s\n%s", logs.String())
		}
		<-tick.C
	}
}

// apiResponse is the envelope of Prometheus' HTTP API.
type apiResponse struct {
	Status    string          `json:"status"`
	Error     string          `json:"error"`
	ErrorType string          `json:"errorType"`
	Data      json.RawMessage `json:"data"`
}

func apiGet(ctx context.Context, u string) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r apiResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s", r.ErrorType, r.Error)
	}
	return r.Data, nil
}

// query evaluates an instant query and returns its series (or a scalar as
// one element).
func query(ctx context.Context, api, q string) ([]json.RawMessage, error) {
	data, err := apiGet(ctx, api+"/api/v1/query?query="+url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	var d struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	if d.ResultType == "scalar" || d.ResultType == "string" {
		return []json.RawMessage{d.Result}, nil
	}
	var res []json.RawMessage
	err = json.Unmarshal(d.Result, &res)
	return res, err
}

func labelValues(ctx context.Context, api, label, metric string) ([]string, error) {
	data, err := apiGet(ctx, api+"/api/v1/label/"+label+"/values?match[]="+url.QueryEscape(metric))
	if err != nil {
		return nil, err
	}
	var vals []string
	err = json.Unmarshal(data, &vals)
	return vals, err
}

// waitQuery waits until q returns a series.
func waitQuery(ctx context.Context, t *testing.T, api, q string) {
	t.Helper()
	for {
		res, err := query(ctx, api, q)
		if err == nil && len(res) > 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never returned a series: %v", q, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
