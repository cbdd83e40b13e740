//go:build linux

package main

import (
	"math"
	"strings"
	"testing"
)

func TestFmtInt(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999.4: "999", 1000: "1,000", 47870.2: "47,870", 1234567: "1,234,567", -1500: "-1,500"} {
		if got := fmtInt(in); got != want {
			t.Errorf("fmtInt(%v) = %q; want %q", in, got, want)
		}
	}
}

func TestMedian(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"odd", []float64{3, 1, 2}, 2},
		{"even", []float64{4, 1, 3, 2}, 2.5},
		{"a timeout counts as the longest", []float64{1, nan, 2}, 2},
		{"mostly timeouts", []float64{nan, 1, nan}, nan},
		{"none", nil, nan},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := median(tt.in)
			if got != tt.want && !(math.IsNaN(got) && math.IsNaN(tt.want)) {
				t.Fatalf("median(%v) = %v; want %v", tt.in, got, tt.want)
			}
		})
	}
}

// TestRenderTable checks the ratio and growth columns on made-up figures.
func TestRenderTable(t *testing.T) {
	mk := func(sys string, n int, bytes, conv float64) *result {
		return &result{System: sys, N: n, Bytes: []float64{bytes, bytes}, Packets: []float64{2, 2},
			Converge: conv, Hung: []float64{1, 2, 3}}
	}
	results := []*result{
		mk("Serf", 10, 300, 2), mk("meshmon", 10, 12000, 1),
		mk("Serf", 30, 330, 5), mk("meshmon", 30, 48000, math.NaN()),
	}
	got := renderTable(results, []string{"Serf", "meshmon"}, []int{10, 30})
	lines := strings.Split(strings.TrimSpace(got), "\n")
	wantHead := "|  | Serf N=10 | meshmon N=10 | meshmon/Serf N=10 | Serf N=30 | meshmon N=30 | meshmon/Serf N=30 | Serf N=30/N=10 | meshmon N=30/N=10 |"
	if lines[0] != wantHead {
		t.Fatalf("head = %q; want %q", lines[0], wantHead)
	}
	for _, want := range []string{
		"| IP bytes sent per node (B/s, mean) | 300 | 12,000 | 40.00× | 330 | 48,000 | 145.45× | 1.10× | 4.00× |",
		"| all see all up after start (s) | 2.00 | 1.00 | 0.50× | 5.00 | — | — | 2.50× | — |",
		"| hung (SIGSTOP) → all survivors see down (s, median) | 2.00 | 2.00 | 1.00× | 2.00 | 2.00 | 1.00× | 1.00× | 1.00× |",
		"| CPU per node (% of one core, mean) | — | — | — | — | — | — | — | — |",
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("table lacks line\n%s\nin\n%s", want, got)
		}
	}
	// One system, one N: no ratio or growth column.
	one := renderTable(results[:1], []string{"Serf"}, []int{10})
	if h := strings.SplitN(one, "\n", 2)[0]; h != "|  | Serf N=10 |" {
		t.Fatalf("one-column head = %q", h)
	}
}
