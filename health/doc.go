// Package health is meshmon's liveness model: each node's local observations of
// its peers, the pure Consensus function that turns every observer's reports into
// one agreed status per member, and the engine that owns that state for one
// network and emits events on transitions. See DESIGN.md §6.
package health
