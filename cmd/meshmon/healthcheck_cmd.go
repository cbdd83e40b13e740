package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/meshmon/meshmon/configsync"
)

// healthcheckCommand is the Docker image's HEALTHCHECK: the image has no
// curl, so the binary checks its own node.
func healthcheckCommand() *cli.Command {
	return &cli.Command{
		Name:  "healthcheck",
		Usage: "GET <url>/api/health and exit 0 if the node answers {\"status\":\"ok\"}, 1 otherwise (the Docker HEALTHCHECK)",
		Description: "Without --url the address comes from MESHMON_HTTP_LISTEN, else listen.http in nodeconf.yml, " +
			"else :8000, and an empty or wildcard host is read as 127.0.0.1.",
		Flags: append(configFlags(),
			&cli.StringFlag{Name: "url", EnvVars: []string{"MESHMON_HEALTHCHECK_URL"},
				Usage: "base URL of the node's HTTP server (default: derived from the node's HTTP listen address)"},
			&cli.DurationFlag{Name: "timeout", Value: 3 * time.Second,
				Usage: "give up after this long"},
		),
		Action: func(c *cli.Context) error {
			base := c.String("url")
			if base == "" {
				base = healthcheckURL(os.Getenv("MESHMON_HTTP_LISTEN"), c.String("config-dir"), c.String("config-file"))
			}
			status, err := checkHealth(c.Context, base, c.Duration("timeout"))
			if err != nil {
				return &exitError{code: 1, err: fmt.Errorf("healthcheck %s: %w", base, err)}
			}
			_, err = fmt.Fprintf(c.App.Writer, "%s: %s\n", base, status)
			return err
		},
	}
}

// checkHealth GETs base/api/health within timeout and returns the status
// field; any status but "ok" is an error.
func checkHealth(ctx context.Context, base string, timeout time.Duration) (string, error) {
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/api/health", nil)
	if err != nil {
		return "", err
	}
	// No proxy from the environment: the check is of this node, not of
	// whatever HTTP_PROXY a container inherited.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %s", resp.Status)
	}
	var body struct {
		Status string `json:"status"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body); err != nil {
		return "", fmt.Errorf("decode: %w", err)
	}
	if body.Status != "ok" {
		return "", fmt.Errorf("status %q, want \"ok\"", body.Status)
	}
	return body.Status, nil
}

// healthcheckURL derives the node's base URL from its HTTP listen address:
// listen if set, else nodeconf's listen.http (best effort: an unreadable
// nodeconf means the default), else ":8000".
func healthcheckURL(listen, configDir, configFile string) string {
	if listen == "" {
		if data, err := configsync.ReadConfigFile(filepath.Join(configDir, configFile)); err == nil {
			if nc, err := configsync.ParseNodeConf(data, configFile); err == nil && nc != nil {
				listen = nc.Listen.HTTP
			}
		}
	}
	if listen == "" {
		listen = ":8000"
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	// A wildcard listener ("", 0.0.0.0 or [::], which Go makes dual-stack)
	// answers on 127.0.0.1; ::1 may not exist in a container without IPv6.
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
