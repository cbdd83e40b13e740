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
//     only for confirmed, agreed verdicts (never one observer's word) that
//     held continuously for the hold, each with a deterministic AlertID.
//   - Eligible (eligibility.go): the one decision whether this node sends
//     a pending alert now: agreed, not late (LateAfter), this node its
//     elected sender, and its own health good (LocalReady).
//   - Ledger: per cluster, which alerts are pending, being sent, delivered
//     or dropped; a Delivered mark of another member counts only from the
//     alert's elected sender (MarkRemote). Bounded.
//   - Dispatch / PlanDispatch: pure choice of what this node must send now.
//   - DiscordFormatter / JSONFormatter: pure payload builders within the
//     receivers' limits.
//   - Sender: one per webhook; a non-blocking queue and a single worker that
//     posts with timeouts, honours rate limits and backs off on failures.
//
// Everything except Sender is a plain value or a single-owner data structure
// without goroutines; time is always passed in or injected through Clock.
//
// Per network, the goroutine that owns the network's state runs:
//
//	for each view the engine publishes:             // event-driven, not sampled
//		alerts += tracker.Observe(SnapshotFromView(view), view.UpdatedAt)
//	on a timer:
//		alerts += tracker.Tick(now)                 // held statuses come through
//		for each cluster c:                         // one per configured webhook
//			ledger[c].Add(now, alerts...)
//			el := Elect(ElectionInput{Self, Members, tracker.Verdicts(), SelfUnhealthy})
//			plan := ledger[c].Plan(self, el, tracker.UpSince(), TakeOptions{Now, Hold, Local, …})
//			sender[c].Enqueue(plan.Send...)         // plan.Dropped: counted, late ones an event
//
// and feeds back, as messages to the same goroutine: Sender.OnDelivered →
// ledger.MarkDelivered and publish c.Delivered(id) for each ID; a Delivered
// gossip message → ParseDeliveredID → ledger.MarkRemote (from the elected
// sender only); after either, ledger.Supersede; Sender.OnFailed →
// ledger.GiveUp and an event; IDs returned by Enqueue → ledger.Release.
// Heartbeats announce HeartbeatClusters of the clusters' hashes.
//
// The node package (node/alerts.go) is that goroutine; docs/alerts.md is
// the user-facing description.
package notify
