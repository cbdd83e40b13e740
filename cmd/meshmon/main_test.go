package main

import (
	"os"
	"testing"
)

// TestMain keeps root for the commands this package's tests run inside the
// test binary (often as root, in CI): stepping down would change the test
// process's own ids. Outside the image nothing steps down anyway; this also
// holds if the tests run where MESHMON_STEP_DOWN is set. The step-down
// tests run the real binary, with an environment without MESHMON_
// variables (childEnv).
func TestMain(m *testing.M) {
	if err := os.Setenv(runAsRootEnv, "1"); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}
