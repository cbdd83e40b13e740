package monitor

import (
	"time"
)

// Snapshot is the monitors of a network as this node sees them. It is
// immutable.
type Snapshot struct {
	// Network is the network_id.
	Network string `json:"network"`
	// UpdatedAt is when it was computed.
	UpdatedAt time.Time `json:"updated_at"`
	// Monitors are in config order.
	Monitors []View `json:"monitors"`
}

// Monitor returns the view of the monitor called name.
func (s *Snapshot) Monitor(name string) (View, bool) {
	for _, m := range s.Monitors {
		if m.Name == name {
			return m, true
		}
	}
	return View{}, false
}

// View is one monitor with its verdict and the evidence of each vantage
// point.
type View struct {
	Name     string        `json:"name"`
	Type     string        `json:"type"`
	Target   string        `json:"target"`
	Group    string        `json:"group"`
	Interval time.Duration `json:"interval_ns"`
	// Verdict is the agreed verdict.
	Verdict Verdict `json:"verdict"`
	// Since is when Verdict.Status began, on this node's clock.
	Since time.Time `json:"since"`
	// Vantages has one entry per member that runs the monitor, in config
	// order.
	Vantages []Vantage `json:"vantages"`
}
