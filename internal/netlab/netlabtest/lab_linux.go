//go:build linux

package netlabtest

import (
	"context"
	"testing"

	"github.com/meshmon/meshmon/internal/netlab"
)

// Lab is a netlab.Lab bound to a test.
type Lab struct {
	t   testing.TB
	lab *netlab.Lab
}

// New returns a lab whose namespaces are named <prefix><pid>-<name>-…
// (netlab.New). They are deleted when the test ends; the cleanup is
// registered first, so it runs after those of the processes the test
// starts inside them. A failure to delete one fails the test.
func New(t testing.TB, prefix, name string) *Lab {
	l := &Lab{t: t, lab: netlab.New(prefix, name)}
	t.Cleanup(func() {
		if err := l.lab.Close(context.Background()); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	return l
}

// T is the lab's test.
func (l *Lab) T() testing.TB { return l.t }

// Must runs a command and fails the test if it fails.
func (l *Lab) Must(name string, args ...string) string {
	l.t.Helper()
	out, err := netlab.Command(context.Background(), name, args...)
	if err != nil {
		l.t.Fatal(err)
	}
	return out
}

// In runs a command inside namespace ns.
func (l *Lab) In(ns string, args ...string) string {
	l.t.Helper()
	out, err := l.lab.In(context.Background(), ns, args...)
	if err != nil {
		l.t.Fatal(err)
	}
	return out
}

// Sysctl writes a value under /proc/sys inside ns.
func (l *Lab) Sysctl(ns, key, value string) {
	l.t.Helper()
	l.check(l.lab.Sysctl(context.Background(), ns, key, value))
}

// NewNS creates namespace <prefix><name> with its loopback up (with v6, no
// duplicate address detection) and returns its name.
func (l *Lab) NewNS(name string, v6 bool) string {
	l.t.Helper()
	ns, err := l.lab.NewNS(context.Background(), name, v6)
	l.check(err)
	return ns
}

// Veth creates a veth pair with one end in each namespace, both up.
func (l *Lab) Veth(ns1, if1, ns2, if2 string) {
	l.t.Helper()
	l.check(l.lab.Veth(context.Background(), ns1, if1, ns2, if2))
}

// Addr gives interface dev in ns the address ip/bits.
func (l *Lab) Addr(ns, dev, ip string, bits int) {
	l.t.Helper()
	l.check(l.lab.Addr(context.Background(), ns, dev, ip, bits))
}

func (l *Lab) check(err error) {
	l.t.Helper()
	if err != nil {
		l.t.Fatal(err)
	}
}
