//go:build linux

package chaos

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/meshmon/meshmon/internal/netlab"
	"github.com/meshmon/meshmon/node/nodetest"
)

var (
	// meshmonBin is the binary under test, built once by TestMain.
	meshmonBin string
	// labMissing says why the namespace tests cannot run here ("" when
	// they can).
	labMissing string
)

// Deadlines. The machine may have two busy cores running the rest of the
// suite, so they are generous; a passing run takes far less.
const (
	converge = 90 * time.Second // a fresh cluster: all online, one leader
	settle   = 60 * time.Second // a change shows everywhere
)

func TestMain(m *testing.M) {
	labMissing = labUnavailable()
	if labMissing == "" {
		netlab.RemoveLeftovers(context.Background(), nsPrefix, func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "chaos e2e: "+format+"\n", args...)
		})
		removeLeftoverCgroups()
	}
	bin, dir, err := nodetest.BuildBinary("meshmon-chaos-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos e2e:", err)
		os.Exit(1)
	}
	meshmonBin = bin
	code := m.Run()
	if dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// labUnavailable says what is missing to build namespaces here.
func labUnavailable() string {
	if os.Geteuid() != 0 {
		return "not root (network namespaces and packet sockets need root: sudo -E go test ./e2e/chaos/)"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "ip not found (apt-get install -y iproute2)"
	}
	return ""
}

// needLab skips the test when it cannot build namespaces here, or fails
// it under CI=true, where the link scenarios are part of the suite (.ci/run
// installs iproute2 and runs as root).
func needLab(t testing.TB) {
	t.Helper()
	if labMissing == "" {
		return
	}
	msg := "the chaos link scenarios need root and ip (iproute2): " + labMissing
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg + " (skipped because CI is not true)")
}

// envDuration reads a duration knob from the environment (def when unset);
// a bad value fails the test, so a typo never silently runs the default.
func envDuration(t testing.TB, name string, def time.Duration) time.Duration {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive duration such as 30s", name, s)
	}
	return d
}

// envInt reads an integer knob from the environment (def when unset).
func envInt(t testing.TB, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive whole number", name, s)
	}
	return n
}

// hold keeps a fault in place for d. It is the length of the injected
// fault, not a wait for a condition.
func hold(d time.Duration) {
	<-time.After(d)
}
