//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// config is one wirebench run.
type config struct {
	Ns              []int         // network sizes, e.g. 10 and 30
	Settle          time.Duration // after convergence, before the window: the startup burst passes
	Window          time.Duration // the steady-state measurement window
	Rounds          int           // hung and crash measurements per system and N
	ConvergeTimeout time.Duration // start → every node sees every node up
	DetectTimeout   time.Duration // failure → every survivor sees the victim down
	RecoverTimeout  time.Duration // after a round: every node sees every node up again
	RoundSettle     time.Duration // after all are up again, before the next failure: connections re-form
	PollInterval    time.Duration // pause between two sweeps of status polls
	PollParallel    int           // status polls in flight at once
	WorkDir         string        // configs and logs
	ProfileDir      string        // when set: CPU and heap profiles of meshmon node 0 go here
	Logf            func(format string, args ...any)
}

// result is what one system at one N measured. Per-node figures have one
// entry per node; detection figures one per round, NaN when the survivors
// did not agree within the timeout.
type result struct {
	System   string
	N        int
	Converge float64 // seconds from start until every node saw every node up; NaN: not within the timeout
	Window   time.Duration

	Bytes   []float64          // IP bytes sent on eth0 per second, per node
	Packets []float64          // IP packets sent on eth0 per second, per node
	ByPort  map[string]float64 // mean bytes/s per node by protocol; "other" is the rest
	Ports   []string           // ByPort's labels in display order
	// Payload is the mean bytes/s per node that the application layer
	// sent, by label (meshmon: libp2p's counters from /api/p2p); empty when
	// the system cannot tell.
	Payload       map[string]float64
	PayloadLabels []string
	// Conns is the mean number of established TCP connections per node at
	// the end of the window, by TCP port label.
	Conns map[string]float64
	CPU   []float64 // % of one core, per node
	RSS   []float64 // MiB per node, at the end of the window
	Anon  []float64 // MiB, RssAnon
	File  []float64 // MiB, RssFile

	// Load is the machine's 1-minute load average at the window's start and
	// end: other work on the machine skews CPU and timing figures.
	Load [2]float64

	Hung  []float64 // SIGSTOP → every survivor sees the victim down, seconds
	Crash []float64 // SIGKILL → the same

	Notes []string
}

// otherLabel is the bytes no port rule matched.
const otherLabel = "other"

// errTimeout: the nodes did not reach the awaited view in time.
var errTimeout = errors.New("timed out")

// measure runs sys with n nodes: builds the lab, starts every node at once,
// waits for convergence, lets the startup burst settle, measures the
// window, then the detection rounds, and tears everything down.
func measure(ctx context.Context, cfg config, sys system, n int) (res *result, err error) {
	res = &result{System: sys.Name(), N: n, Window: cfg.Window}
	tag := fmt.Sprintf("%s%d", strings.ToLower(sys.Name()), n)
	l, err := newLab(ctx, tag)
	defer func() {
		if cerr := l.close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("teardown: %w", cerr))
		}
	}()
	if err != nil {
		return nil, err
	}
	members := make([]*member, n)
	for i := range n {
		ns, err := l.addNode(ctx, i)
		if err != nil {
			return nil, err
		}
		m := &member{Index: i, Name: fmt.Sprintf("node%02d", i), NS: ns, IP: nodeIP(i),
			Dir: filepath.Join(cfg.WorkDir, tag, fmt.Sprintf("node%02d", i))}
		if err := os.MkdirAll(m.Dir, 0o755); err != nil {
			return nil, err
		}
		if err := installCounters(ctx, ns, sys.Ports()); err != nil {
			return nil, err
		}
		members[i] = m
	}
	if err := sys.Setup(ctx, filepath.Join(cfg.WorkDir, tag), members); err != nil {
		return nil, err
	}
	defer stopAll(members)

	cfg.Logf("%s N=%d: starting %d nodes", sys.Name(), n, n)
	start := time.Now()
	for _, m := range members {
		if err := m.start(sys); err != nil {
			return nil, err
		}
	}
	conv, err := waitSee(ctx, cfg, sys, members, members, members, stateUp, start, cfg.ConvergeTimeout)
	switch {
	case errors.Is(err, errTimeout):
		res.Converge = math.NaN()
		res.Notes = append(res.Notes, fmt.Sprintf("did not converge within %s: %v", cfg.ConvergeTimeout, err))
		cfg.Logf("%s N=%d: %v", sys.Name(), n, err)
	case err != nil:
		return nil, err
	default:
		res.Converge = conv
		cfg.Logf("%s N=%d: every node sees every node up after %.2f s", sys.Name(), n, conv)
	}

	if err := sleepCtx(ctx, cfg.Settle); err != nil {
		return nil, err
	}
	if err := measureWindow(ctx, cfg, sys, members, res); err != nil {
		return nil, err
	}
	if math.IsNaN(res.Converge) {
		res.Notes = append(res.Notes, "detection not measured: the network never converged")
		return res, nil
	}
	if err := measureDetection(ctx, cfg, sys, members, res); err != nil {
		return nil, err
	}
	return res, nil
}

