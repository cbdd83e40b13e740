package p2p

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
)

// pingPaced pings member p over one libp2p ping stream (the protocol of
// libp2p's ping service, which every member answers), one ping per
// interval(), and hands each result over as soon as its answer arrives, so
// that taking a result is evidence of that moment. The channel closes after
// the first failure or when ctx ends (which resets the stream).
//
// libp2p's ping.Ping pings again as soon as a result is taken; paced by
// taking its results an interval apart, each answer waited up to an
// interval before it became evidence, so the pinging end of a pair
// suspected a hung member up to an interval after the answering end.
func pingPaced(ctx context.Context, h host.Host, p peer.ID, interval func() time.Duration) <-chan ping.Result {
	out := make(chan ping.Result, 1)
	failed := func(err error) <-chan ping.Result {
		out <- ping.Result{Error: err}
		close(out)
		return out
	}
	s, err := h.NewStream(ctx, p, ping.ID)
	if err != nil {
		return failed(err)
	}
	if err := s.Scope().SetService(ping.ServiceName); err != nil {
		s.Reset()
		return failed(err)
	}
	if err := s.Scope().ReserveMemory(2*ping.PingSize, network.ReservationPriorityAlways); err != nil {
		s.Reset()
		return failed(err)
	}
	go func() {
		defer close(out)
		defer s.Scope().ReleaseMemory(2 * ping.PingSize)
		defer s.Reset()
		// Ending ctx aborts a ping that waits for its answer.
		stop := context.AfterFunc(ctx, func() { s.Reset() })
		defer stop()
		sent, got := make([]byte, ping.PingSize), make([]byte, ping.PingSize)
		for {
			start := time.Now()
			rtt, err := pingOnce(s, sent, got)
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				h.Peerstore().RecordLatency(p, rtt)
			}
			select {
			case out <- ping.Result{RTT: rtt, Error: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
			wait := time.NewTimer(interval() - time.Since(start))
			select {
			case <-wait.C:
			case <-ctx.Done():
				wait.Stop()
				return
			}
		}
	}()
	return out
}

// errPingMismatch is a ping answered with other bytes than were sent.
var errPingMismatch = errors.New("ping answered with different bytes")

// pingOnce sends one ping of random bytes on s and waits for its echo.
func pingOnce(s network.Stream, sent, got []byte) (time.Duration, error) {
	if _, err := rand.Read(sent); err != nil {
		return 0, err
	}
	before := time.Now()
	if _, err := s.Write(sent); err != nil {
		return 0, err
	}
	if _, err := io.ReadFull(s, got); err != nil {
		return 0, err
	}
	if !bytes.Equal(sent, got) {
		return 0, errPingMismatch
	}
	return time.Since(before), nil
}
