package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/meshmon/meshmon/history"
)

// historyFlags configure the history store of `meshmon run`.
func historyFlags() []cli.Flag {
	d := history.DefaultRetention()
	days := func(x time.Duration) string { return strconv.Itoa(int(x/(24*time.Hour))) + "d" }
	return []cli.Flag{
		&cli.BoolFlag{Name: "status-page", EnvVars: []string{"MESHMON_STATUS_PAGE"},
			Usage: "serve a public, read-only status page per network at /status/<network_id> (members' and monitors' statuses, uptime, outages; nothing internal)"},
		&cli.StringFlag{Name: "data-dir", EnvVars: []string{"MESHMON_DATA_DIR"},
			Usage: "directory of the history store, history.db (default: <config-dir>/data)"},
		&cli.StringFlag{Name: "retain-changes", Value: days(d.Changes), EnvVars: []string{"MESHMON_RETAIN_CHANGES"},
			Usage: "how long status and monitor verdict changes (uptime, outages) are kept, e.g. 90d or 2160h"},
		&cli.StringFlag{Name: "retain-events", Value: days(d.Events), EnvVars: []string{"MESHMON_RETAIN_EVENTS"},
			Usage: "how long events and alerts are kept"},
		&cli.StringFlag{Name: "retain-minutes", Value: days(d.Minute), EnvVars: []string{"MESHMON_RETAIN_MINUTES"},
			Usage: "how long per-minute RTT and monitor response-time rollups are kept"},
		&cli.StringFlag{Name: "retain-hours", Value: days(d.Hour), EnvVars: []string{"MESHMON_RETAIN_HOURS"},
			Usage: "how long hourly RTT and monitor response-time rollups are kept"},
	}
}

// retentionOf reads the --retain-* flags.
func retentionOf(c *cli.Context) (history.Retention, error) {
	var r history.Retention
	for _, f := range []struct {
		name string
		dst  *time.Duration
	}{
		{"retain-changes", &r.Changes}, {"retain-events", &r.Events},
		{"retain-minutes", &r.Minute}, {"retain-hours", &r.Hour},
	} {
		d, err := parseRetention(c.String(f.name))
		if err != nil {
			return r, fmt.Errorf("--%s: %w", f.name, err)
		}
		*f.dst = d
	}
	return r, nil
}

// parseRetention reads a positive duration: whole days ("90d") or a Go
// duration ("36h").
func parseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, fmt.Errorf("want whole days (90d) or a duration (36h), got %q", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("want whole days (90d) or a duration (36h), got %q", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("want a positive duration, got %q", s)
	}
	return d, nil
}
