//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// nsPrefix starts the name of every namespace wirebench creates; the pid of
// the harness follows, so a leftover of a killed run is recognisable.
const nsPrefix = "mmbench"

var leftoverRE = regexp.MustCompile(`^` + nsPrefix + `([0-9]+)-`)

// maxNodes is how many nodes one lab can number (10.77.0.10 … 10.77.0.249).
const maxNodes = 240

// cmdTimeout bounds every ip/iptables command.
const cmdTimeout = 30 * time.Second

// command runs name with args and returns its trimmed combined output; the
// error carries the command line and the output.
func command(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	s := strings.TrimSpace(string(out))
	if err != nil {
		return s, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, s)
	}
	return s, nil
}

// removeLeftovers deletes the namespaces of earlier runs whose harness is
// gone (a run killed with SIGKILL never runs its cleanups).
func removeLeftovers(ctx context.Context, logf func(string, ...any)) {
	out, err := command(ctx, "ip", "netns", "list")
	if err != nil {
		return
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		m := leftoverRE.FindStringSubmatch(f[0])
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() || syscall.Kill(pid, 0) == nil {
			continue // this run's, or a run still going
		}
		if _, err := command(ctx, "ip", "netns", "delete", f[0]); err == nil {
			logf("deleted namespace %s left by an earlier run (pid %d)", f[0], pid)
		}
	}
}

// lab is the network of one measurement: a hub namespace holding a bridge,
// and one namespace per node with a veth to the bridge and one address in
// 10.77.0.0/24. Nothing of it is in the root namespace, and no namespace
// has a route out, so deleting the namespaces undoes everything.
type lab struct {
	prefix string
	hub    string
	nss    []string // created, in order
}

// newLab creates the hub namespace mmbench<pid>-<name>-hub with its bridge.
func newLab(ctx context.Context, name string) (*lab, error) {
	l := &lab{prefix: fmt.Sprintf("%s%d-%s-", nsPrefix, os.Getpid(), name)}
	hub, err := l.newNS(ctx, "hub")
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

// newNS creates namespace <prefix><name> with its loopback up.
func (l *lab) newNS(ctx context.Context, name string) (string, error) {
	ns := l.prefix + name
	if _, err := command(ctx, "ip", "netns", "add", ns); err != nil {
		return "", err
	}
	l.nss = append(l.nss, ns)
	if _, err := command(ctx, "ip", "-n", ns, "link", "set", "lo", "up"); err != nil {
		return "", err
	}
	return ns, nil
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
	ns, err := l.newNS(ctx, fmt.Sprintf("n%03d", i))
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
	var errs []error
	for i := len(l.nss) - 1; i >= 0; i-- {
		if _, err := command(ctx, "ip", "netns", "delete", l.nss[i]); err != nil {
			errs = append(errs, err)
		}
	}
	l.nss = nil
	return errors.Join(errs...)
}

// dialIn opens a connection from inside the namespace ns: the socket is
// created on a thread switched into it with setns(2), so it belongs there
// for its whole life, and the thread is switched back before it runs
// anything else. The harness never gets an address or a route anywhere.
func dialIn(ctx context.Context, ns, network, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		c, restored, err := dialLocked(ctx, "/run/netns/"+ns, network, addr)
		if restored {
			runtime.UnlockOSThread()
		} // else: the goroutine ends locked, so Go discards the thread
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// dialLocked does dialIn's work on the locked thread; restored tells
// whether the thread is back in its own namespace.
func dialLocked(ctx context.Context, nsPath, network, addr string) (net.Conn, bool, error) {
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, true, err
	}
	defer self.Close()
	target, err := os.Open(nsPath)
	if err != nil {
		return nil, true, err
	}
	defer target.Close()
	if err := setns(target); err != nil {
		return nil, true, fmt.Errorf("setns %s: %w", nsPath, err)
	}
	var d net.Dialer
	c, dialErr := d.DialContext(ctx, network, addr)
	if err := setns(self); err != nil {
		if c != nil {
			c.Close()
		}
		return nil, false, fmt.Errorf("setns back from %s: %w", nsPath, err)
	}
	return c, true, dialErr
}

func setns(f *os.File) error {
	if _, _, errno := syscall.RawSyscall(sysSetns, f.Fd(), syscall.CLONE_NEWNET, 0); errno != 0 {
		return errno
	}
	return nil
}
