package node

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshmon/meshmon/configsync"
	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/metrics"
	"github.com/meshmon/meshmon/notify"
	"github.com/meshmon/meshmon/p2p"
	"github.com/meshmon/meshmon/version"
	"github.com/meshmon/meshmon/web"
)

// Options configures New. Zero values take the documented defaults.
type Options struct {
	// ConfigDir holds nodeconf.yml, keys and networks/. Default "./config"
	// (DefaultValues has every default of the node).
	ConfigDir string
	// ConfigFile is the nodeconf file name inside ConfigDir. Default "nodeconf.yml".
	ConfigFile string
	// HTTPListen overrides nodeconf's listen.http (default ":8000").
	HTTPListen string
	// HTTPListener, when set, is used instead of listening on HTTPListen.
	HTTPListener net.Listener
	// P2PListen overrides nodeconf's listen.p2p.
	P2PListen []string
	// P2PAnnounce overrides nodeconf's listen.announce.
	P2PAnnounce []string
	// Logger receives the node's logs. Default slog.Default().
	Logger *slog.Logger
	// Version is announced to peers and served by /api/health. Default version.Version.
	Version string
	// Gater cuts links in tests; nil in production.
	Gater connmgr.ConnectionGater
	// LeaveGrace is how long a stopping node lets its leave message flush
	// before closing connections. Default 300ms.
	LeaveGrace time.Duration
	// Alerts tunes alert delivery (alerts.go); zero values are production's.
	Alerts AlertOptions
	// DataDir holds the history store (history.db). Default <ConfigDir>/data.
	DataDir string
	// History tunes the history store (history.go); zero values are production's.
	History HistoryOptions
	// StatusPage serves the public status page /status/{network_id}.
	StatusPage bool
}

// Node is one running meshmon node.
type Node struct {
	opts   Options
	def    Defaults
	log    *slog.Logger
	key    ed25519.PrivateKey
	host   *p2p.Host
	events *health.EventLog
	// incarnations hands out this node's boot_ids (a counter on disk).
	incarnations *configsync.Incarnations
	http         *web.Sidecar
	ln           net.Listener
	git          *configsync.GitSync
	// history records status changes, events, alerts and RTT (history.go).
	history *historyRuntime
	// monitorProbes records the probes this node runs, for metrics
	// (observe.go).
	monitorProbes *metrics.MonitorProbes

	reloadCh chan struct{}
	rewatch  chan struct{}
	// httpDone closes when the HTTP server shuts down, ending SSE streams.
	httpDone     chan struct{}
	httpDoneOnce sync.Once

	// mu protects the following fields.
	mu     sync.Mutex
	cfg    *configsync.Config
	nets   map[string]*netRuntime // by network directory
	gits   map[string]*gitStatus  // by network directory
	reload ReloadStatus

	abort     chan struct{}
	abortOnce sync.Once
	closeOnce sync.Once

	// alertGate is shared by every Discord sender of the node (alerts.go).
	alertGate notify.RateGate
}

