//go:build linux

package chaos

// A user-space Ethernet switch that impairs links the way netem does (the
// kernel here has no netem). It lives in its own namespace: each port is
// the switch-side end of a veth whose other end is a node's eth0, read and
// written through an AF_PACKET socket. It learns MAC addresses, floods
// broadcast, multicast and unknown destinations, and applies each port's
// impairment to the frames its node sends: loss, and a delay drawn
// uniformly from delay ± jitter per frame (so frames reorder, as with
// netem's jitter). A port that is down drops every frame in both
// directions, as a pulled cable would.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/meshmon/meshmon/internal/netlab"
)

// impairment is what a port does to the frames its node sends.
type impairment struct {
	// Loss is the probability that a frame is dropped, 0–1.
	Loss float64
	// Delay is the mean one-way delay added to each frame.
	Delay time.Duration
	// Jitter: each frame's delay is uniform in [Delay−Jitter, Delay+Jitter].
	Jitter time.Duration
	// Down drops every frame to and from the port.
	Down bool
}

// String describes the impairment as the test logs show it.
func (m impairment) String() string {
	if m.Down {
		return "down"
	}
	return fmt.Sprintf("%.0f%% loss, %s ± %s", m.Loss*100, m.Delay, m.Jitter)
}

// portStats counts what one port did.
type portStats struct {
	In, Out, Lost, Cut, Oversize, SendErrors uint64
}

// swPort is one port of the switch.
type swPort struct {
	name    string
	ifindex int
	f       *os.File
	rc      syscall.RawConn

	in, out, lost, cut, oversize, sendErrors atomic.Uint64

	// mu protects imp.
	mu  sync.Mutex
	imp impairment
}

// vswitch is the switch. Start it with startSwitch; stop it with close
// (idempotent; also registered as a test cleanup).
type vswitch struct {
	ports  []*swPort
	closed atomic.Bool
	wg     sync.WaitGroup // the readers and the frames still in flight

	// mu protects macs.
	mu   sync.Mutex
	macs map[[6]byte]int // learned source MAC → port index
}

// maxFrame is the largest frame the switch forwards: a 1500-byte MTU plus
// the Ethernet header. Larger ones mean an offload is still on.
const maxFrame = 1514

// ethPAll is htons(ETH_P_ALL): ETH_P_ALL in network byte order, read as
// a native integer, as socket(2) and sockaddr_ll want it.
var ethPAll = binary.NativeEndian.Uint16([]byte{0x00, 0x03})

// startSwitch opens an AF_PACKET socket on each of the interfaces devs in
// the namespace ns and starts forwarding between them.
func startSwitch(ns string, devs []string) (*vswitch, error) {
	sw := &vswitch{macs: map[[6]byte]int{}}
	for _, dev := range devs {
		p, err := openPort(netlab.Path(ns), dev)
		if err != nil {
			sw.close()
			return nil, err
		}
		sw.ports = append(sw.ports, p)
	}
	for i := range sw.ports {
		sw.wg.Add(1)
		go sw.read(i)
	}
	return sw, nil
}

// openPort opens a non-blocking AF_PACKET socket bound to dev, inside the
// namespace at path; Go's poller then waits on it, and closing the file
// wakes its reader.
func openPort(path, dev string) (*swPort, error) {
	p := &swPort{name: dev}
	err := netlab.InNS(path, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		p.ifindex = ifi.Index
		fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, int(ethPAll))
		if err != nil {
			return fmt.Errorf("%s: packet socket: %w", dev, err)
		}
		if err := syscall.Bind(fd, &syscall.SockaddrLinklayer{Protocol: ethPAll, Ifindex: ifi.Index}); err != nil {
			syscall.Close(fd)
			return fmt.Errorf("%s: bind: %w", dev, err)
		}
		p.f = os.NewFile(uintptr(fd), "packet:"+dev)
		return nil
	})
	if err != nil {
		return nil, err
	}
	rc, err := p.f.SyscallConn()
	if err != nil {
		p.f.Close()
		return nil, err
	}
	p.rc = rc
	return p, nil
}

// set changes port i's impairment; frames already delayed keep theirs.
func (sw *vswitch) set(i int, imp impairment) {
	p := sw.ports[i]
	p.mu.Lock()
	p.imp = imp
	p.mu.Unlock()
}

