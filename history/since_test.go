package history

import "testing"

func TestCurrentOf(t *testing.T) {
	base := func(m float64, s string) Change { c := ch(2, m, s); c.From = s; return c }
	tests := []struct {
		name    string
		changes []Change
		want    Current
		ok      bool
	}{
		{"nothing this session", []Change{ch(1, 0, "offline")}, Current{}, false},
		{"offline since the transition", []Change{ch(2, 0, "online"), ch(2, 5, "offline")},
			Current{Status: "offline", Since: tm(5)}, true},
		{"repeated status keeps the first time", []Change{ch(2, 0, "online"), ch(2, 5, "offline"), ch(2, 7, "offline")},
			Current{Status: "offline", Since: tm(5)}, true},
		{"baseline at session start", []Change{ch(1, 0, "offline"), base(3, "offline")},
			Current{Status: "offline", Since: tm(3), SinceStart: true}, true},
		{"changed after the baseline", []Change{base(3, "online"), ch(2, 4, "offline")},
			Current{Status: "offline", Since: tm(4)}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := CurrentOf(tc.changes, 2)
			if got != tc.want || ok != tc.ok {
				t.Errorf("CurrentOf = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
