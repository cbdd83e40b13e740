package node

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/sync/errgroup"

	"github.com/meshmon/meshmon/configsync"
	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/p2p"
	"github.com/meshmon/meshmon/version"
	"github.com/meshmon/meshmon/web"
)

// Options configures New. Zero values take the documented defaults.
type Options struct {
	// ConfigDir holds nodeconf.yml, keys and networks/. Default "./config".
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
}

// Node is one running meshmon node.
type Node struct {
	opts   Options
	log    *slog.Logger
	key    ed25519.PrivateKey
	cfg    *configsync.Config
	host   *p2p.Host
	events *health.EventLog
	boot   uint64
	http   *http.Server
	ln     net.Listener

	nets []*netRuntime

	abort     chan struct{}
	abortOnce sync.Once
	closeOnce sync.Once
}

// netRuntime is one joined network.
type netRuntime struct {
	cfg    configsync.Network
	engine *health.Engine
	net    *p2p.Network
}

// New prepares a node: it loads or creates the key, scaffolds missing local
// networks, loads and validates the whole config, starts the libp2p host and
// binds the HTTP listener. Nothing is published until Run.
func New(opts Options) (*Node, error) {
	if opts.ConfigDir == "" {
		opts.ConfigDir = "./config"
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
	if opts.LeaveGrace <= 0 {
		opts.LeaveGrace = 300 * time.Millisecond
	}
	log := opts.Logger
	n := &Node{
		opts:   opts,
		log:    log,
		events: health.NewEventLog(1000, nil),
		boot:   uint64(time.Now().UnixMilli()),
		abort:  make(chan struct{}),
	}

	cfg, key, err := prepare(opts, log)
	if err != nil {
		return nil, err
	}
	n.cfg, n.key = cfg, key
	for _, nw := range cfg.Networks {
		for _, w := range nw.Warnings {
			n.events.Add(health.Event{Network: nw.Config.NetworkID, Kind: "config", Severity: health.SeverityWarning, Message: w})
			log.Warn("config needs attention", "network", nw.Config.NetworkID, "detail", w)
		}
		for id, kerr := range nw.KeyErrors {
			msg := fmt.Sprintf("member %s has no usable public key: %v", id, kerr)
			n.events.Add(health.Event{Network: nw.Config.NetworkID, Node: id, Kind: "key", Severity: health.SeverityWarning, Message: msg})
			log.Warn("member has no usable public key", "network", nw.Config.NetworkID, "node", id, "err", kerr)
		}
	}

	listen := cfg.Node.Listen.P2P
	if len(opts.P2PListen) > 0 {
		listen = opts.P2PListen
	}
	announce := cfg.Node.Listen.Announce
	if len(opts.P2PAnnounce) > 0 {
		announce = opts.P2PAnnounce
	}
	n.host, err = p2p.NewHost(p2p.HostConfig{Key: key, Listen: listen, Announce: announce, Logger: log, Gater: opts.Gater})
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
	n.http = &http.Server{
		Handler:           web.NewServer(n.webDeps()),
		ReadHeaderTimeout: 10 * time.Second,
	}
	return n, nil
}

// prepare does the file work of a start: key, scaffold, load.
func prepare(opts Options, log *slog.Logger) (*configsync.Config, ed25519.PrivateKey, error) {
	key, created, adopted, err := configsync.LoadOrCreateNodeKey(opts.ConfigDir)
	if err != nil {
		return nil, nil, err
	}
	keyPath := filepath.Join(opts.ConfigDir, configsync.NodeKeyPath)
	switch {
	case created:
		log.Info("created node key", "path", keyPath)
	case adopted != "":
		log.Info("adopted existing per-network key as the node key", "from", adopted, "path", keyPath)
	}
	pub := key.Public().(ed25519.PublicKey)
	ncPath := filepath.Join(opts.ConfigDir, opts.ConfigFile)
	data, err := os.ReadFile(ncPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%s: no node configuration: create it as the README shows (networks: - directory: D, node_id: N)", ncPath)
	}
	if err != nil {
		return nil, nil, err
	}
	nc, err := configsync.ParseNodeConf(data, opts.ConfigFile)
	if err != nil {
		return nil, nil, err
	}
	for _, ref := range nc.Networks {
		if ref.ConfigType == "git" {
			continue
		}
		written, err := configsync.ScaffoldNetwork(opts.ConfigDir, ref, pub)
		if err != nil {
			return nil, nil, err
		}
		for _, w := range written {
			log.Info("scaffolded network file", "network", ref.Directory, "path", w)
		}
		if len(written) > 0 {
			log.Info("next: edit the network config, set every url, and copy every member's pubkey into pubkeys/",
				"config", filepath.Join(opts.ConfigDir, "networks", ref.Directory, "config.yml"))
		}
	}
	cfg, err := configsync.Load(opts.ConfigDir, opts.ConfigFile)
	if err != nil {
		return nil, nil, err
	}
	for _, nw := range cfg.Networks {
		own, ok := nw.Pubkeys[nw.Ref.NodeID]
		if ok && !own.Equal(pub) {
			return nil, nil, fmt.Errorf("%s: pubkeys/%s.pub is not this node's key (%s): replace it with the output of `meshmon keys show`",
				nw.Path, nw.Ref.NodeID, keyPath)
		}
	}
	return cfg, key, nil
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
	v := &health.View{Networks: make(map[string]*health.NetworkView, len(n.nets))}
	for _, r := range n.nets {
		v.Networks[r.cfg.Config.NetworkID] = r.engine.View()
	}
	return v
}

func (n *Node) webDeps() web.Deps {
	return web.Deps{
		Version: n.opts.Version,
		P2P: func() p2p.P2PInfo {
			bw := n.host.Bandwidth()
			return p2p.P2PInfo{PeerID: n.host.ID().String(), Addrs: n.host.Addrs(), Bandwidth: &bw}
		},
		View:   n.View,
		Events: n.events,
	}
}

// members builds the engine's and the validator's member sets. This node is
// always a member with its own key.
func (n *Node) members(nw configsync.Network) ([]health.Member, *p2p.Members) {
	byNode := map[string]peer.ID{}
	out := make([]health.Member, 0, len(nw.Config.NodeConfig))
	for _, m := range nw.Config.NodeConfig {
		hm := health.Member{NodeID: m.NodeID, URL: m.URL}
		switch {
		case m.NodeID == nw.Ref.NodeID:
			hm.PeerID = n.host.ID()
		case nw.Pubkeys[m.NodeID] != nil:
			pid, err := p2p.PeerIDFromPublicKey(nw.Pubkeys[m.NodeID])
			if err != nil {
				hm.KeyError = err.Error()
			} else {
				hm.PeerID = pid
			}
		default:
			if kerr := nw.KeyErrors[m.NodeID]; kerr != nil {
				hm.KeyError = kerr.Error()
			} else {
				hm.KeyError = "no public key"
			}
		}
		if hm.PeerID != "" {
			byNode[m.NodeID] = hm.PeerID
		}
		out = append(out, hm)
	}
	return out, p2p.NewMembers(byNode)
}

func endpoints(nw configsync.Network) map[string]p2p.Endpoint {
	out := make(map[string]p2p.Endpoint, len(nw.Config.NodeConfig))
	for _, m := range nw.Config.NodeConfig {
		url := m.URL
		if m.HasPlaceholderURL() {
			url = ""
		}
		out[m.NodeID] = p2p.Endpoint{URL: url, Addrs: m.Addrs}
	}
	return out
}

// Run joins every network and serves HTTP until ctx ends, then leaves
// gracefully (peers see this node as left) and releases everything.
func (n *Node) Run(ctx context.Context) error {
	defer n.Close()
	runCtx, cancelEngines := context.WithCancel(context.Background())
	defer cancelEngines()
	g, gctx := errgroup.WithContext(runCtx)
	for _, nw := range n.cfg.Networks {
		members, set := n.members(nw)
		e := health.NewEngine(health.EngineConfig{
			NetworkID:    nw.Config.NetworkID,
			Self:         nw.Ref.NodeID,
			Members:      members,
			Heartbeat:    time.Duration(nw.Config.Timing.Heartbeat),
			SuspectAfter: time.Duration(nw.Config.Timing.SuspectAfter),
			Version:      n.opts.Version,
			BootID:       n.boot,
			Logger:       n.log,
			Events:       n.events,
		}, nil)
		pn, err := n.host.Join(p2p.NetworkConfig{
			ID:        nw.Config.NetworkID,
			Self:      nw.Ref.NodeID,
			Members:   set,
			Endpoints: endpoints(nw),
			Handler:   e,
			Logger:    n.log,
		})
		if err != nil {
			return err
		}
		e.SetPublisher(pn)
		r := &netRuntime{cfg: nw, engine: e, net: pn}
		n.nets = append(n.nets, r)
		g.Go(func() error { return e.Run(gctx) })
		n.log.Info("joined network", "network", nw.Config.NetworkID, "node", nw.Ref.NodeID, "members", len(members))
	}
	g.Go(func() error {
		err := n.http.Serve(n.ln)
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("http: %w", err)
	})
	n.log.Info("node running", "peer_id", n.host.ID().String(), "http", n.ln.Addr().String(), "p2p", n.host.Addrs())

	select {
	case <-ctx.Done():
	case <-gctx.Done():
	case <-n.abort:
	}
	select {
	case <-n.abort:
		// Killed: no leave message, connections drop as in a crash.
		n.Close()
	default:
		n.leave()
	}
	cancelEngines()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = n.http.Shutdown(shutdownCtx)
	err := g.Wait()
	n.log.Info("node stopped")
	return err
}

// leave publishes a leaving heartbeat on every network and gives it a moment
// to reach peers before connections close.
func (n *Node) leave() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, r := range n.nets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.engine.Leave(ctx); err != nil {
				n.log.Debug("leave not published", "network", r.cfg.Config.NetworkID, "err", err)
			}
		}()
	}
	wg.Wait()
	t := time.NewTimer(n.opts.LeaveGrace)
	defer t.Stop()
	<-t.C
}

// Kill stops the node abruptly, as a crash would: no leave message is sent and
// every connection closes at once. Run returns soon after.
func (n *Node) Kill() {
	n.abortOnce.Do(func() { close(n.abort) })
}

// Close releases the host and listener. Run calls it; calling it again is harmless.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		for _, r := range n.nets {
			r.net.Close()
		}
		_ = n.http.Close()
		_ = n.host.Close()
	})
	return nil
}