// snapshot is one node's counters and CPU time at one moment.
type snapshot struct {
	at    time.Time
	c     counts
	ticks int64
	// payload and payloadAt: the application's counters and when they were
	// read (under load, a sweep over every node's iptables takes seconds,
	// so they get their own time); nil when the system has none.
	payload   map[string]int64
	payloadAt time.Time
}

func takeSnapshot(ctx context.Context, m *member) (snapshot, error) {
	c, err := readCounters(ctx, m.NS)
	if err != nil {
		return snapshot{}, err
	}
	t, err := cpuTicks(m.pid())
	if err != nil {
		return snapshot{}, fmt.Errorf("%s: %w", m.Name, err)
	}
	return snapshot{at: time.Now(), c: c, ticks: t}, nil
}

// takeSnapshots reads every member; payload counters too when sys has
// them and every member answers (otherwise none are kept).
func takeSnapshots(ctx context.Context, sys system, members []*member) ([]snapshot, error) {
	out := make([]snapshot, len(members))
	for i, m := range members {
		if m.exited() {
			return nil, fmt.Errorf("%s exited: %v; log:\n%s", m.Name, m.err, m.logTail())
		}
		s, err := takeSnapshot(ctx, m)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	pc, ok := sys.(payloadCounter)
	if !ok {
		return out, nil
	}
	for i, m := range members {
		p, err := pc.Payload(ctx, m)
		if err != nil {
			for k := range out {
				out[k].payload = nil
			}
			return out, nil
		}
		out[i].payload, out[i].payloadAt = p, time.Now()
	}
	return out, nil
}

// measureWindow reads every node's counters and CPU time, waits the
// window, reads them again and the memory, and fills res. Nothing polls
// the nodes during the window. With cfg.ProfileDir, node 0 of meshmon is
// profiled over the window.
func measureWindow(ctx context.Context, cfg config, sys system, members []*member, res *result) error {
	cfg.Logf("%s N=%d: measuring a %s window", sys.Name(), res.N, cfg.Window)
	res.Load[0] = loadAvg()
	s0, err := takeSnapshots(ctx, sys, members)
	if err != nil {
		return err
	}
	var prof sync.WaitGroup
	var profErr error
	if cfg.ProfileDir != "" && sys.Name() == "meshmon" {
		prof.Add(1)
		go func() {
			defer prof.Done()
			secs := int(cfg.Window.Seconds())
			profErr = fetchProfile(ctx, members[0], fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs),
				filepath.Join(cfg.ProfileDir, "cpu.pprof"), cfg.Window+time.Minute)
		}()
	}
	if err := sleepCtx(ctx, cfg.Window); err != nil {
		return err
	}
	s1, err := takeSnapshots(ctx, sys, members)
	if err != nil {
		return err
	}
	res.Load[1] = loadAvg()
	var tcpPorts []int
	for _, r := range sys.Ports() {
		if r.Proto == "tcp" {
			tcpPorts = append(tcpPorts, r.Port)
		}
	}
	res.Conns = map[string]float64{}
	for _, m := range members {
		conns, err := tcpEstablished(m.pid(), tcpPorts)
		if err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		for _, r := range sys.Ports() {
			if r.Proto == "tcp" {
				res.Conns[r.Label] += float64(conns[r.Port]) / float64(len(members))
			}
		}
		mem, err := readMemory(m.pid())
		if err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		res.RSS = append(res.RSS, mib(mem.RSS))
		res.Anon = append(res.Anon, mib(mem.Anon))
		res.File = append(res.File, mib(mem.File))
	}
	prof.Wait()
	if profErr != nil {
		return profErr
	}
	if cfg.ProfileDir != "" && sys.Name() == "meshmon" {
		for _, p := range []string{"heap", "goroutine"} {
			if err := fetchProfile(ctx, members[0], "/debug/pprof/"+p, filepath.Join(cfg.ProfileDir, p+".pprof"), time.Minute); err != nil {
				return err
			}
		}
		res.Notes = append(res.Notes, fmt.Sprintf("node00 was CPU-profiled during the window; profiles in %s", cfg.ProfileDir))
	}

	if pc, ok := sys.(payloadCounter); ok && s0[0].payload != nil && s1[0].payload != nil {
		res.PayloadLabels = pc.PayloadLabels()
		res.Payload = payloadRates(s0, s1, res.PayloadLabels)
	}
	res.ByPort = map[string]float64{}
	for _, r := range sys.Ports() {
		res.Ports = append(res.Ports, r.Label)
	}
	res.Ports = append(res.Ports, otherLabel)
	for i := range members {
		dt := s1[i].at.Sub(s0[i].at).Seconds()
		total := s1[i].c[totalLabel].Bytes - s0[i].c[totalLabel].Bytes
		res.Bytes = append(res.Bytes, float64(total)/dt)
		res.Packets = append(res.Packets, float64(s1[i].c[totalLabel].Packets-s0[i].c[totalLabel].Packets)/dt)
		res.CPU = append(res.CPU, 100*float64(s1[i].ticks-s0[i].ticks)/userHZ/dt)
		rest := total
		for _, r := range sys.Ports() {
			b := s1[i].c[r.Label].Bytes - s0[i].c[r.Label].Bytes
			rest -= b
			res.ByPort[r.Label] += float64(b) / dt / float64(len(members))
		}
		res.ByPort[otherLabel] += float64(rest) / dt / float64(len(members))
	}
	return nil
}

