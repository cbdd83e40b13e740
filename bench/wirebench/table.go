//go:build linux

package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// row is one line of the comparison table: a figure read from a result.
type row struct {
	label  string
	value  func(*result) float64 // NaN when not measured
	format func(float64) string
}

// tableRows are the figures of the comparison table, in order.
func tableRows() []row {
	return []row{
		{"IP bytes sent per node (B/s, mean)", func(r *result) float64 { return mean(r.Bytes) }, fmtInt},
		{"IP packets sent per node (/s, mean)", func(r *result) float64 { return mean(r.Packets) }, fmt1},
		{"bytes per packet", func(r *result) float64 { return mean(r.Bytes) / mean(r.Packets) }, fmtInt},
		{"CPU per node (% of one core, mean)", func(r *result) float64 { return mean(r.CPU) }, fmt2},
		{"RSS per node (MiB, mean)", func(r *result) float64 { return mean(r.RSS) }, fmt1},
		{"… anonymous: heap, stacks (MiB)", func(r *result) float64 { return mean(r.Anon) }, fmt1},
		{"… file-backed: binary, libs (MiB)", func(r *result) float64 { return mean(r.File) }, fmt1},
		{"all see all up after start (s)", func(r *result) float64 { return r.Converge }, fmt2},
		{"hung (SIGSTOP) → all survivors see down (s, median)", func(r *result) float64 { return median(r.Hung) }, fmt2},
		{"crash (SIGKILL) → all survivors see down (s, median)", func(r *result) float64 { return median(r.Crash) }, fmt2},
	}
}

// renderTable prints the comparison as a markdown table: for each N, each
// system's figure and the ratio of the last system to the first (meshmon /
// Serf), then each system's growth from the smallest to the largest N.
// A missing result or figure shows as "—".
func renderTable(results []*result, systems []string, ns []int) string {
	get := func(sys string, n int) *result {
		for _, r := range results {
			if r.System == sys && r.N == n {
				return r
			}
		}
		return nil
	}
	ratio := len(systems) == 2
	growth := len(ns) >= 2
	var head []string
	head = append(head, "")
	for _, n := range ns {
		for _, s := range systems {
			head = append(head, fmt.Sprintf("%s N=%d", s, n))
		}
		if ratio {
			head = append(head, fmt.Sprintf("%s/%s N=%d", systems[1], systems[0], n))
		}
	}
	if growth {
		for _, s := range systems {
			head = append(head, fmt.Sprintf("%s N=%d/N=%d", s, ns[len(ns)-1], ns[0]))
		}
	}
	var b strings.Builder
	line := func(cells []string) { fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | ")) }
	line(head)
	sep := make([]string, len(head))
	for i := range sep {
		sep[i] = "---"
	}
	line(sep)
	val := func(rw row, sys string, n int) float64 {
		r := get(sys, n)
		if r == nil {
			return math.NaN()
		}
		return rw.value(r)
	}
	for _, rw := range tableRows() {
		cells := []string{rw.label}
		for _, n := range ns {
			for _, s := range systems {
				cells = append(cells, orDash(val(rw, s, n), rw.format))
			}
			if ratio {
				cells = append(cells, orDash(val(rw, systems[1], n)/val(rw, systems[0], n), fmtRatio))
			}
		}
		if growth {
			for _, s := range systems {
				cells = append(cells, orDash(val(rw, s, ns[len(ns)-1])/val(rw, s, ns[0]), fmtRatio))
			}
		}
		line(cells)
	}
	return b.String()
}

// renderDetails prints, per result, the spread behind the table's means
// and medians, the bytes by protocol, every detection round and the notes.
func renderDetails(results []*result) string {
	var b strings.Builder
	for _, r := range results {
		fmt.Fprintf(&b, "%s N=%d (window %s):\n", r.System, r.N, r.Window)
		fmt.Fprintf(&b, "  machine load average (1 min): %.2f at the window's start, %.2f at its end\n", r.Load[0], r.Load[1])
		fmt.Fprintf(&b, "  bytes/s per node  min %s  median %s  max %s\n", fmtInt(minOf(r.Bytes)), fmtInt(median(r.Bytes)), fmtInt(maxOf(r.Bytes)))
		fmt.Fprintf(&b, "  CPU %% per node    min %.2f  median %.2f  max %.2f\n", minOf(r.CPU), median(r.CPU), maxOf(r.CPU))
		fmt.Fprintf(&b, "  RSS MiB per node  min %.1f  median %.1f  max %.1f\n", minOf(r.RSS), median(r.RSS), maxOf(r.RSS))
		total := mean(r.Bytes)
		for _, p := range r.Ports {
			v := r.ByPort[p]
			share := 0.0
			if total > 0 {
				share = 100 * v / total
			}
			fmt.Fprintf(&b, "  %-22s %9s B/s per node  %5.1f %%\n", p, fmtInt(v), share)
		}
		for _, l := range r.PayloadLabels {
			fmt.Fprintf(&b, "  payload %-22s %9s B/s per node (before encryption, framing, TCP/IP)\n", l, fmtInt(r.Payload[l]))
		}
		for _, p := range r.Ports {
			if c, ok := r.Conns[p]; ok {
				fmt.Fprintf(&b, "  established TCP connections on %s: %.1f per node\n", p, c)
			}
		}
		fmt.Fprintf(&b, "  hung rounds (s):  %s\n", list(r.Hung))
		fmt.Fprintf(&b, "  crash rounds (s): %s\n", list(r.Crash))
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "  note: %s\n", n)
		}
	}
	return b.String()
}

func list(xs []float64) string {
	if len(xs) == 0 {
		return "—"
	}
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = orDash(x, fmt2)
		if math.IsNaN(x) {
			s[i] = "timeout"
		}
	}
	return strings.Join(s, ", ")
}

// mean of xs; NaN for none.
func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// median of xs; NaN for none. A NaN (a timeout) sorts above every
// figure: it took longer than any.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.SortFunc(s, func(a, b float64) int {
		switch {
		case math.IsNaN(a) && math.IsNaN(b):
			return 0
		case math.IsNaN(a):
			return 1
		case math.IsNaN(b):
			return -1
		}
		if a < b {
			return -1
		}
		if a > b {
			return 1
		}
		return 0
	})
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minOf(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return slices.Min(xs)
}

func maxOf(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return slices.Max(xs)
}

func orDash(v float64, f func(float64) string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return f(v)
}

func fmt1(v float64) string     { return fmt.Sprintf("%.1f", v) }
func fmt2(v float64) string     { return fmt.Sprintf("%.2f", v) }
func fmtRatio(v float64) string { return fmt.Sprintf("%.2f×", v) }

// fmtInt rounds v and groups its digits by thousands: 47870 → "47,870".
func fmtInt(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	n := int64(math.Round(v))
	neg := n < 0
	if neg {
		n = -n
	}
	s := fmt.Sprint(n)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