// setAll gives every port the same impairment.
func (sw *vswitch) setAll(imp impairment) {
	for i := range sw.ports {
		sw.set(i, imp)
	}
}

func (p *swPort) impairment() impairment {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.imp
}

// stats returns port i's counters.
func (sw *vswitch) stats(i int) portStats {
	p := sw.ports[i]
	return portStats{In: p.in.Load(), Out: p.out.Load(), Lost: p.lost.Load(), Cut: p.cut.Load(),
		Oversize: p.oversize.Load(), SendErrors: p.sendErrors.Load()}
}

// total sums every port's counters.
func (sw *vswitch) total() portStats {
	var s portStats
	for i := range sw.ports {
		p := sw.stats(i)
		s.In += p.In
		s.Out += p.Out
		s.Lost += p.Lost
		s.Cut += p.Cut
		s.Oversize += p.Oversize
		s.SendErrors += p.SendErrors
	}
	return s
}

// close stops forwarding and closes every socket, after the readers and
// the delayed frames are done.
func (sw *vswitch) close() {
	if sw.closed.Swap(true) {
		return
	}
	for _, p := range sw.ports {
		p.f.Close()
	}
	sw.wg.Wait()
}

// read forwards every frame that arrives on port i until the switch
// closes.
func (sw *vswitch) read(i int) {
	defer sw.wg.Done()
	p := sw.ports[i]
	buf := make([]byte, 1<<16)
	for {
		var n int
		var from syscall.Sockaddr
		var rerr error
		err := p.rc.Read(func(fd uintptr) bool {
			n, from, rerr = syscall.Recvfrom(int(fd), buf, 0)
			return !errors.Is(rerr, syscall.EAGAIN)
		})
		if err != nil {
			return // closed
		}
		if rerr != nil {
			if sw.closed.Load() {
				return
			}
			continue
		}
		if ll, ok := from.(*syscall.SockaddrLinklayer); ok && ll.Pkttype == syscall.PACKET_OUTGOING {
			continue // our own transmission on this port
		}
		if n < 14 {
			continue
		}
		p.in.Add(1)
		if n > maxFrame {
			p.oversize.Add(1)
			continue
		}
		sw.forward(i, buf[:n])
	}
}

// forward applies port i's impairment to frame and sends it to its
// destination port(s).
func (sw *vswitch) forward(i int, frame []byte) {
	src := sw.ports[i]
	imp := src.impairment()
	if imp.Down {
		src.cut.Add(1)
		return
	}
	var dst, smac [6]byte
	copy(dst[:], frame[0:6])
	copy(smac[:], frame[6:12])
	sw.mu.Lock()
	if smac[0]&1 == 0 {
		sw.macs[smac] = i
	}
	j, known := sw.macs[dst]
	sw.mu.Unlock()
	var targets []int
	if known && dst[0]&1 == 0 {
		if j == i {
			return
		}
		targets = []int{j}
	} else {
		for k := range sw.ports {
			if k != i {
				targets = append(targets, k)
			}
		}
	}
	if imp.Loss > 0 && rand.Float64() < imp.Loss {
		src.lost.Add(1)
		return
	}
	delay := imp.Delay
	if imp.Jitter > 0 {
		delay += time.Duration(rand.Int64N(int64(2*imp.Jitter)+1)) - imp.Jitter
	}
	if delay <= 0 {
		sw.send(targets, frame)
		return
	}
	cp := append([]byte(nil), frame...)
	sw.wg.Add(1)
	time.AfterFunc(delay, func() {
		defer sw.wg.Done()
		sw.send(targets, cp)
	})
}

// send writes frame out of each target port that is up.
func (sw *vswitch) send(targets []int, frame []byte) {
	if sw.closed.Load() {
		return
	}
	for _, j := range targets {
		p := sw.ports[j]
		if p.impairment().Down {
			p.cut.Add(1)
			continue
		}
		var werr error
		err := p.rc.Write(func(fd uintptr) bool {
			_, werr = syscall.Write(int(fd), frame)
			return !errors.Is(werr, syscall.EAGAIN)
		})
		if err != nil || werr != nil {
			p.sendErrors.Add(1)
			continue
		}
		p.out.Add(1)
	}
}
