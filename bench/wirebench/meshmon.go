//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// meshmonNetwork is the network_id of the measured network.
const meshmonNetwork = "bench"

// Ports of a meshmon node; every node has its own namespace, so all share
// them.
const (
	meshmonHTTPPort = 8000
	meshmonP2PPort  = 4001
	// pprofAddr is where the profiled node serves pprof, on its own
	// namespace's loopback.
	pprofAddr = "127.0.0.1:6060"
)

// meshmonSystem runs `meshmon run` processes of one binary with the
// default timing.
type meshmonSystem struct {
	bin      string
	logLevel string
	// quic: listen on QUIC as well as TCP (the default transports).
	quic bool
	// pprofNode is the index of the member that serves pprof, or -1.
	pprofNode int
}

func (s *meshmonSystem) Name() string { return "meshmon" }

func (s *meshmonSystem) Version(ctx context.Context) string { return versionOf(ctx, s.bin, "version") }

func (s *meshmonSystem) Ports() []portRule {
	return []portRule{
		{Label: fmt.Sprintf("libp2p tcp/%d", meshmonP2PPort), Proto: "tcp", Port: meshmonP2PPort},
		{Label: fmt.Sprintf("libp2p quic udp/%d", meshmonP2PPort), Proto: "udp", Port: meshmonP2PPort},
		{Label: fmt.Sprintf("http tcp/%d", meshmonHTTPPort), Proto: "tcp", Port: meshmonHTTPPort},
	}
}

// env is the environment of every meshmon command: keep root (the harness
// runs as root and its temp dirs are root's).
func (s *meshmonSystem) env() []string {
	return []string{"MESHMON_RUN_AS_ROOT=1", "LOG_LEVEL=" + s.logLevel}
}

// Setup runs `meshmon init` for every member (nodeconf.yml, node key, own
// pubkey), then writes one network config.yml listing every member with
// its URL, and every member's pubkey, into each config dir: what a real
// operator does with the files the project documents.
func (s *meshmonSystem) Setup(ctx context.Context, _ string, members []*member) error {
	pubs := map[string][]byte{}
	for _, m := range members {
		cmd := exec.CommandContext(ctx, s.bin, "init", "--config-dir", m.Dir, "--node-id", m.Name, "--network", meshmonNetwork)
		cmd.Env = append(os.Environ(), s.env()...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("meshmon init %s: %w\n%s", m.Name, err, out)
		}
		pub, err := os.ReadFile(filepath.Join(m.Dir, "networks", meshmonNetwork, "pubkeys", m.Name+".pub"))
		if err != nil {
			return fmt.Errorf("meshmon init %s wrote no pubkey: %w", m.Name, err)
		}
		pubs[m.Name] = pub
	}
	var conf bytes.Buffer
	fmt.Fprintf(&conf, "network_id: %s\nnode_config:\n", meshmonNetwork)
	for _, m := range members {
		fmt.Fprintf(&conf, "  - node_id: %s\n    url: http://%s:%d\n", m.Name, m.IP, meshmonHTTPPort)
	}
	for _, m := range members {
		netDir := filepath.Join(m.Dir, "networks", meshmonNetwork)
		if err := os.WriteFile(filepath.Join(netDir, "config.yml"), conf.Bytes(), 0o644); err != nil {
			return err
		}
		for name, pub := range pubs {
			if err := os.WriteFile(filepath.Join(netDir, "pubkeys", name+".pub"), pub, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// Command listens on IPv4 only (TCP and, by default, QUIC: the default
// transports): the namespaces have no IPv6 address but ::1.
func (s *meshmonSystem) Command(m *member) ([]string, []string) {
	argv := []string{s.bin, "run",
		"--config-dir", m.Dir,
		"--http-listen", fmt.Sprintf(":%d", meshmonHTTPPort),
		"--p2p-listen", fmt.Sprintf("/ip4/0.0.0.0/tcp/%d", meshmonP2PPort),
	}
	if s.quic {
		argv = append(argv, "--p2p-listen", fmt.Sprintf("/ip4/0.0.0.0/udp/%d/quic-v1", meshmonP2PPort))
	}
	env := s.env()
	if m.Index == s.pprofNode {
		env = append(env, "MESHMON_PPROF_LISTEN="+pprofAddr)
	}
	return argv, env
}

// apiView is the part of GET /api/view the harness reads (web/openapi.yaml),
// decoded on its own so that it depends on the JSON contract only.
type apiView struct {
	Networks map[string]struct {
		Nodes map[string]struct {
			Status string `json:"status"`
		} `json:"nodes"`
	} `json:"networks"`
}

// nsClient is an HTTP client whose connections are opened inside ns.
func nsClient(ns string, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialIn(ctx, ns, network, addr)
		},
	}}
}

// Statuses reads m's /api/view on its namespace's loopback.
func (s *meshmonSystem) Statuses(ctx context.Context, m *member) (map[string]observed, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/api/view", meshmonHTTPPort), nil)
	if err != nil {
		return nil, err
	}
	resp, err := nsClient(m.NS, 5*time.Second).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: GET /api/view: %s", m.Name, resp.Status)
	}
	var v apiView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return nil, fmt.Errorf("%s: /api/view: %w", m.Name, err)
	}
	out := map[string]observed{}
	for name, n := range v.Networks[meshmonNetwork].Nodes {
		o := observed{State: stateOther, Raw: n.Status}
		switch n.Status {
		case "online":
			o.State = stateUp
		case "offline":
			o.State = stateDown
		}
		out[name] = o
	}
	return out, nil
}

// apiP2P is the part of GET /api/p2p the harness reads: libp2p's own
// counters of what the node sent, before encryption, multiplexing and
// TCP/IP (the Bandwidth schema of web/openapi.yaml).
type apiP2P struct {
	Bandwidth *struct {
		TotalOut  int64 `json:"total_out_bytes"`
		GossipOut int64 `json:"gossip_out_bytes"`
	} `json:"bandwidth"`
}

// Payload labels of meshmon.
const (
	payloadGossip = "gossipsub"
	payloadOther  = "other libp2p protocols"
)

func (s *meshmonSystem) PayloadLabels() []string { return []string{payloadGossip, payloadOther} }

// Payload reads m's /api/p2p byte counters: what libp2p sent so far, by
// protocol. A binary whose API lacks them gives an error, and the harness
// leaves the payload lines out.
func (s *meshmonSystem) Payload(ctx context.Context, m *member) (map[string]int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/api/p2p", meshmonHTTPPort), nil)
	if err != nil {
		return nil, err
	}
	resp, err := nsClient(m.NS, 5*time.Second).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: GET /api/p2p: %s", m.Name, resp.Status)
	}
	var v apiP2P
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return nil, fmt.Errorf("%s: /api/p2p: %w", m.Name, err)
	}
	if v.Bandwidth == nil {
		return nil, fmt.Errorf("%s: /api/p2p has no bandwidth", m.Name)
	}
	return map[string]int64{
		payloadGossip: v.Bandwidth.GossipOut,
		payloadOther:  v.Bandwidth.TotalOut - v.Bandwidth.GossipOut,
	}, nil
}
