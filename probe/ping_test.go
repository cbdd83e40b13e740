package probe

import (
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/icmp"
)

// TestPingLoopback pings the loopback addresses for real. The tests run as
// root, so at least the raw socket opens; if no socket does, the failure
// shows the real reason.
func TestPingLoopback(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1", "localhost"} {
		t.Run(host, func(t *testing.T) {
			res := runProbe(t, Spec{Type: "ping", Host: host, Timeout: 5 * time.Second})
			if res.Status != Up {
				t.Fatalf("ping %s = %v %q (detail %q); want up", host, res.Status, res.Reason, res.Detail)
			}
			t.Logf("ping %s: %v in %v, %s", host, res.Status, res.Latency, res.Detail)
			if res.Latency <= 0 || !strings.HasPrefix(res.Detail, "echo reply from ") {
				t.Errorf("ping %s = latency %v, detail %q; want an echo reply with its round trip", host, res.Latency, res.Detail)
			}
		})
	}
}

// TestPingSockets drives the choice of ICMP socket through the listener
// seam: refusals are the errors icmp.ListenPacket returns, and a socket that
// opens is a real one.
func TestPingSockets(t *testing.T) {
	refuse := func(errno syscall.Errno) func(string, string) (*icmp.PacketConn, error) {
		return func(string, string) (*icmp.PacketConn, error) {
			return nil, os.NewSyscallError("socket", errno)
		}
	}
	openReal := icmp.ListenPacket // the raw socket: the tests run as root
	tests := []struct {
		name      string
		host      string
		dgram     func(string, string) (*icmp.PacketConn, error)
		raw       func(string, string) (*icmp.PacketConn, error)
		wantTried []string
		status    Status
		reason    string
		detail    string
	}{
		{
			name: "raw socket when datagram is refused", host: "127.0.0.1", dgram: refuse(syscall.EACCES), raw: openReal,
			wantTried: []string{"udp4", "ip4:icmp"}, status: Up, detail: "echo reply from 127.0.0.1 (raw socket)",
		},
		{
			name: "ipv6 raw socket", host: "::1", dgram: refuse(syscall.EACCES), raw: openReal,
			wantTried: []string{"udp6", "ip6:ipv6-icmp"}, status: Up, detail: "echo reply from ::1 (raw socket)",
		},
		{
			name: "neither permitted", host: "127.0.0.1", dgram: refuse(syscall.EACCES), raw: refuse(syscall.EPERM),
			wantTried: []string{"udp4", "ip4:icmp"}, status: Down, reason: notPermittedReason,
			detail: "udp4: socket: permission denied; ip4:icmp: socket: operation not permitted",
		},
		{
			name: "neither permitted ipv6", host: "::1", dgram: refuse(syscall.EACCES), raw: refuse(syscall.EPERM),
			wantTried: []string{"udp6", "ip6:ipv6-icmp"}, status: Down, reason: notPermittedReason,
		},
		{
			name: "no ipv6 at all", host: "::1", dgram: refuse(syscall.EAFNOSUPPORT), raw: refuse(syscall.EAFNOSUPPORT),
			wantTried: []string{"udp6", "ip6:ipv6-icmp"}, status: Down, reason: "ping socket: socket: address family not supported by protocol",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tried []string
			listen := func(network, address string) (*icmp.PacketConn, error) {
				tried = append(tried, network)
				if strings.HasPrefix(network, "udp") {
					return tt.dgram(network, address)
				}
				return tt.raw(network, address)
			}
			s := Spec{Type: "ping", Host: tt.host, Timeout: 5 * time.Second}
			start := time.Now()
			res := ping(t.Context(), s, listen)
			if took := time.Since(start); took > s.Timeout+time.Second {
				t.Errorf("ping took %v; want at most %v", took, s.Timeout+time.Second)
			}
			res = res.clean()
			checkLimits(t, res)
			if !slices.Equal(tried, tt.wantTried) {
				t.Errorf("sockets tried = %v; want %v", tried, tt.wantTried)
			}
			wantResult(t, res, tt.status, tt.reason)
			if !strings.HasPrefix(res.Detail, tt.detail) {
				t.Errorf("Detail = %q; want %q…", res.Detail, tt.detail)
			}
		})
	}
}

// TestPingDatagramSocket opens the real unprivileged datagram socket and a
// refused raw one. Whether the kernel permits the datagram socket depends
// on this host's net.ipv4.ping_group_range, so the expectation follows what
// the kernel says when asked directly: an echo reply through it, or the
// "not permitted" reason built from the kernel's own refusal.
func TestPingDatagramSocket(t *testing.T) {
	var tried []string
	listen := func(network, address string) (*icmp.PacketConn, error) {
		tried = append(tried, network)
		if network == "udp4" {
			return icmp.ListenPacket(network, address)
		}
		return nil, os.NewSyscallError("socket", syscall.EPERM)
	}
	c, kernelErr := icmp.ListenPacket("udp4", "0.0.0.0")
	if kernelErr == nil {
		c.Close()
	}
	res := ping(t.Context(), Spec{Type: "ping", Host: "127.0.0.1", Timeout: 5 * time.Second}, listen).clean()
	checkLimits(t, res)
	switch {
	case kernelErr == nil:
		wantResult(t, res, Up, "")
		if !slices.Equal(tried, []string{"udp4"}) || res.Detail != "echo reply from 127.0.0.1 (datagram socket)" {
			t.Errorf("ping = tried %v, detail %q; want only udp4 and an echo reply through it", tried, res.Detail)
		}
	case notPermitted(kernelErr):
		wantResult(t, res, Down, notPermittedReason)
		if !strings.HasPrefix(res.Detail, "udp4: "+kernelErr.Error()+"; ip4:icmp: ") {
			t.Errorf("Detail = %q; want the kernel's refusal %q first", res.Detail, kernelErr)
		}
	default:
		t.Fatalf("opening a datagram ICMP socket: %v; want success or a permission error", kernelErr)
	}
}

func TestNotPermittedReasonFits(t *testing.T) {
	if len(notPermittedReason) > MaxReasonBytes {
		t.Errorf("len(notPermittedReason) = %d; want <= %d", len(notPermittedReason), MaxReasonBytes)
	}
}
