//go:build linux

package chaos

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/meshmon/meshmon/internal/netlab"
)

// TestSwitch checks the user-space switch itself between two namespaces:
// a TCP echo of 1 MB comes back intact with no frame over the MTU; a port
// that is down lets nothing through and one brought up again does; delay
// on both ports slows the TCP handshake by at least their sum; loss drops
// frames and TCP still delivers everything.
func TestSwitch(t *testing.T) {
	t.Parallel()
	needLab(t)
	l := newLab(t, "switch")
	s := switchedNet(t, l, []string{"a", "b"})
	ln, err := netlab.ListenIn(netlab.Path(s.nss[1]), "tcp", s.ips[1]+":7000")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	echo := func(size int, timeout time.Duration) (time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		start := time.Now()
		c, err := netlab.DialIn(ctx, netlab.Path(s.nss[0]), "tcp", s.ips[1]+":7000")
		if err != nil {
			return 0, err
		}
		handshake := time.Since(start)
		defer c.Close()
		if dl, ok := ctx.Deadline(); ok {
			_ = c.SetDeadline(dl)
		}
		msg := make([]byte, size)
		_, _ = rand.Read(msg)
		go func() { _, _ = c.Write(msg) }()
		got := make([]byte, size)
		if _, err := io.ReadFull(c, got); err != nil {
			return handshake, fmt.Errorf("echo: %w", err)
		}
		if !bytes.Equal(got, msg) {
			return handshake, fmt.Errorf("echo: %d bytes came back changed", size)
		}
		return handshake, nil
	}

	if _, err := echo(1<<20, 30*time.Second); err != nil {
		t.Fatalf("clean switch: %v", err)
	}
	if st := s.sw.total(); st.Out == 0 || st.Oversize > 0 || st.SendErrors > 0 {
		t.Fatalf("clean switch: %+v; want frames out, none oversize, no send errors", st)
	}

	s.sw.set(0, impairment{Down: true})
	if _, err := echo(1000, 2*time.Second); err == nil {
		t.Fatal("port a down: the echo got through")
	}
	if s.sw.stats(0).Cut == 0 {
		t.Fatal("port a down: no frame counted as cut")
	}
	s.sw.set(0, impairment{})
	if _, err := echo(1000, 30*time.Second); err != nil {
		t.Fatalf("port a up again: %v", err)
	}

	s.sw.setAll(impairment{Delay: 100 * time.Millisecond, Jitter: 20 * time.Millisecond})
	hs, err := echo(1000, 30*time.Second)
	if err != nil {
		t.Fatalf("delay: %v", err)
	}
	if hs < 160*time.Millisecond {
		t.Fatalf("delay 100±20 ms on both ports: handshake took %s; want at least 160 ms", hs)
	}

	s.sw.setAll(impairment{Loss: 0.2})
	lostBefore := s.sw.total().Lost
	if _, err := echo(256<<10, 60*time.Second); err != nil {
		t.Fatalf("20%% loss: %v", err)
	}
	if s.sw.total().Lost == lostBefore {
		t.Fatal("20% loss: no frame lost")
	}
	s.logSwitch(t)
}