// payloadRates is the mean per-node rate, in bytes/s, of each payload
// counter between two snapshots, each node over its own payload reading
// times.
func payloadRates(s0, s1 []snapshot, labels []string) map[string]float64 {
	out := map[string]float64{}
	for i := range s0 {
		dt := s1[i].payloadAt.Sub(s0[i].payloadAt).Seconds()
		for _, l := range labels {
			out[l] += float64(s1[i].payload[l]-s0[i].payload[l]) / dt / float64(len(s0))
		}
	}
	return out
}

// measureDetection runs cfg.Rounds rounds: SIGSTOP a victim, time until
// every survivor sees it down, SIGCONT, wait for all up; SIGKILL it, time
// until every survivor sees it down, restart it, wait for all up. Victims
// rotate over nodes 1…N-1.
func measureDetection(ctx context.Context, cfg config, sys system, members []*member, res *result) error {
	n := len(members)
	for r := range cfg.Rounds {
		victim := members[1+(r*3)%(n-1)]
		others := make([]*member, 0, n-1)
		for _, m := range members {
			if m != victim {
				others = append(others, m)
			}
		}
		target := []*member{victim}

		t := time.Now()
		if err := victim.signal(syscall.SIGSTOP); err != nil {
			return err
		}
		d, err := waitSee(ctx, cfg, sys, members, others, target, stateDown, t, cfg.DetectTimeout)
		if err := victim.signal(syscall.SIGCONT); err != nil {
			return err
		}
		if res.Hung, err = appendDetection(res.Hung, d, err); err != nil {
			return err
		}
		cfg.Logf("%s N=%d round %d: hung %s seen down after %s", sys.Name(), n, r+1, victim.Name, secs(res.Hung[len(res.Hung)-1]))
		if ok, err := recovered(ctx, cfg, sys, members, res, r); !ok || err != nil {
			return err
		}

		t = time.Now()
		if err := victim.signal(syscall.SIGKILL); err != nil {
			return err
		}
		d, err = waitSee(ctx, cfg, sys, others, others, target, stateDown, t, cfg.DetectTimeout)
		if res.Crash, err = appendDetection(res.Crash, d, err); err != nil {
			return err
		}
		cfg.Logf("%s N=%d round %d: crashed %s seen down after %s", sys.Name(), n, r+1, victim.Name, secs(res.Crash[len(res.Crash)-1]))
		if err := victim.wait(10 * time.Second); err != nil {
			return err
		}
		if err := victim.start(sys); err != nil {
			return err
		}
		if ok, err := recovered(ctx, cfg, sys, members, res, r); !ok || err != nil {
			return err
		}
	}
	return nil
}

// appendDetection adds d (or NaN for a timeout) to xs; other errors end the
// measurement.
func appendDetection(xs []float64, d float64, err error) ([]float64, error) {
	switch {
	case errors.Is(err, errTimeout):
		return append(xs, math.NaN()), nil
	case err != nil:
		return xs, err
	}
	return append(xs, d), nil
}

