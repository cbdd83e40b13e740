//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"time"
)

// serfPort is Serf's default gossip port (UDP probes and gossip, TCP
// push-pull), the same for every node.
const serfPort = 7946

// serfSystem runs `serf agent` processes with the default (lan) profile.
type serfSystem struct {
	bin string
}

func (s *serfSystem) Name() string { return "Serf" }

func (s *serfSystem) Version(ctx context.Context) string {
	return "serf " + versionOf(ctx, s.bin, "version")
}

func (s *serfSystem) Ports() []portRule {
	return []portRule{
		{Label: fmt.Sprintf("serf udp/%d", serfPort), Proto: "udp", Port: serfPort},
		{Label: fmt.Sprintf("serf tcp/%d", serfPort), Proto: "tcp", Port: serfPort},
	}
}

// Setup has nothing to write: Serf is configured by flags.
func (s *serfSystem) Setup(context.Context, string, []*member) error { return nil }

// Command joins every agent to node 0 (node 0 to node 1), retrying every
// second until it succeeds: the agents start together, so the first try may
// find the seed not yet listening. Serf's own default retry interval is
// 30 s; that is join plumbing, not the protocol's timing, which stays the
// default lan profile.
func (s *serfSystem) Command(m *member) ([]string, []string) {
	seed := nodeIP(0)
	if m.Index == 0 {
		seed = nodeIP(1)
	}
	return []string{s.bin, "agent",
		"-node=" + m.Name,
		fmt.Sprintf("-bind=%s:%d", m.IP, serfPort),
		"-rpc-addr=127.0.0.1:7373",
		"-log-level=warn",
		fmt.Sprintf("-retry-join=%s:%d", seed, serfPort),
		"-retry-interval=1s",
	}, nil
}

// serfMembers is the output of `serf members -format=json`.
type serfMembers struct {
	Members []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	} `json:"members"`
}

// Statuses runs `serf members` inside m's namespace against its agent's
// RPC address on loopback.
func (s *serfSystem) Statuses(ctx context.Context, m *member) (map[string]observed, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", m.NS, s.bin, "members",
		"-rpc-addr=127.0.0.1:7373", "-format=json").Output()
	if err != nil {
		return nil, fmt.Errorf("%s: serf members: %w", m.Name, err)
	}
	var v serfMembers
	if err := json.Unmarshal(out, &v); err != nil {
		return nil, fmt.Errorf("%s: serf members: %w", m.Name, err)
	}
	res := map[string]observed{}
	for _, x := range v.Members {
		o := observed{State: stateOther, Raw: x.Status}
		switch x.Status {
		case "alive":
			o.State = stateUp
		case "failed":
			o.State = stateDown
		}
		res[x.Name] = o
	}
	return res, nil
}
