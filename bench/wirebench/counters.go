//go:build linux

package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// portRule names the outgoing traffic of one protocol and port: packets
// sent from or to that port (multiport --ports matches either side, so it
// counts both a node's own listener and its outbound connections).
type portRule struct {
	Label string // shown in the breakdown, e.g. "libp2p tcp/4001"
	Proto string // tcp or udp
	Port  int
}

// totalLabel is the rule that counts every IP packet sent on eth0.
const totalLabel = "total"

// commentPrefix marks wirebench's rules; the label follows.
const commentPrefix = "mmbench:"

// counts is one reading of a namespace's counters by label.
type counts map[string]counter

// counter is what one rule has counted since it was added.
type counter struct {
	Packets int64
	Bytes   int64 // IP bytes: headers included, link layer excluded
}

// installCounters appends counting rules (no target: they count and fall
// through) to the OUTPUT chain of ns: one for all of eth0, one per rule.
// Traffic on lo (the harness's own API polls) is not counted.
func installCounters(ctx context.Context, ns string, rules []portRule) error {
	add := func(label string, match ...string) error {
		args := append([]string{"netns", "exec", ns, "iptables", "-w", "-A", "OUTPUT", "-o", "eth0"}, match...)
		args = append(args, "-m", "comment", "--comment", commentPrefix+label)
		_, err := command(ctx, "ip", args...)
		return err
	}
	if err := add(totalLabel); err != nil {
		return err
	}
	for _, r := range rules {
		if err := add(r.Label, "-p", r.Proto, "-m", "multiport", "--ports", strconv.Itoa(r.Port)); err != nil {
			return err
		}
	}
	return nil
}

// readCounters reads the counting rules of ns.
func readCounters(ctx context.Context, ns string) (counts, error) {
	out, err := command(ctx, "ip", "netns", "exec", ns, "iptables", "-w", "-L", "OUTPUT", "-v", "-x", "-n")
	if err != nil {
		return nil, err
	}
	c, err := parseCounters(out)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ns, err)
	}
	return c, nil
}

// parseCounters reads the output of `iptables -L OUTPUT -v -x -n`: the
// packet and byte counts of every rule whose comment starts with
// commentPrefix, by label.
func parseCounters(out string) (counts, error) {
	c := counts{}
	for _, line := range strings.Split(out, "\n") {
		i := strings.Index(line, "/* "+commentPrefix)
		if i < 0 {
			continue
		}
		rest := line[i+len("/* "+commentPrefix):]
		j := strings.Index(rest, " */")
		if j < 0 {
			return nil, fmt.Errorf("unterminated comment in %q", line)
		}
		label := rest[:j]
		f := strings.Fields(line)
		if len(f) < 2 {
			return nil, fmt.Errorf("no counters in %q", line)
		}
		p, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("packets in %q: %w", line, err)
		}
		b, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bytes in %q: %w", line, err)
		}
		c[label] = counter{Packets: p, Bytes: b}
	}
	if _, ok := c[totalLabel]; !ok {
		return nil, fmt.Errorf("no %s%s rule in:\n%s", commentPrefix, totalLabel, out)
	}
	return c, nil
}
