//go:build linux

package main

import (
	"reflect"
	"testing"
	"time"
)

// TestPayloadRatesUseTheirOwnTimes: payload counters are read after the
// iptables sweep, which takes seconds under load, so their rate is over
// their own reading times, not the wire counters'.
func TestPayloadRatesUseTheirOwnTimes(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)
	s0 := []snapshot{
		{at: t0, payloadAt: t0.Add(5 * time.Second), payload: map[string]int64{"g": 1000}},
		{at: t0, payloadAt: t0.Add(1 * time.Second), payload: map[string]int64{"g": 0}},
	}
	s1 := []snapshot{
		// Wire counters read 60 s later, payload 20 s after that: 80 s of payload.
		{at: t0.Add(60 * time.Second), payloadAt: t0.Add(85 * time.Second), payload: map[string]int64{"g": 1000 + 8000}},
		{at: t0.Add(60 * time.Second), payloadAt: t0.Add(61 * time.Second), payload: map[string]int64{"g": 6000}},
	}
	got := payloadRates(s0, s1, []string{"g"})
	want := map[string]float64{"g": (100 + 100) / 2}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("payloadRates = %v; want %v", got, want)
	}
}

func TestJudge(t *testing.T) {
	var targets []*member
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		targets = append(targets, &member{Name: n})
	}
	up := observed{State: stateUp, Raw: "online"}
	all := map[string]observed{"a": up, "b": up, "c": up, "d": up, "e": up, "f": up}
	tests := []struct {
		name   string
		st     map[string]observed
		ok     bool
		report string
	}{
		{"all up", all, true, ""},
		{"one degraded", map[string]observed{"a": up, "b": {stateOther, "degraded"}, "c": up, "d": up, "e": up, "f": up}, false, "1 not up (b=degraded)"},
		{"none known", map[string]observed{}, false, "6 not up (a=absent, b=absent, c=absent, d=absent, …)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, report := judge(tt.st, targets, stateUp)
			if ok != tt.ok || report != tt.report {
				t.Fatalf("judge = %v, %q; want %v, %q", ok, report, tt.ok, tt.report)
			}
		})
	}
}
