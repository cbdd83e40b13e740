// Package nat holds the NAT end-to-end tests: real `meshmon run` processes,
// each in its own Linux network namespace, some of them behind NAT routers
// (namespaces with iptables MASQUERADE and no port forwards), observed
// through each node's HTTP API.
//
// The tests need root, iproute2 (`ip`) and iptables. Without them they are
// skipped, except under CI=true, where they fail. Every namespace, veth and
// rule a test creates lives in namespaces named mmnat<pid>-…, which the test
// deletes when it ends, pass or fail; a run killed before its cleanups
// leaves names whose pid is dead, and the next run deletes those. Nothing
// is added to the root namespace: no address, no route, no rule, and no
// namespace has a route out. docs/nat.md explains what is tested and why.
//
// The tests are in *_linux_test.go; this file exists so that the package
// has a Go file on every platform.
package nat