// recovered waits until every node sees every node up again after a
// failure, then cfg.RoundSettle more, so that the next failure starts from
// a steady state (a victim that just came back may not yet have its
// connections back, which changes how a crash shows). If they do not
// recover, it notes why and tells the caller to stop the rounds.
func recovered(ctx context.Context, cfg config, sys system, members []*member, res *result, r int) (bool, error) {
	_, err := waitSee(ctx, cfg, sys, members, members, members, stateUp, time.Now(), cfg.RecoverTimeout)
	if errors.Is(err, errTimeout) {
		res.Notes = append(res.Notes, fmt.Sprintf("round %d: did not recover within %s, rounds stopped: %v", r+1, cfg.RecoverTimeout, err))
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, sleepCtx(ctx, cfg.RoundSettle)
}

// waitSee polls observers until each has seen every target in state want,
// and returns the seconds from since to the reply in which the last of them
// first did. Polls run cfg.PollParallel at a time, so the figure's
// resolution is one sweep (about cfg.PollInterval plus the replies). Every
// member of running must stay alive.
func waitSee(ctx context.Context, cfg config, sys system, running, observers, targets []*member, want state, since time.Time, timeout time.Duration) (float64, error) {
	deadline := time.Now().Add(timeout)
	pending := append([]*member(nil), observers...)
	var last time.Duration
	seen := make(map[string]string, len(observers)) // observer → what it last said, for the timeout error
	for {
		for _, m := range running {
			if m.exited() {
				return 0, fmt.Errorf("%s exited: %v; log:\n%s", m.Name, m.err, m.logTail())
			}
		}
		type reply struct {
			ok  bool
			at  time.Time
			say string
		}
		replies := make([]reply, len(pending))
		sem := make(chan struct{}, max(1, cfg.PollParallel))
		var wg sync.WaitGroup
		for k, m := range pending {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				st, err := sys.Statuses(ctx, m)
				rp := reply{at: time.Now()}
				if err != nil {
					rp.say = err.Error()
				} else {
					rp.ok, rp.say = judge(st, targets, want)
				}
				replies[k] = rp
			}()
		}
		wg.Wait()
		next := pending[:0]
		for k, m := range pending {
			if replies[k].ok {
				last = max(last, replies[k].at.Sub(since))
				delete(seen, m.Name)
				continue
			}
			seen[m.Name] = replies[k].say
			next = append(next, m)
		}
		pending = next
		if len(pending) == 0 {
			return last.Seconds(), nil
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for i, m := range pending {
				if i == 3 {
					fmt.Fprintf(&b, "; …")
					break
				}
				fmt.Fprintf(&b, "; %s: %s", m.Name, seen[m.Name])
			}
			return 0, fmt.Errorf("%w: %d of %d nodes do not see all of %d nodes %v%s", errTimeout, len(pending), len(observers), len(targets), want, b.String())
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if err := sleepCtx(ctx, cfg.PollInterval); err != nil {
			return 0, err
		}
	}
}

// judge tells whether every target is in state want in st, and if not
// says how many are not and how a few of them are seen.
func judge(st map[string]observed, targets []*member, want state) (bool, string) {
	var off []string
	for _, t := range targets {
		o, ok := st[t.Name]
		switch {
		case !ok:
			off = append(off, t.Name+"=absent")
		case o.State != want:
			off = append(off, t.Name+"="+o.Raw)
		}
	}
	if len(off) == 0 {
		return true, ""
	}
	n, more := len(off), ""
	if n > 4 {
		off, more = off[:4], ", …"
	}
	return false, fmt.Sprintf("%d not %v (%s%s)", n, want, strings.Join(off, ", "), more)
}

// stopAll stops every member's process at once, each with a 10 s grace.
func stopAll(members []*member) {
	var wg sync.WaitGroup
	for _, m := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.stop(10 * time.Second)
		}()
	}
	wg.Wait()
}

// fetchProfile GETs path from m's pprof listener (on m's loopback) into
// file.
func fetchProfile(ctx context.Context, m *member, path, file string, timeout time.Duration) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+pprofAddr+path, nil)
	if err != nil {
		return err
	}
	resp, err := nsClient(m.NS, timeout).Do(req)
	if err != nil {
		return fmt.Errorf("%s: pprof %s: %w", m.Name, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: pprof %s: %s", m.Name, path, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("%s: pprof %s: %w", m.Name, path, err)
	}
	return f.Close()
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// secs formats seconds, or "timeout" for NaN.
func secs(s float64) string {
	if math.IsNaN(s) {
		return "timeout"
	}
	return fmt.Sprintf("%.2f s", s)
}
