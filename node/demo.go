package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/meshmon/meshmon/health"
)

// DemoOptions configures RunDemo.
type DemoOptions struct {
	// Nodes is how many nodes to run. Default 5.
	Nodes int
	// HTTPListen is the first node's HTTP address. Default ":8000".
	HTTPListen string
	// Dir holds the nodes' config dirs. Default: a temporary directory removed on exit.
	Dir string
	// Logger receives the nodes' logs. Default: warnings and errors to stderr.
	Logger *slog.Logger
	// Out receives the demo's own messages. Default os.Stdout.
	Out io.Writer
	// StatusEvery is how often a one-line summary is printed. Default 5s; <0 disables.
	StatusEvery time.Duration
}

// RunDemo runs a live network of real nodes in this process, each with its own
// key, libp2p host on loopback and HTTP sidecar, until ctx ends.
func RunDemo(ctx context.Context, o DemoOptions) error {
	if o.Nodes <= 0 {
		o.Nodes = 5
	}
	if o.HTTPListen == "" {
		o.HTTPListen = ":8000"
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if o.StatusEvery == 0 {
		o.StatusEvery = 5 * time.Second
	}
	if o.Dir == "" {
		dir, err := os.MkdirTemp("", "meshmon-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.Dir = dir
	}
	listeners := make([]net.Listener, o.Nodes)
	names := make([]string, o.Nodes)
	urls := make([]string, o.Nodes)
	defer func() {
		for _, ln := range listeners {
			if ln != nil {
				ln.Close()
			}
		}
	}()
	for i := range o.Nodes {
		addr := "127.0.0.1:0"
		if i == 0 {
			addr = o.HTTPListen
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("demo: http listen %s: %w", addr, err)
		}
		listeners[i] = ln
		names[i] = fmt.Sprintf("demo-%d", i+1)
		urls[i] = "http://" + loopbackURLHost(ln.Addr())
	}
	dirs, err := WriteCluster(ClusterSpec{Dir: o.Dir, NetworkID: "demo", Names: names, URLs: urls, Monitors: demoMonitors(urls)})
	if err != nil {
		return err
	}
	nodes := make([]*Node, o.Nodes)
	for i := range o.Nodes {
		nodes[i], err = New(ctx, Options{
			ConfigDir:    dirs[i],
			HTTPListener: listeners[i],
			Logger:       o.Logger.With("demo_node", names[i]),
		})
		if err != nil {
			for _, n := range nodes[:i] {
				n.Close()
			}
			return err
		}
		listeners[i] = nil // owned by the node now
	}
	fmt.Fprintf(o.Out, "meshmon demo: %d nodes on network %q\n", o.Nodes, "demo")
	for i, n := range nodes {
		fmt.Fprintf(o.Out, "  %-8s %s  peer %s\n", names[i], urls[i], n.PeerID())
	}
	fmt.Fprintf(o.Out, "dashboard: %s/   agreed view: %s/api/view\nPress Ctrl-C to stop.\n", urls[0], urls[0])

	g, gctx := errgroup.WithContext(ctx)
	for _, n := range nodes {
		g.Go(func() error { return n.Run(gctx) })
	}
	if o.StatusEvery > 0 {
		g.Go(func() error {
			t := time.NewTicker(o.StatusEvery)
			defer t.Stop()
			for {
				select {
				case <-gctx.Done():
					return nil
				case <-t.C:
					fmt.Fprintln(o.Out, summary(nodes[0].View()))
				}
			}
		})
	}
	err = g.Wait()
	fmt.Fprintln(o.Out, "meshmon demo: stopped")
	return err
}

// demoMonitors are the demo network's monitors: real services on loopback
// (the demo nodes' own HTTP APIs), probed by every demo node.
func demoMonitors(urls []string) string {
	out := fmt.Sprintf("  - name: demo-1 api\n    type: http\n    host: %s/api/health\n    interval: 10s\n    body_regex: '\"status\": *\"ok\"'\n", urls[0])
	if len(urls) > 1 {
		out += fmt.Sprintf("  - name: demo-2 port\n    type: tcp\n    host: %s\n    interval: 10s\n", strings.TrimPrefix(urls[1], "http://"))
	}
	return out
}

// summary is a one-line status of a view, e.g. "demo: 5/5 online".
func summary(v *health.View) string {
	var parts []string
	for id, nv := range v.Networks {
		online := 0
		var other []string
		for _, n := range nv.Nodes {
			if n.Status == health.StatusOnline {
				online++
			} else {
				other = append(other, n.NodeID+" "+string(n.Status))
			}
		}
		sort.Strings(other)
		s := fmt.Sprintf("%s: %d/%d online", id, online, len(nv.Nodes))
		if len(other) > 0 {
			s += " (" + strings.Join(other, ", ") + ")"
		}
		parts = append(parts, s)
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// loopbackURLHost turns a listener address into host:port usable from this
// machine (a wildcard listener is reached through 127.0.0.1).
func loopbackURLHost(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
	}
	return tcp.AddrPort().String()
}
