package monitor

import (
	"time"

	"github.com/meshmon/meshmon/p2p/pb"
)

// report takes in a member's report: it replaces everything held of it.
func (st *state) report(from string, r *pb.MonitorReport, sent time.Time) {
	if from == st.s.cfg.Self {
		return
	}
	st.raw[from] = rawReport{r: r, sent: sent}
	st.take(from, r, sent, true)
}

// rawReport is a member's latest report as it arrived.
type rawReport struct {
	r    *pb.MonitorReport
	sent time.Time
}

// retake takes in every member's latest report again, after this node's
// definitions changed: members whose config.yml changed first (git sync
// reaches members at different times) publish only on change or refresh,
// and their results must count as soon as this node's definitions match.
func (st *state) retake() {
	for from, raw := range st.raw {
		st.take(from, raw.r, raw.sent, false)
	}
}

// take replaces what is held of a member with its report's results of the
// monitors this node defines alike; count counts those it ignores.
func (st *state) take(from string, r *pb.MonitorReport, sent time.Time, count bool) {
	held := make(map[string]Vantage, len(r.GetResults()))
	for _, res := range r.GetResults() {
		d, ok := st.def(res.GetName())
		switch {
		case !ok:
			if count {
				st.s.Unknown.Add(1)
			}
			continue
		case d.Hash != res.GetConfigHash():
			if count {
				st.s.Mismatched.Add(1)
			}
			continue
		}
		held[d.Name] = Vantage{
			Node:    from,
			Has:     true,
			State:   stateOf(res.GetState()),
			Latency: time.Duration(res.GetLatencyUs()) * time.Microsecond,
			Reason:  res.GetReason(),
			At:      sent.Add(-time.Duration(res.GetAgeMs()) * time.Millisecond),
			Since:   sent.Add(-time.Duration(res.GetSinceMs()) * time.Millisecond),
		}
	}
	st.peers[from] = held
	st.dirty = true
}

// publish hands this node's report to Publish.
func (st *state) publish() {
	if st.s.cfg.Publish == nil || st.ctx == nil {
		return
	}
	now := st.s.cfg.Now()
	r := &pb.MonitorReport{}
	for _, d := range st.defs {
		o, ok := st.own[d.Name]
		if !ok {
			continue
		}
		r.Results = append(r.Results, &pb.MonitorResult{
			Name:       d.Name,
			ConfigHash: d.Hash,
			State:      wireState(o.State),
			LatencyUs:  clampU32(o.Latency / time.Microsecond),
			Reason:     o.Reason,
			AgeMs:      clampU32(now.Sub(o.at) / time.Millisecond),
			SinceMs:    clampU32(now.Sub(o.since) / time.Millisecond),
		})
	}
	if len(r.Results) == 0 && !st.sentAny {
		return
	}
	st.sentAny = len(r.Results) > 0
	st.s.cfg.Publish(r)
	st.s.Published.Add(1)
}

func clampU32(d time.Duration) uint32 {
	return uint32(min(max(int64(d), 0), int64(^uint32(0))))
}

func wireState(s State) pb.MonitorState {
	switch s {
	case StateUp:
		return pb.MonitorState_MONITOR_STATE_UP
	case StateWarn:
		return pb.MonitorState_MONITOR_STATE_WARN
	}
	return pb.MonitorState_MONITOR_STATE_DOWN
}

func stateOf(s pb.MonitorState) State {
	switch s {
	case pb.MonitorState_MONITOR_STATE_UP:
		return StateUp
	case pb.MonitorState_MONITOR_STATE_WARN:
		return StateWarn
	}
	return StateDown
}
