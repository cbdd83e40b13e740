package monitor

import (
	"fmt"
	"strings"
	"time"
)

// Evidence says what each live vantage point saw, e.g. "down from 3/4
// vantage points: a timeout after 5s, b HTTP 503, c connection refused".
func Evidence(m View) string {
	v := m.Verdict
	var parts []string
	for _, x := range m.Vantages {
		if !x.Live || !x.Has {
			continue
		}
		switch {
		case v.Status == StatusDown && x.State == StateDown,
			v.Status == StatusWarning && x.State == StateWarn:
			parts = append(parts, strings.TrimSpace(x.Node+" "+x.Reason))
		case v.Status == StatusUp || v.Status == StatusWarning:
			if x.Latency > 0 {
				parts = append(parts, fmt.Sprintf("%s %s", x.Node, latencyString(x.Latency)))
			} else {
				parts = append(parts, x.Node+" "+string(x.State))
			}
		}
	}
	var n int
	var what string
	switch v.Status {
	case StatusDown:
		n, what = len(v.Failing), "down"
	case StatusWarning:
		n, what = len(v.Warning), "warning"
	default:
		n, what = v.Live-len(v.Failing), "up"
	}
	return fmt.Sprintf("%s from %d/%d vantage points: %s", what, n, v.Live, strings.Join(parts, ", "))
}

// latencyString renders a latency in milliseconds with one decimal.
func latencyString(d time.Duration) string {
	return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)), ".0") + " ms"
}
