//go:build linux

package netlab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Leftover reports whether name (a namespace, or anything else named as
// New names namespaces) was made with prefix by a process that is gone,
// and gives that process's pid. This process's own names and those of a
// run still going are not leftovers.
func Leftover(prefix, name string) (pid int, ok bool) {
	rest, found := strings.CutPrefix(name, prefix)
	if !found {
		return 0, false
	}
	digits, _, found := strings.Cut(rest, "-")
	if !found || digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	pid, err := strconv.Atoi(digits)
	if err != nil || pid == os.Getpid() || syscall.Kill(pid, 0) == nil {
		return 0, false
	}
	return pid, true
}

// RemoveLeftovers deletes the namespaces named by prefix (see New) of
// earlier runs whose process is gone (a run killed by a timeout or SIGKILL
// never runs its cleanups), and calls logf for each one deleted.
func RemoveLeftovers(ctx context.Context, prefix string, logf func(format string, args ...any)) {
	out, err := Command(ctx, "ip", "netns", "list")
	if err != nil {
		return
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		pid, ok := Leftover(prefix, f[0])
		if !ok {
			continue
		}
		if _, err := Command(ctx, "ip", "netns", "delete", f[0]); err == nil {
			logf("deleted namespace %s left by an earlier run (pid %d)", f[0], pid)
		}
	}
}

// Lab owns the network namespaces of one test or measurement. Everything
// built with it (veths, bridges, addresses, routes, iptables rules,
// sysctls) is inside them, so Close undoes all of it. It is safe for
// concurrent use.
type Lab struct {
	prefix string

	// mu protects the following fields.
	mu  sync.Mutex
	nss []string // created, in order
}

// New returns a lab whose namespaces are named <prefix><pid>-<name>-…,
// so that two runs never share a name and RemoveLeftovers(prefix) finds
// what a killed run left.
func New(prefix, name string) *Lab {
	return &Lab{prefix: fmt.Sprintf("%s%d-%s-", prefix, os.Getpid(), name)}
}

// NewNS creates namespace <lab prefix><name> with its loopback up and
// returns its name. With v6, duplicate address detection is off in it, so
// an IPv6 address is usable at once.
func (l *Lab) NewNS(ctx context.Context, name string, v6 bool) (string, error) {
	ns := l.prefix + name
	if _, err := Command(ctx, "ip", "netns", "add", ns); err != nil {
		return "", err
	}
	l.mu.Lock()
	l.nss = append(l.nss, ns)
	l.mu.Unlock()
	if _, err := Command(ctx, "ip", "-n", ns, "link", "set", "lo", "up"); err != nil {
		return "", err
	}
	if v6 {
		for _, key := range []string{"net.ipv6.conf.default.accept_dad", "net.ipv6.conf.all.accept_dad"} {
			if err := l.Sysctl(ctx, ns, key, "0"); err != nil {
				return "", err
			}
		}
	}
	return ns, nil
}

// In runs a command inside namespace ns.
func (l *Lab) In(ctx context.Context, ns string, args ...string) (string, error) {
	return Command(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...)
}

// Sysctl writes a value under /proc/sys inside ns (/proc/sys/net is per
// namespace); with plain sh, so that procps is not needed.
func (l *Lab) Sysctl(ctx context.Context, ns, key, value string) error {
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	_, err := l.In(ctx, ns, "sh", "-c", fmt.Sprintf("echo %s > %s", value, path))
	return err
}

// Veth creates a veth pair with one end in each namespace, both up; it is
// never in the root namespace, not even for a moment.
func (l *Lab) Veth(ctx context.Context, ns1, if1, ns2, if2 string) error {
	for _, args := range [][]string{
		{"link", "add", if1, "netns", ns1, "type", "veth", "peer", "name", if2, "netns", ns2},
		{"-n", ns1, "link", "set", if1, "up"},
		{"-n", ns2, "link", "set", if2, "up"},
	} {
		if _, err := Command(ctx, "ip", args...); err != nil {
			return err
		}
	}
	return nil
}

// Addr gives interface dev in ns the address ip/bits (an IPv6 address
// without duplicate address detection).
func (l *Lab) Addr(ctx context.Context, ns, dev, ip string, bits int) error {
	args := []string{"-n", ns, "addr", "add", fmt.Sprintf("%s/%d", ip, bits), "dev", dev}
	if strings.Contains(ip, ":") {
		args = append(args, "nodad")
	}
	_, err := Command(ctx, "ip", args...)
	return err
}

// Close deletes every namespace of the lab, last created first, and
// returns every failure. Stop the processes inside first.
func (l *Lab) Close(ctx context.Context) error {
	l.mu.Lock()
	nss := l.nss
	l.nss = nil
	l.mu.Unlock()
	var errs []error
	for i := len(nss) - 1; i >= 0; i-- {
		if _, err := Command(ctx, "ip", "netns", "delete", nss[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
