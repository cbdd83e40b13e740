// Package notify turns the cluster's agreed liveness into alerts and delivers
// them to Discord and generic JSON webhooks (DESIGN.md §7).
//
// Nodes of a network that configure the same webhook form a notification
// cluster, identified by ClusterHash (a salted hash; URLs never travel). The
// pieces, from decision to delivery:
//
//   - Elect: pure leader election among a cluster's live participating
//     members (smallest peer ID wins; fewer than 2 live members means
//     WAITING_FOR_CONSENSUS).
//   - Transitions / Tracker: pure turning of consensus verdicts into Alerts,
//     only for confirmed verdicts, each with a deterministic AlertID.
//   - Ledger: per cluster, which alerts are pending, being sent, or delivered
//     (by this node or, via gossiped Delivered messages, by another).
//   - Dispatch: pure choice of what this node must send now.
//   - DiscordFormatter / JSONFormatter: pure payload builders within the
//     receivers' limits.
//   - Sender: one per webhook; a non-blocking queue and a single worker that
//     posts with timeouts, honours rate limits and backs off on failures.
//
// Everything except Sender is a plain value or a single-owner data structure
// without goroutines; time is always passed in or injected through Clock.
//
// Per network, the goroutine that owns the network's state runs, on every
// consensus evaluation:
//
//	alerts := tracker.Observe(snapshot, now)          // one Tracker per network
//	for each cluster c:                               // one per configured webhook
//		ledger[c].Add(now, alerts...)
//		el := Elect(ElectionInput{Self, Members, tracker.Verdicts()})  // Participating from heartbeats
//		sender[c].Enqueue(ledger[c].Take(self, el, tracker.UpSince())...)
//
// and feeds back, as messages to the same goroutine: Sender.OnDelivered →
// ledger.MarkDelivered and publish c.Delivered(id) for each ID; a Delivered
// gossip message → c.DeliveredAlert → ledger.MarkDelivered; after either,
// ledger.Supersede; Sender.OnFailed → ledger.GiveUp and an event; IDs
// returned by Enqueue → ledger.Release. Heartbeats announce
// HeartbeatClusters of the clusters' hashes.
//
// A running node sets a hold on the tracker (Tracker.SetHold) and observes
// on a timer, not only when the consensus changes: statuses that do not last
// (a node degraded for a moment, the steps of a death as observers' reports
// arrive, the degraded phase of a return) then raise no alert of their own.
// The node package (node/alerts.go) is that goroutine.
package notify
