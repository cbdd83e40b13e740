// Package p2p is meshmon's libp2p layer: the host built from the node's Ed25519
// key, one GossipSub topic per network with a validator that admits only
// members' fresh messages, the wire messages (package pb), the /meshmon/sync/1
// request a late joiner uses, bootstrap through members' HTTP /api/p2p, ping RTT,
// and redial with backoff. See DESIGN.md §4–§5.
package p2p
