// Package chaos is meshmon's chaos harness (issue 12): real `meshmon run`
// processes, each with a generic webhook pointing at a sink in the test,
// watched from outside through their HTTP APIs while the test pauses them
// (SIGSTOP/SIGCONT), starves them all at once, or impairs their links.
//
// An observer loop polls every node's /api/networks/<id> every 150 ms and
// records every status each node shows for every member, and every event
// of /api/events; the sink records every alert posted. The scenarios then
// assert what must never happen (a healthy member leaving `online` at any
// observer, an alert about it, an alert sent twice) and what must (a
// member stopped for longer than suspect_after is offline everywhere and
// alerted once).
//
//   - Pause scenarios (TestPause*, TestStarvation, TestTrueOutage) run on
//     loopback and need nothing but Linux. TestCPUStarvation also runs on
//     loopback but puts the nodes in one cpu cgroup, which needs root.
//   - TestJudge table-tests the verdict itself on recorded data.
//   - Link scenarios (TestSwitch, TestLoss, TestLinkCut) put every node in
//     its own network namespace, joined through a user-space switch in the
//     test (AF_PACKET sockets on veth ends; the kernel here has no netem)
//     that drops and delays frames per port. They need root and iproute2;
//     without them they are skipped, except under CI=true, where they
//     fail. Every namespace is named mmchaos<pid>-… and deleted when the
//     test ends; leftovers of a killed run are deleted by the next run.
//   - TestSoak (make soak) runs 10 nodes for 30 minutes, mixing all of the
//     above, and prints false transitions, alerts and RSS drift per node.
//     It runs only when MESHMON_SOAK=1.
//
// docs/chaos.md describes the scenarios, their knobs and their results.
//
// The tests are in *_linux_test.go; this file exists so that the package
// has a Go file on every platform.
package chaos
