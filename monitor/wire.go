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
	held := make(map[string]Vantage, len(r.GetResults()))
	for _, res := range r.GetResults() {
		d, ok := st.def(res.GetName())
		switch {
		case !ok:
			st.s.Unknown.Add(1)
			continue
		case d.Hash != res.GetConfigHash():
			st.s.Mismatched.Add(1)
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
