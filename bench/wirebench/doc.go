// Command wirebench measures meshmon side by side with Serf, as `make bench`
// runs it: N real processes of each system, every node in its own Linux
// network namespace on one bridge, and for each system and N it reports the
// IP bytes and packets each node sends per second (iptables counters in
// each namespace), CPU per node (utime+stime from /proc), RSS per node split
// into anonymous and file-backed pages, the time until every node sees every
// node up after start, and how long the survivors take to see a hung
// (SIGSTOP) and a crashed (SIGKILL) node down. It prints a markdown table
// with the ratio meshmon/Serf and the growth between the smallest and the
// largest N. It reports figures; it never asserts them.
//
// It only uses what any deployment sees: the processes, their HTTP API or
// CLI, and the wire. It needs Linux, root, iproute2 and iptables.
// Everything it builds lives in namespaces named mmbench<pid>-…, deleted
// when a measurement ends (and by the next run if this one was killed);
// nothing is added to the root namespace, and the harness itself only
// talks to 127.0.0.1 inside the namespaces. docs/performance.md has the
// method and the figures.
package main
