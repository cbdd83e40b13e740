// Package history keeps what a node has seen so that it survives restarts:
// every agreed status change of every member and link, every event (with ids
// unique across restarts), every alert sent, failed or suppressed, and RTT
// rolled up per minute and per hour. It stores them in one embedded bbolt
// file in the data dir, written in batches by a Recorder that follows the
// node's public event log, the views its engines publish (link changes, as
// they happen) and its latest view (RTT, once a second); a store that
// cannot be opened or written is retried while the node runs. It computes
// uptime and outages from them with a pure function (Compute). Prometheus stays the long-term store
// for those who run one; this is what the dashboard and the API show.
package history
