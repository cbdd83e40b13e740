package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/meshmon/meshmon/health"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "print every node's agreed status as a running node sees it (like `serf members`); exit 1 if that node is unreachable",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "url", Value: "http://localhost:8000", EnvVars: []string{"MESHMON_URL"},
				Usage: "HTTP address of the node to ask"},
			&cli.BoolFlag{Name: "json", Usage: "print the node's /api/view JSON instead of a table"},
			&cli.DurationFlag{Name: "timeout", Value: 5 * time.Second, Usage: "give up on the node after this long"},
		},
		Action: func(c *cli.Context) error {
			return printStatus(c.Context, statusOptions{
				URL:     c.String("url"),
				JSON:    c.Bool("json"),
				Timeout: c.Duration("timeout"),
			}, c.App.Writer)
		},
	}
}

// statusOptions are `meshmon status`'s flags.
type statusOptions struct {
	// URL is the node's HTTP sidecar, e.g. http://localhost:8000.
	URL string
	// JSON prints /api/view as the node served it.
	JSON bool
	// Timeout bounds the whole request.
	Timeout time.Duration
}

// printStatus fetches o.URL's /api/view and writes it to w as a table (or
// as JSON).
func printStatus(ctx context.Context, o statusOptions, w io.Writer) error {
	body, err := fetchView(ctx, o)
	if err != nil {
		return err
	}
	if o.JSON {
		_, err := w.Write(body)
		return err
	}
	var v health.View
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("%s/api/view: decode: %w", strings.TrimRight(o.URL, "/"), err)
	}
	return writeStatusTable(w, &v)
}

func fetchView(ctx context.Context, o statusOptions) ([]byte, error) {
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	u := strings.TrimRight(o.URL, "/") + "/api/view"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("--url %q: %w", o.URL, err)
	}
	req.Header.Set("Accept", "application/json")
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("node at %s is unreachable: %w", o.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("%s: %s: %s", u, resp.Status, e.Error)
		}
		return nil, fmt.Errorf("%s: %s", u, resp.Status)
	}
	return body, nil
}

// writeStatusTable writes one row per member of every network, sorted by
// network then node:
//
//	NETWORK  NODE       STATUS   RTT    AGREED-BY  VERSION  NOTE
//	prod     server-01  online   -      3/3        v0.3.0   self
//	prod     server-02  online   1.8ms  3/3        v0.3.0
//
// RTT is the asking node's latest ping to the member. AGREED-BY is how many
// live observers agree with the status, of those with an opinion. NOTE says
// "self", "unconfirmed" (fewer than 2 observers: no alert is sent), or why
// the member's key is missing.
func writeStatusTable(w io.Writer, v *health.View) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NETWORK\tNODE\tSTATUS\tRTT\tAGREED-BY\tVERSION\tNOTE")
	networks := make([]string, 0, len(v.Networks))
	for id := range v.Networks {
		networks = append(networks, id)
	}
	slices.Sort(networks)
	for _, id := range networks {
		nv := v.Networks[id]
		if nv == nil {
			continue
		}
		rtt := map[string]float64{}
		for _, c := range nv.Connections {
			if c.Src == nv.Self && c.Status == "up" && c.RTTMs > 0 {
				rtt[c.Dst] = c.RTTMs
			}
		}
		nodes := make([]string, 0, len(nv.Nodes))
		for n := range nv.Nodes {
			nodes = append(nodes, n)
		}
		slices.Sort(nodes)
		for _, name := range nodes {
			n := nv.Nodes[name]
			if n == nil {
				continue
			}
			var notes []string
			if name == nv.Self {
				notes = append(notes, "self")
			} else if !n.Confirmed && n.Status != health.StatusUnknown && n.Status != health.StatusLeft {
				notes = append(notes, "unconfirmed")
			}
			if n.KeyMissing != "" {
				notes = append(notes, "no key: "+n.KeyMissing)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\n", id, name, n.Status, formatRTT(rtt[name]),
				n.AgreedBy, n.LiveObservers, dash(n.Version), strings.Join(notes, "; "))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// tabwriter pads the last column too; trim trailing blanks.
	lines := strings.SplitAfter(buf.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(strings.TrimSuffix(l, "\n"), " ")
		if strings.HasSuffix(l, "\n") {
			lines[i] += "\n"
		}
	}
	_, err := io.WriteString(w, strings.Join(lines, ""))
	return err
}

// formatRTT prints a round trip in ms, "-" for none.
func formatRTT(ms float64) string {
	switch {
	case ms <= 0:
		return "-"
	case ms < 10:
		return strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
	}
	return strconv.FormatFloat(ms, 'f', 0, 64) + "ms"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
