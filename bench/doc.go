// Package bench holds meshmon's benchmarks: `make bench` runs them and prints
// the figures the README's performance section quotes. They report, they do
// not assert.
package bench
