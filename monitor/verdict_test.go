package monitor

import (
	"reflect"
	"testing"
)

func vantages(states ...string) []Vantage {
	var out []Vantage
	for i, s := range states {
		v := Vantage{Node: string(rune('a' + i)), Live: true, Has: true}
		switch s {
		case "up":
			v.State = StateUp
		case "warn":
			v.State = StateWarn
		case "down":
			v.State = StateDown
		case "none": // live, no result yet
			v.Has = false
		case "gone-down": // not live: its stale down does not count
			v.Live, v.State = false, StateDown
		}
		out = append(out, v)
	}
	return out
}

func TestAgree(t *testing.T) {
	tests := []struct {
		name   string
		states []string
		want   Verdict
	}{
		{"nobody", nil, Verdict{Status: StatusUnknown}},
		{"no results yet", []string{"none", "none"}, Verdict{Status: StatusUnknown}},
		{"all up", []string{"up", "up", "up"}, Verdict{Status: StatusUp, Live: 3}},
		{"one of one down is one word", []string{"down"}, Verdict{Status: StatusDegraded, Live: 1, Failing: []string{"a"}}},
		{"one of two down", []string{"down", "up"}, Verdict{Status: StatusDegraded, Live: 2, Failing: []string{"a"}}},
		{"two of two down", []string{"down", "down"}, Verdict{Status: StatusDown, Live: 2, Failing: []string{"a", "b"}, Agreed: true}},
		{"two of four is no majority", []string{"down", "up", "down", "up"},
			Verdict{Status: StatusDegraded, Live: 4, Failing: []string{"a", "c"}}},
		{"three of four", []string{"down", "down", "up", "down"},
			Verdict{Status: StatusDown, Live: 4, Failing: []string{"a", "b", "d"}, Agreed: true}},
		{"a stale down of a member that is not live does not count", []string{"gone-down", "down", "up"},
			Verdict{Status: StatusDegraded, Live: 2, Failing: []string{"b"}}},
		{"members without results do not count", []string{"down", "down", "none", "none", "none"},
			Verdict{Status: StatusDown, Live: 2, Failing: []string{"a", "b"}, Agreed: true}},
		{"one warning is not agreed", []string{"warn", "up", "up"}, Verdict{Status: StatusWarning, Live: 3, Warning: []string{"a"}}},
		{"a majority warns", []string{"warn", "warn", "up"},
			Verdict{Status: StatusWarning, Live: 3, Warning: []string{"a", "b"}, Agreed: true}},
		{"failing outranks warning", []string{"warn", "warn", "down"},
			Verdict{Status: StatusDegraded, Live: 3, Failing: []string{"c"}, Warning: []string{"a", "b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Agree(vantages(tt.states...)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Agree(%v) = %+v, want %+v", tt.states, got, tt.want)
			}
		})
	}
}
