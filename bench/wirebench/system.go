//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// state is how one node sees another, reduced to what the harness waits
// for.
type state int

const (
	stateOther state = iota // anything else: unknown, degraded, left, suspect, …
	stateUp                 // meshmon "online", Serf "alive"
	stateDown               // meshmon "offline", Serf "failed"
)

// observed is how one node sees another: the reduced state and the
// system's own word for it ("degraded", "suspect", …).
type observed struct {
	State state
	Raw   string
}

func (s state) String() string {
	switch s {
	case stateUp:
		return "up"
	case stateDown:
		return "down"
	}
	return "other"
}

// system is one monitor under test.
type system interface {
	// Name is the column name, "meshmon" or "Serf".
	Name() string
	// Version is the first line of the binary's own version output.
	Version(ctx context.Context) string
	// Setup writes what every member needs under dir (configs, keys).
	Setup(ctx context.Context, dir string, members []*member) error
	// Command returns the argv and extra environment that run m; the harness
	// runs it inside m's namespace.
	Command(m *member) (argv, env []string)
	// Ports are the protocols whose bytes are broken out; the rest is
	// "other".
	Ports() []portRule
	// Statuses asks m how it sees every member, by name. It only talks to
	// m inside m's namespace (its HTTP API or its CLI on loopback).
	Statuses(ctx context.Context, m *member) (map[string]observed, error)
}

// payloadCounter is a system that also tells what each node's
// application layer sent, before framing, encryption and headers: the
// harness shows it beside the wire bytes.
type payloadCounter interface {
	// PayloadLabels are Payload's keys in display order.
	PayloadLabels() []string
	// Payload returns the bytes m has sent so far, by label.
	Payload(ctx context.Context, m *member) (map[string]int64, error)
}

// member is one node of a measurement: its name, namespace, address and,
// while it runs, its process.
type member struct {
	Index int
	Name  string
	NS    string
	IP    string
	Dir   string // its own directory (config, log)

	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	err  error         // cmd's exit, once done is closed
}

// logPath is where m's process writes stdout and stderr.
func (m *member) logPath() string { return m.Dir + ".log" }

// start runs `ip netns exec <ns> <argv>`; ip execs argv in place, so the
// process is the system's own and its pid is cmd's. It is killed if the
// harness dies first.
func (m *member) start(sys system) error {
	argv, env := sys.Command(m)
	logf, err := os.OpenFile(m.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", m.NS}, argv...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", m.Name, err)
	}
	done := make(chan struct{})
	m.cmd, m.done = cmd, done
	go func() {
		m.err = cmd.Wait()
		logf.Close()
		close(done)
	}()
	return nil
}

// pid is the running process's pid.
func (m *member) pid() int { return m.cmd.Process.Pid }

// exited tells whether the process has ended.
func (m *member) exited() bool {
	if m.done == nil {
		return true
	}
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the process.
func (m *member) signal(sig syscall.Signal) error {
	if m.exited() {
		return fmt.Errorf("%s: signal %v: %w; log:\n%s", m.Name, sig, m.err, m.logTail())
	}
	return m.cmd.Process.Signal(sig)
}

// wait waits up to timeout for the process to end.
func (m *member) wait(timeout time.Duration) error {
	select {
	case <-m.done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%s did not exit within %s", m.Name, timeout)
	}
}

// stop ends the process: SIGCONT (it may be stopped), SIGTERM, and SIGKILL
// after grace.
func (m *member) stop(grace time.Duration) {
	if m.exited() {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGCONT)
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	if m.wait(grace) != nil {
		_ = m.cmd.Process.Kill()
		<-m.done
	}
}

// logTail is the end of the process's log, for error messages.
func (m *member) logTail() string {
	b, err := os.ReadFile(m.logPath())
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	s := string(b)
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	return strings.TrimSpace(s)
}

// versionOf runs bin with args and returns the first line of its output.
func versionOf(ctx context.Context, bin string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		return "version unknown: " + err.Error()
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return first
}