// New prepares a node: it loads or creates the key, scaffolds missing local
// networks, clones git networks (all at once), loads and validates the
// whole config, starts the libp2p host and binds the HTTP listener.
// Nothing is published until Run. Every blocking step takes ctx: when it
// ends (the command's stop signal), New stops and returns ctx's error.
func New(ctx context.Context, opts Options) (*Node, error) {
	def := DefaultValues()
	if opts.ConfigDir == "" {
		opts.ConfigDir = def.ConfigDir
	}
	if opts.ConfigFile == "" {
		opts.ConfigFile = configsync.DefaultNodeConfName
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Version == "" {
		opts.Version = version.Version
	}
	if opts.DataDir == "" {
		opts.DataDir = filepath.Join(opts.ConfigDir, "data")
	}
	if opts.LeaveGrace <= 0 {
		opts.LeaveGrace = def.LeaveGrace
	}
	log := opts.Logger
	n := &Node{
		opts:     opts,
		log:      log,
		def:      def,
		events:   health.NewEventLog(def.EventLogSize, nil),
		git:      configsync.NewGitSync(configsync.GitSyncOptions{}),
		reloadCh: make(chan struct{}, 1),
		rewatch:  make(chan struct{}, 1),
		nets:     map[string]*netRuntime{},
		httpDone: make(chan struct{}),
		// Until the first apply, the loaded config counts as a success.
		reload: ReloadStatus{OK: true, LastSuccess: time.Now()},
		gits:   map[string]*gitStatus{},
		abort:  make(chan struct{}),

		monitorProbes: metrics.NewMonitorProbes(),
	}
	key, created, adopted, err := configsync.LoadOrCreateNodeKey(opts.ConfigDir)
	if err != nil {
		return nil, explainPermission(opts.ConfigDir, err)
	}
	keyPath := filepath.Join(opts.ConfigDir, configsync.NodeKeyPath)
	switch {
	case created:
		log.Info("created node key", "path", keyPath)
	case adopted != "":
		log.Info("adopted existing per-network key as the node key", "from", adopted, "path", keyPath)
	}
	// Before any event: the log starts at the ids the store reserved.
	n.history = n.openHistory()
	ready := false
	defer func() {
		if !ready {
			n.history.stop()
		}
	}()
	if warn := configsync.KeyModeWarning(keyPath); warn != "" {
		// As OpenSSH warns; accepted all the same (Docker Desktop bind
		// mounts cannot always set 0600).
		log.Warn("private key readable by others", "path", keyPath, "detail", warn)
		n.events.Add(health.Event{Kind: "key", Severity: health.SeverityWarning, Message: warn})
	}
	n.key = key
	if n.incarnations, err = configsync.OpenIncarnations(opts.ConfigDir, nil); err != nil {
		return nil, err
	}
	cfg, err := n.loadConfig(ctx, true)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	n.cfg = cfg

	listen := cfg.Node.Listen.P2P
	if len(opts.P2PListen) > 0 {
		listen = opts.P2PListen
	}
	announce := cfg.Node.Listen.Announce
	if len(opts.P2PAnnounce) > 0 {
		announce = opts.P2PAnnounce
	}
	// One registry for our metrics and libp2p's own, never the global one.
	reg := prometheus.NewRegistry()
	reach := reachabilityOf(cfg)
	log.Info("p2p reachability", "reachability", string(reach))
	n.host, err = p2p.NewHost(p2p.HostConfig{Key: key, Listen: listen, Announce: announce, Logger: log,
		Gater: opts.Gater, Registerer: reg, Reachability: reach})
	if err != nil {
		return nil, err
	}
	if opts.HTTPListener != nil {
		n.ln = opts.HTTPListener
	} else {
		addr := cfg.Node.Listen.HTTP
		if opts.HTTPListen != "" {
			addr = opts.HTTPListen
		}
		n.ln, err = net.Listen("tcp", addr)
		if err != nil {
			n.host.Close()
			return nil, fmt.Errorf("http listen %s: %w", addr, err)
		}
	}
	metricsHandler, err := n.newMetrics(reg)
	if err != nil {
		n.host.Close()
		n.ln.Close()
		return nil, fmt.Errorf("metrics: %w", err)
	}
	deps := n.webDeps(metricsHandler)
	deps.MaxStreamsPerClient = cfg.Node.HTTP.MaxStreamsPerClient
	n.http, err = web.NewSidecar(deps, sidecarOptions(cfg.Node.HTTP, opts.ConfigDir, reg, log))
	if err != nil {
		n.host.Close()
		n.ln.Close()
		return nil, fmt.Errorf("http: %w", err)
	}
	if n.http.TLS() {
		log.Info("http serves TLS", "cert_file", cfg.Node.HTTP.TLS.CertFile)
	}
	if cfg.Node.HTTP.Auth != nil {
		// Counts only: the credentials themselves are never logged.
		log.Info("http access control on", "bearer_tokens", len(cfg.Node.HTTP.Auth.BearerTokens),
			"basic_users", len(cfg.Node.HTTP.Auth.BasicUsers), "public", cfg.Node.HTTP.Auth.Public)
	}
	ready = true
	return n, nil
}

// sidecarOptions turns nodeconf's http section into the server's options.
// Relative TLS paths are relative to the config dir.
func sidecarOptions(h configsync.HTTPConf, configDir string, reg prometheus.Registerer, log *slog.Logger) web.SidecarOptions {
	o := web.SidecarOptions{
		ReadTimeout:  time.Duration(h.ReadTimeout),
		WriteTimeout: time.Duration(h.WriteTimeout),
		IdleTimeout:  time.Duration(h.IdleTimeout),
		MaxConns:     h.MaxConnections,
		Registerer:   reg,
		Logger:       log,
	}
	if h.TLS != nil {
		o.TLSCertFile, o.TLSKeyFile = h.TLS.CertFile, h.TLS.KeyFile
		if !filepath.IsAbs(o.TLSCertFile) {
			o.TLSCertFile = filepath.Join(configDir, o.TLSCertFile)
		}
		if !filepath.IsAbs(o.TLSKeyFile) {
			o.TLSKeyFile = filepath.Join(configDir, o.TLSKeyFile)
		}
	}
	if a := h.Auth; a != nil {
		o.Access = &web.AccessControl{BearerTokens: a.BearerTokens, BasicUsers: a.BasicUsers, Public: a.Public}
	}
	return o
}

// PeerID is this node's libp2p peer ID.
func (n *Node) PeerID() peer.ID { return n.host.ID() }

// HTTPAddr is the address the HTTP sidecar listens on.
func (n *Node) HTTPAddr() net.Addr { return n.ln.Addr() }

// Events is the node's event log.
func (n *Node) Events() *health.EventLog { return n.events }

// Host is the node's libp2p host.
func (n *Node) Host() *p2p.Host { return n.host }

// View returns the agreed state of every network.
func (n *Node) View() *health.View {
	n.mu.Lock()
	defer n.mu.Unlock()
	v := &health.View{Networks: make(map[string]*health.NetworkView, len(n.nets))}
	for _, r := range n.nets {
		nv := *r.engine.View()
		nv.Config = n.sourceLocked(r)
		v.Networks[r.cfg.Config.NetworkID] = &nv
	}
	return v
}

func (n *Node) webDeps(metricsHandler http.Handler) web.Deps {
	return web.Deps{
		Metrics: metricsHandler,
		Raw:     n.raw,
		Done:    n.httpDone,
		Version: n.opts.Version,
		P2P: func() p2p.P2PInfo {
			bw := n.host.Bandwidth()
			return p2p.P2PInfo{PeerID: n.host.ID().String(), Addrs: n.host.Addrs(), Bandwidth: &bw,
				Reachability: string(n.host.Reachability()), RelayService: n.host.RelayService(), Relays: n.host.Relays(),
				HolePunching: n.host.HolePunching()}
		},
		View:   n.View,
		Events: n.events,
		// Notification clusters (alerts.go).
		NotificationClusters: n.webNotificationClusters,
		// History of changes, uptime, RTT and events (history.go).
		History:    n.history.rec,
		StatusPage: n.opts.StatusPage,
		// Monitors and their verdicts (monitors.go).
		Monitors: n.MonitorSnapshots,
	}
}

// Run joins every network and serves HTTP until ctx ends, then leaves
// gracefully (peers see this node as left) and releases everything. While
// running it applies config changes: local files on change, git networks at
// their git_interval.
func (n *Node) Run(ctx context.Context) error {
	defer n.Close()
	n.mu.Lock()
	cfg := n.cfg
	n.cfg = nil
	n.mu.Unlock()
	n.history.start()
	n.apply(cfg)

	loopCtx, stopLoops := context.WithCancel(context.Background())
	defer stopLoops()
	var loops sync.WaitGroup
	for _, f := range []func(context.Context){n.reloadLoop, n.watchLoop, n.gitLoop} {
		loops.Add(1)
		go func() {
			defer loops.Done()
			f(loopCtx)
		}()
	}
	httpErr := make(chan error, 1)
	go func() {
		err := n.http.Serve(n.ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		httpErr <- err
	}()
	n.log.Info("node running", "peer_id", n.host.ID().String(), "http", n.ln.Addr().String(), "p2p", n.host.Addrs())

	var err error
	select {
	case <-ctx.Done():
	case <-n.abort:
	case err = <-httpErr:
		if err != nil {
			err = fmt.Errorf("http: %w", err)
		}
	}
	stopLoops()
	loops.Wait()
	select {
	case <-n.abort:
		// Killed: no leave message, connections drop as in a crash.
		n.Close()
	default:
		n.leave()
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), n.def.ShutdownTimeout)
	defer cancel()
	n.endStreams()
	_ = n.http.Shutdown(shutdownCtx)
	// Last, so that the leave and its events are kept.
	n.history.stop()
	n.log.Info("node stopped")
	return err
}

// leave publishes a leaving heartbeat on every network, gives it a moment
// to reach peers, and stops every network.
func (n *Node) leave() {
	n.mu.Lock()
	nets := make([]*netRuntime, 0, len(n.nets))
	for _, r := range n.nets {
		nets = append(nets, r)
	}
	n.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range nets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.stop(true, n.opts.LeaveGrace)
		}()
	}
	wg.Wait()
}

// endStreams ends every open event stream (they would hold Shutdown).
func (n *Node) endStreams() { n.httpDoneOnce.Do(func() { close(n.httpDone) }) }

// Kill stops the node abruptly, as a crash would: no leave message is sent and
// every connection closes at once. Run returns soon after.
func (n *Node) Kill() {
	n.abortOnce.Do(func() { close(n.abort) })
}

// Close releases the networks, host and listener. Run calls it; calling it
// again is harmless.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.mu.Lock()
		nets := n.nets
		n.nets = map[string]*netRuntime{}
		n.mu.Unlock()
		for _, r := range nets {
			r.stop(false, 0)
		}
		n.endStreams()
		_ = n.http.Close()
		_ = n.host.Close()
		n.history.stop()
	})
	return nil
}
