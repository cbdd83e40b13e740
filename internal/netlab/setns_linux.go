//go:build linux

package netlab

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"syscall"
)

// Path is the file that names namespace ns, for setns(2).
func Path(ns string) string { return "/run/netns/" + ns }

// InNS runs fn on an OS thread switched into the namespace at path (see
// Path) with setns(2). Sockets fn creates belong to that namespace for
// their whole life. The thread is switched back before it runs anything
// else; if that fails, the goroutine ends locked and Go discards the
// thread. The process itself never gets an address or a route in the
// namespace.
func InNS(path string, fn func() error) error {
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

// DialIn opens a connection from inside the namespace at path.
func DialIn(ctx context.Context, path, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := InNS(path, func() error {
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

// ListenIn opens a listener inside the namespace at path.
func ListenIn(path, network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := InNS(path, func() error {
		var err error
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}
