package p2p

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"
)

// TestProbeTCPSkipsLoopbackOfARemoteMember: a member on another machine
// also announces 127.0.0.1; a connect there reaches a listener of this
// machine and must not hide that the member's own address refuses. (The
// "other machine" is a DNS name here, which resolves to loopback: only
// loopback is touched.)
func TestProbeTCPSkipsLoopbackOfARemoteMember(t *testing.T) {
	open, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	openPort := open.Addr().(*net.TCPAddr).Port
	m := func(s string) ma.Multiaddr {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name  string
		addrs []ma.Multiaddr
		want  bool
	}{
		{"only loopback, refused", []ma.Multiaddr{m(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", closedPort))}, true},
		{"only loopback, one answers", []ma.Multiaddr{m(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", closedPort)), m(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", openPort))}, false},
		{"remote refused, its loopback answers (another listener)", []ma.Multiaddr{
			m(fmt.Sprintf("/dns4/localhost/tcp/%d", closedPort)), m(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", openPort))}, true},
		{"no tcp address", []ma.Multiaddr{m(fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", closedPort))}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := probeTCP(ctx, tc.addrs); got != tc.want {
				t.Errorf("probeTCP(%v) = %v; want %v", tc.addrs, got, tc.want)
			}
		})
	}
}
