//go:build linux

package chaos

// Network namespaces for the link scenarios. The lab is e2e/nat's (same
// naming, same teardown, same leftover cleanup) with its own prefix, plus
// two things the user-space switch needs: running any code on a thread
// inside a namespace (inNS), and turning off a veth's offloads (so that
// frames are at most one MTU and carry their checksums).

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// nsPrefix starts the name of every namespace these tests create; the pid
// of the test process follows, so two runs never share a name and a
// leftover of a killed run is recognisable (see removeLeftovers).
const nsPrefix = "mmchaos"

var leftoverRE = regexp.MustCompile(`^` + nsPrefix + `([0-9]+)-`)

// command runs name with args and returns its trimmed combined output; the
// error carries the command line and the output.
func command(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	s := strings.TrimSpace(string(out))
	if err != nil {
		return s, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, s)
	}
	return s, nil
}

// removeLeftovers deletes the namespaces of earlier runs whose test
// process is gone (a run killed by -timeout never runs its cleanups).
func removeLeftovers() {
	out, err := command("ip", "netns", "list")
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
		if _, err := command("ip", "netns", "delete", f[0]); err == nil {
			fmt.Fprintf(os.Stderr, "chaos e2e: deleted namespace %s left by an earlier run (pid %d)\n", f[0], pid)
		}
	}
}

// lab owns the network namespaces of one test. Everything the test builds
// (veths, addresses, routes) is inside them, so deleting them undoes all
// of it.
type lab struct {
	t      testing.TB
	prefix string

	// mu protects the following fields.
	mu  sync.Mutex
	nss []string // created, in order
}

// newLab returns a lab whose namespaces are named mmchaos<pid>-<name>-…;
// they are deleted when the test ends (registered first, so this cleanup
// runs after those of the processes and switch inside them).
func newLab(t testing.TB, name string) *lab {
	l := &lab{t: t, prefix: fmt.Sprintf("%s%d-%s-", nsPrefix, os.Getpid(), name)}
	t.Cleanup(l.teardown)
	return l
}

// must runs a command and fails the test if it fails.
func (l *lab) must(name string, args ...string) string {
	l.t.Helper()
	out, err := command(name, args...)
	if err != nil {
		l.t.Fatal(err)
	}
	return out
}

// newNS creates namespace <prefix><name> with its loopback up.
func (l *lab) newNS(name string) string {
	l.t.Helper()
	ns := l.prefix + name
	l.must("ip", "netns", "add", ns)
	l.mu.Lock()
	l.nss = append(l.nss, ns)
	l.mu.Unlock()
	l.must("ip", "-n", ns, "link", "set", "lo", "up")
	return ns
}

// veth creates a veth pair with one end in each namespace; it is never in
// the root namespace, not even for a moment.
func (l *lab) veth(ns1, if1, ns2, if2 string) {
	l.t.Helper()
	l.must("ip", "link", "add", if1, "netns", ns1, "type", "veth", "peer", "name", if2, "netns", ns2)
	l.must("ip", "-n", ns1, "link", "set", if1, "up")
	l.must("ip", "-n", ns2, "link", "set", if2, "up")
}

// addr gives interface dev in ns the address ip/bits.
func (l *lab) addr(ns, dev, ip string, bits int) {
	l.t.Helper()
	l.must("ip", "-n", ns, "addr", "add", fmt.Sprintf("%s/%d", ip, bits), "dev", dev)
}

// teardown deletes every namespace of the lab, last created first.
func (l *lab) teardown() {
	l.mu.Lock()
	nss := l.nss
	l.nss = nil
	l.mu.Unlock()
	for i := len(nss) - 1; i >= 0; i-- {
		if _, err := command("ip", "netns", "delete", nss[i]); err != nil {
			l.t.Errorf("teardown: %v", err)
		}
	}
}

// nsPath is the file that names namespace ns, for setns(2).
func nsPath(ns string) string { return "/run/netns/" + ns }

// inNS runs fn on an OS thread switched into the namespace at path with
// setns(2). Sockets fn creates belong to that namespace for their whole
// life. The thread is switched back before it runs anything else; if that
// fails, the goroutine ends locked and Go discards the thread.
func inNS(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		restored, err := inNSLocked(path, fn)
		if restored {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

func inNSLocked(path string, fn func() error) (restored bool, err error) {
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return true, err
	}
	defer self.Close()
	target, err := os.Open(path)
	if err != nil {
		return true, err
	}
	defer target.Close()
	if err := setns(target); err != nil {
		return true, fmt.Errorf("setns %s: %w", path, err)
	}
	fnErr := fn()
	if err := setns(self); err != nil {
		return false, fmt.Errorf("setns back from %s: %w", path, err)
	}
	return true, fnErr
}

func setns(f *os.File) error {
	if _, _, errno := syscall.RawSyscall(sysSetns, f.Fd(), syscall.CLONE_NEWNET, 0); errno != 0 {
		return errno
	}
	return nil
}

// dialIn opens a connection from inside the namespace at path.
func dialIn(ctx context.Context, path, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := inNS(path, func() error {
		var d net.Dialer
		var err error
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	if err != nil && c != nil {
		c.Close()
		c = nil
	}
	return c, err
}

// listenIn opens a listener inside the namespace at path.
func listenIn(path, network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := inNS(path, func() error {
		var err error
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

// The ethtool requests that turn an offload off (linux/ethtool.h).
const (
	siocEthtool    = 0x8946
	ethtoolSTXCSUM = 0x17 // TX checksum offload
	ethtoolSSG     = 0x19 // scatter-gather (TSO needs it)
	ethtoolSTSO    = 0x1f // TCP segmentation offload
	ethtoolSGSO    = 0x24 // generic segmentation offload
	ethtoolSGRO    = 0x2c // generic receive offload
)

// ethtoolValue is struct ethtool_value.
type ethtoolValue struct {
	cmd, data uint32
}

// ifreqData is struct ifreq with its ifr_data member.
type ifreqData struct {
	name [16]byte
	data unsafe.Pointer
	_    [16]byte
}

// disableOffloads turns off checksum offload, scatter-gather and the
// segmentation and receive offloads of dev in the namespace at path (what
// `ethtool -K dev tx off sg off tso off gso off gro off` does; ethtool is
// not needed). A veth's sender otherwise hands its peer 64 KB TCP
// segments without checksums, which the switch could neither send on as
// frames nor deliver intact.
func disableOffloads(path, dev string) error {
	return inNS(path, func() error {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("socket: %w", err)
		}
		defer syscall.Close(fd)
		for _, cmd := range []uint32{ethtoolSTSO, ethtoolSGSO, ethtoolSGRO, ethtoolSSG, ethtoolSTXCSUM} {
			v := ethtoolValue{cmd: cmd}
			var ifr ifreqData
			copy(ifr.name[:len(ifr.name)-1], dev)
			ifr.data = unsafe.Pointer(&v)
			_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), siocEthtool, uintptr(unsafe.Pointer(&ifr)))
			runtime.KeepAlive(&v)
			if errno != 0 {
				return fmt.Errorf("%s: ethtool 0x%x off: %w", dev, cmd, errno)
			}
		}
		return nil
	})
}
