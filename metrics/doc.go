// Package metrics exposes meshmon's state to Prometheus (DESIGN.md §9).
//
// A Collector reads read-only snapshots through the functions of Sources on
// every scrape and turns them into const metrics; it owns no state of its
// own. A network or node that is no longer in a snapshot is simply not
// emitted again, so its label sets disappear from the next scrape without any
// bookkeeping. Everything is registered on a registry passed in by the
// caller, never on the global default; the same registry takes libp2p's own
// metrics (p2p.HostConfig.Registerer) and the Go and process collectors.
//
// docs/metrics.md lists every metric with its labels and meaning.
package metrics
