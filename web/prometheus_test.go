package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestSidecarScrapedByRealPrometheus runs Debian's Prometheus against a
// sidecar with access control: a scrape with basic_auth and one with an
// authorization bearer token succeed, one without credentials does not.
func TestSidecarScrapedByRealPrometheus(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus not found: install Debian's prometheus package (apt-get install prometheus); .ci/run does")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	target, _ := startSidecar(t, newFixture(t).full(), SidecarOptions{Access: &AccessControl{
		BearerTokens: []string{testToken},
		BasicUsers:   map[string]string{"prometheus": string(hash)},
	}})
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: basic
    basic_auth: {username: prometheus, password: %q}
    static_configs: [{targets: [%q]}]
  - job_name: bearer
    authorization: {type: Bearer, credentials: %q}
    static_configs: [{targets: [%q]}]
  - job_name: none
    static_configs: [{targets: [%q]}]
`, testPassword, target, testToken, target, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr, "--log.level=warn")
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

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Each job's up{} once scraped: 1 with credentials, 0 without.
	want := map[string]string{"basic": "1", "bearer": "1", "none": "0"}
	for {
		got, err := upByJob(ctx, "http://"+addr)
		if err == nil && len(got) == len(want) {
			ok := true
			for job, v := range want {
				ok = ok && got[job] == v
			}
			if ok {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("up by job = %v (%v); want %v", got, err, want)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// upByJob queries Prometheus for up and returns its value by job.
func upByJob(ctx context.Context, base string) (map[string]string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/query?query="+url.QueryEscape("up"), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, r := range body.Data.Result {
		out[r.Metric["job"]] = fmt.Sprint(r.Value[1])
	}
	return out, nil
}
