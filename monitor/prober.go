package monitor

import (
	"context"
	"hash/fnv"
	"time"
)

type prober struct {
	hash   uint32
	cancel context.CancelFunc
	done   chan struct{}
}

func (st *state) startProber(d Definition) {
	if st.ctx == nil {
		return
	}
	ctx, cancel := context.WithCancel(st.ctx)
	p := &prober{hash: d.Hash, cancel: cancel, done: make(chan struct{})}
	st.probers[d.Name] = p
	go func() {
		defer close(p.done)
		st.s.probeLoop(ctx, d)
	}()
}

// stopProber cancels a prober without waiting: a probe under way may take
// up to its timeout, and the owner must not stall on it.
func (st *state) stopProber(name string) {
	if p, ok := st.probers[name]; ok {
		p.cancel()
		st.stopped = append(st.stopped, p)
		delete(st.probers, name)
	}
}

// stopProbers cancels every prober and waits for all to return.
func (st *state) stopProbers() {
	for name := range st.probers {
		st.stopProber(name)
	}
	for _, p := range st.stopped {
		<-p.done
	}
	st.stopped = nil
}

// firstProbeWithin bounds the delay of a monitor's first probe; the delay
// spreads the monitors of one node and the members of one monitor.
const firstProbeWithin = 5 * time.Second

// phase is the delay of a monitor's first probe on this node.
func (s *Service) phase(d Definition) time.Duration {
	h := fnv.New32a()
	h.Write([]byte(s.cfg.Self + "\x00" + d.Name))
	span := min(d.Interval, firstProbeWithin)
	if span <= 0 {
		return 0
	}
	return time.Duration(h.Sum32()) % span
}

// probeLoop probes d until ctx ends and hands each outcome to the owner.
func (s *Service) probeLoop(ctx context.Context, d Definition) {
	var sk streak
	t := time.NewTimer(s.phase(d))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// The probe bounds itself by the timeout; the slack only guards a
		// probe that does not.
		pctx, cancel := context.WithTimeout(ctx, d.Timeout+time.Second)
		r := d.Probe(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		s.Probes.Add(1)
		if s.cfg.OnProbe != nil {
			s.cfg.OnProbe(d.Name, r)
		}
		rep, changed, wait := sk.next(r, d.Retry, d.Interval)
		if rep.State == r.State {
			// Not a failure being retried: report it (a change, or a
			// fresh latency of the same state).
			at := s.cfg.Now()
			select {
			case s.inbox <- func(st *state) { st.probed(d.Name, d.Hash, rep, changed, at) }:
			case <-ctx.Done():
				return
			}
		}
		t.Reset(wait)
	}
}

// probed takes in this node's reported result of a monitor.
func (st *state) probed(name string, hash uint32, r Result, changed bool, at time.Time) {
	if d, ok := st.def(name); !ok || d.Hash != hash || d.Probe == nil || r.State == "" {
		return // a prober stopped by a reload, or nothing to report yet
	}
	o, had := st.own[name]
	if changed || !had {
		o.since = at
		st.publishDue = true
	}
	o.Result, o.at = r, at
	st.own[name] = o
	st.dirty = true
}
