//go:build linux

package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/meshmon/meshmon/internal/netlab"
)

// nsPrefix starts the name of every namespace wirebench creates; the pid of
// the harness follows, so a leftover of a killed run is recognisable.
const nsPrefix = "mmbench"

// maxNodes is how many nodes one lab can number (10.77.0.10 … 10.77.0.249).
const maxNodes = 240

// command runs an ip/iptables command (netlab.Command: bounded by
// netlab.CmdTimeout; the error carries the command line and the output).
func command(ctx context.Context, name string, args ...string) (string, error) {
	return netlab.Command(ctx, name, args...)
}

// removeLeftovers deletes the namespaces of earlier runs whose harness is
// gone (a run killed with SIGKILL never runs its cleanups).
func removeLeftovers(ctx context.Context, logf func(string, ...any)) {
	netlab.RemoveLeftovers(ctx, nsPrefix, logf)
}

// lab is the network of one measurement: a hub namespace holding a bridge,
// and one namespace per node with a veth to the bridge and one address in
// 10.77.0.0/24. Nothing of it is in the root namespace, and no namespace
// has a route out, so deleting the namespaces undoes everything.
type lab struct {
	ns  *netlab.Lab
	hub string
}

// newLab creates the hub namespace mmbench<pid>-<name>-hub with its bridge.
func newLab(ctx context.Context, name string) (*lab, error) {
	l := &lab{ns: netlab.New(nsPrefix, name)}
	hub, err := l.ns.NewNS(ctx, "hub", false)
	if err != nil {
		return l, err
	}
	l.hub = hub
	for _, args := range [][]string{
		{"-n", hub, "link", "add", "br0", "type", "bridge"},
		{"-n", hub, "link", "set", "br0", "up"},
	} {
		if _, err := command(ctx, "ip", args...); err != nil {
			return l, err
		}
	}
	return l, nil
}

// nodeIP is the address of node i.
func nodeIP(i int) string { return fmt.Sprintf("10.77.0.%d", 10+i) }

// addNode creates node i's namespace, its eth0 on the bridge (the veth is
// created directly in the two namespaces, never in the root one) and its
// address, and returns the namespace.
func (l *lab) addNode(ctx context.Context, i int) (string, error) {
	if i < 0 || i >= maxNodes {
		return "", fmt.Errorf("node %d: a lab numbers at most %d nodes", i, maxNodes)
	}
	ns, err := l.ns.NewNS(ctx, fmt.Sprintf("n%03d", i), false)
	if err != nil {
		return "", err
	}
	port := fmt.Sprintf("p%d", i)
	for _, args := range [][]string{
		{"link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port, "netns", l.hub},
		{"-n", l.hub, "link", "set", port, "master", "br0"},
		{"-n", l.hub, "link", "set", port, "up"},
		{"-n", ns, "link", "set", "eth0", "up"},
		{"-n", ns, "addr", "add", nodeIP(i) + "/24", "dev", "eth0"},
	} {
		if _, err := command(ctx, "ip", args...); err != nil {
			return "", err
		}
	}
	return ns, nil
}

// close deletes every namespace of the lab, last created first, within a
// bounded time whatever ctx says (it runs after ctx may have been
// cancelled).
func (l *lab) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return l.ns.Close(ctx)
}

// dialIn opens a connection from inside the namespace ns (netlab.DialIn):
// the harness never gets an address or a route anywhere.
func dialIn(ctx context.Context, ns, network, addr string) (net.Conn, error) {
	return netlab.DialIn(ctx, netlab.Path(ns), network, addr)
}
