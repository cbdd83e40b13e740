// Package bench holds meshmon's Go benchmarks on loopback: `make
// bench-loopback` runs them (10 `meshmon run` processes, and N nodes in one
// process). The side-by-side comparison with Serf in network namespaces,
// `make bench`, is the wirebench command in bench/wirebench. Benchmarks
// report figures, they do not assert them.
package bench
