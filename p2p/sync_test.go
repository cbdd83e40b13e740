package p2p

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
)

// TestSyncExchangesCapped: a node that sees many members join at once
// (its start, a healed partition) runs at most syncParallel sync exchanges
// at a time; the next starts as soon as one ends. Every member here holds
// the exchanges it receives open until the test lets one go.
func TestSyncExchangesCapped(t *testing.T) {
	const members = syncParallel + 2
	names := []string{"a"}
	for i := range members {
		names = append(names, fmt.Sprintf("m%d", i))
	}
	nodes := newKeys(t, names...)
	a := nodes["a"]
	a.start(t, nodes)

	var (
		mu      sync.Mutex
		open    int // a's exchanges being held
		opened  int // a's exchanges received so far
		release = make(chan struct{}, members)
	)
	state := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return open, opened
	}
	hold := func(s network.Stream) {
		defer s.Close()
		mu.Lock()
		open++
		opened++
		mu.Unlock()
		<-release
		mu.Lock()
		open--
		mu.Unlock()
	}
	t.Cleanup(func() { close(release) })
	for _, name := range names[1:] {
		m := nodes[name]
		m.start(t, nodes)
		m.host.Libp2p().SetStreamHandler(SyncProtocol, hold)
		m.connect(t, a)
	}

	waitFor(t, 30*time.Second, fmt.Sprintf("%d exchanges held open", syncParallel), func() bool {
		o, n := state()
		return o == syncParallel || n > syncParallel // the check below fails the latter
	})
	// Every member is on the topic: without the cap the other exchanges
	// would have started by now.
	waitFor(t, 30*time.Second, "a to see every member on the topic", func() bool { return len(a.net.Peers()) == members })
	// For a second, no further exchange may start (without the cap the
	// waiting ones would open within milliseconds).
	end := time.Now().Add(time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(end) {
		if o, n := state(); o != syncParallel || n != syncParallel {
			t.Fatalf("%d exchanges open, %d received; want %d and %d (the cap)", o, n, syncParallel, syncParallel)
		}
		<-tick.C
	}
	release <- struct{}{}
	waitFor(t, 30*time.Second, "the next exchange to start once one ended", func() bool {
		o, n := state()
		return n == syncParallel+1 && o == syncParallel
	})
}
