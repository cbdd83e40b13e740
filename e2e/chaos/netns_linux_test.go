//go:build linux

package chaos

// Network namespaces for the link scenarios: internal/netlab's, as e2e/nat
// and bench/wirebench use them, with this package's own prefix, plus what
// the user-space switch needs: turning off a veth's offloads (so that
// frames are at most one MTU and carry their checksums).

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"unsafe"

	"github.com/meshmon/meshmon/internal/netlab"
	"github.com/meshmon/meshmon/internal/netlab/netlabtest"
)

// nsPrefix starts the name of every namespace (and cgroup) these tests
// create; the pid of the test process follows, so two runs never share a
// name and a leftover of a killed run is recognisable
// (netlab.RemoveLeftovers, removeLeftoverCgroups).
const nsPrefix = "mmchaos"

// lab owns the network namespaces of one test. Everything the test builds
// (veths, addresses, routes) is inside them, so deleting them undoes all
// of it.
type lab = netlabtest.Lab

// newLab returns a lab whose namespaces are named mmchaos<pid>-<name>-…;
// they are deleted when the test ends (registered first, so this cleanup
// runs after those of the processes and switch inside them).
func newLab(t testing.TB, name string) *lab { return netlabtest.New(t, nsPrefix, name) }

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
	return netlab.InNS(path, func() error {
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
