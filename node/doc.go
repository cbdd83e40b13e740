// Package node composes one running meshmon node: its identity, libp2p host,
// one liveness engine per configured network, and its HTTP sidecar. `meshmon
// run`, `meshmon demo` and the multi-node tests all build nodes through it.
package node
