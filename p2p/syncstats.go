package p2p

import (
	"sync/atomic"

	"github.com/meshmon/meshmon/p2p/pb"
)

// SyncStats counts a network's /meshmon/sync/1 exchanges (pushes to members
// off the topic are counted apart, in StrandedPushes).
type SyncStats struct {
	// Requested: exchanges this node started (a member joined the topic).
	Requested uint64
	// Answered: exchanges members started with this node that it answered.
	Answered uint64
	// EntriesSent, EntriesReceived: messages handed over in those exchanges,
	// both directions (requests and answers).
	EntriesSent, EntriesReceived uint64
	// BytesSent, BytesReceived: the signed messages' bytes in those entries.
	BytesSent, BytesReceived uint64
	// Admitted: received entries that were newer than what this node held
	// and passed validation; the rest were stale, duplicates or rejected.
	Admitted uint64
}

// syncCounters is the atomic form of SyncStats.
type syncCounters struct {
	requested, answered                atomic.Uint64
	entriesSent, entriesReceived       atomic.Uint64
	bytesSent, bytesReceived, admitted atomic.Uint64
}

// SyncStats returns the network's sync counters.
func (n *Network) SyncStats() SyncStats {
	c := &n.syncStats
	return SyncStats{
		Requested: c.requested.Load(), Answered: c.answered.Load(),
		EntriesSent: c.entriesSent.Load(), EntriesReceived: c.entriesReceived.Load(),
		BytesSent: c.bytesSent.Load(), BytesReceived: c.bytesReceived.Load(),
		Admitted: c.admitted.Load(),
	}
}

// sent counts entries handed to a member.
func (c *syncCounters) sent(entries []*pb.SyncEntry) {
	c.entriesSent.Add(uint64(len(entries)))
	for _, e := range entries {
		c.bytesSent.Add(uint64(len(e.GetMessage())))
	}
}

// received counts entries a member handed over.
func (c *syncCounters) received(entries []*pb.SyncEntry) {
	c.entriesReceived.Add(uint64(len(entries)))
	for _, e := range entries {
		c.bytesReceived.Add(uint64(len(e.GetMessage())))
	}
}
