// Package monitor runs a network's external monitors (docs/monitors.md):
// this node probes the monitors it runs, publishes its latest result of
// each in signed gossip when a state changes (and as a slow refresh), takes
// in the other members' results, and agrees on one verdict per monitor with
// Agree, a pure function in the style of health.Consensus.
//
// The package knows neither the config files nor the probe types: node
// turns each configsync.Monitor into a Definition whose Probe runs the
// probe package. One goroutine (Service.Run) owns the state; readers take
// the immutable Snapshot.
package monitor
