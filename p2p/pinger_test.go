package p2p

import (
	"io"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
)

// TestPingerPacesAndHandsAnswersOverAtOnce: the pinging end of a pair
// sends one ping per interval, not back to back, and hands each answer
// over as it arrives: when the member stops answering (hangs), the
// pinger's last evidence is the last answer, not one held back for an
// interval. The member here answers three pings, then holds the stream
// without answering, as a SIGSTOPped process does.
func TestPingerPacesAndHandsAnswersOverAtOnce(t *testing.T) {
	const interval = 2 * time.Second
	nodes := newKeys(t, "a", "b")
	pinger, member := nodes["a"], nodes["b"]
	if member.id < pinger.id {
		pinger, member = member, pinger
	}
	pinger.pingEvery, member.pingEvery = interval, interval
	pinger.start(t, nodes)
	member.start(t, nodes)

	var mu sync.Mutex
	var asked, answered []time.Time
	member.host.Libp2p().SetStreamHandler(ping.ID, func(s network.Stream) {
		defer s.Close()
		buf := make([]byte, ping.PingSize)
		for {
			if _, err := io.ReadFull(s, buf); err != nil {
				return
			}
			mu.Lock()
			asked = append(asked, time.Now())
			hang := len(answered) == 3
			mu.Unlock()
			if hang {
				continue // hung: read on, never answer
			}
			if _, err := s.Write(buf); err != nil {
				return
			}
			mu.Lock()
			answered = append(answered, time.Now())
			mu.Unlock()
		}
	})
	pinger.connect(t, member)
	waitFor(t, 60*time.Second, "three answers and one more ping", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(asked) >= 4
	})

	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(asked); i++ {
		if gap := asked[i].Sub(asked[i-1]); gap < interval/2 {
			t.Errorf("pings %d and %d came %v apart; want about the interval %v", i-1, i, gap, interval)
		}
	}
	pinger.rec.mu.Lock()
	defer pinger.rec.mu.Unlock()
	if len(pinger.rec.rttAt) != 3 {
		t.Fatalf("the pinger took %d answers; want the 3 given", len(pinger.rec.rttAt))
	}
	if held := pinger.rec.rttAt[2].Sub(answered[2]); held > interval/2 {
		t.Errorf("the last answer became evidence %v after it was sent; want at once, not held for an interval", held)
	}
}
