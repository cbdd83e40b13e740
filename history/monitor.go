package history

import (
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/meshmon/meshmon/monitor"
)

// Subject kinds of monitors: a monitor's agreed verdict ("monitor", Node is
// the monitor's name) and one vantage point's latency of it ("vantage",
// Node is the monitor, Peer the member that probed it). Their records sit
// beside the nodes' and links' in the same buckets and under the same
// retention; Store.Subjects does not list them.
const (
	KindMonitor = "monitor"
	KindVantage = "vantage"
)

// MonitorSubject is the agreed verdict of monitor name in network.
func MonitorSubject(network, name string) Subject {
	return Subject{Network: network, Kind: KindMonitor, Node: name}
}

// VantageSubject is member node's latency of monitor name in network.
func VantageSubject(network, name, node string) Subject {
	return Subject{Network: network, Kind: KindVantage, Node: name, Peer: node}
}

// MonitorChange is one change of a monitor's agreed verdict, as this node
// saw it (or the verdict this node found at the start of a session).
type MonitorChange struct {
	Network string `json:"network"`
	Monitor string `json:"monitor"`
	// Session is the run of this node that saw the change (Session.ID).
	Session uint64    `json:"session"`
	Time    time.Time `json:"time"`
	// From and To are verdicts: unknown, up, warning, degraded or down.
	From string `json:"from"`
	To   string `json:"to"`
	// Live is how many live vantage points with a result the verdict
	// rests on; Failing and Warning name those that saw it down, and warn.
	Live    int      `json:"live"`
	Failing []string `json:"failing,omitempty"`
	Warning []string `json:"warning,omitempty"`
}

// change is mc as a Change, for Compute.
func (mc MonitorChange) change() Change {
	return Change{Subject: MonitorSubject(mc.Network, mc.Monitor), Session: mc.Session, Time: mc.Time,
		From: mc.From, To: mc.To, LiveObservers: mc.Live, Confirmed: mc.To != string(monitor.StatusDegraded)}
}

// ClassifyMonitor maps a monitor's agreed verdict to its uptime state: down
// is an outage; degraded (a minority fails) counts as up but is its own
// state, so its time is listed apart (DegradedMs); warning counts as up
// (its segments keep the status); unknown is no data.
func ClassifyMonitor(status string) State {
	switch monitor.Status(status) {
	case monitor.StatusUp, monitor.StatusWarning:
		return StateUp
	case monitor.StatusDegraded:
		return StateDegraded
	case monitor.StatusDown:
		return StateDown
	}
	return StateNoData
}

// MonitorUptime computes a monitor's uptime over [from, to) from this
// node's sessions and the monitor's recorded verdict changes. It is pure:
// Compute's rules with ClassifyMonitor.
func MonitorUptime(sessions []Session, changes []MonitorChange, from, to time.Time) Uptime {
	cs := make([]Change, len(changes))
	for i, mc := range changes {
		cs[i] = mc.change()
	}
	return Compute(sessions, cs, from, to, ClassifyMonitor)
}

// MonitorChanges returns the monitor's verdict changes in the order they
// were recorded.
func (s *Store) MonitorChanges(network, name string) ([]MonitorChange, error) {
	var out []MonitorChange
	err := s.db.View(func(tx *bolt.Tx) error {
		b := readSubject(tx, bucketChanges, MonitorSubject(network, name))
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var c MonitorChange
			if json.Unmarshal(v, &c) == nil {
				out = append(out, c)
			}
			return nil
		})
	})
	return out, wrap("monitor changes", err)
}

// MonitorUptime computes the monitor's uptime over [from, to) from the
// store, with its recorded changes.
func (r *Recorder) MonitorUptime(network, name string, from, to time.Time) (Uptime, []MonitorChange, error) {
	store := r.Store()
	if store == nil {
		return MonitorUptime(nil, nil, from, to), nil, nil
	}
	ss, err := r.Sessions()
	if err != nil {
		return Uptime{}, nil, err
	}
	cs, err := store.MonitorChanges(network, name)
	if err != nil {
		return Uptime{}, nil, err
	}
	return MonitorUptime(ss, cs, from, to), cs, nil
}
