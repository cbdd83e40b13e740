// Package netlab builds throw-away networks out of Linux network
// namespaces, for the process-level tests (e2e/nat, e2e/chaos) and the wire
// benchmark (bench/wirebench): namespaces named after the process that
// made them (so a leftover of a killed run is found and deleted), veth
// pairs that never touch the root namespace, addresses, sysctls, and
// sockets opened from inside a namespace by a thread switched into it with
// setns(2). Everything lives inside the namespaces a Lab made, so closing
// the Lab undoes all of it. It needs root and ip (iproute2); it builds
// only on Linux. Companion package netlabtest wraps a Lab for tests.
package netlab
