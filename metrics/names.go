package metrics

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// conventionalNames is a Gatherer that renames the few third-party families
// (libp2p's) whose names break Prometheus' naming conventions, so that
// `promtool check metrics` on /metrics is clean:
//
//   - a counter without the _total suffix gets it
//     (libp2p_eventbus_subscriber_event_queued → …_queued_total);
//   - a non-counter ending in _total loses it
//     (libp2p_eventbus_subscribers_total → libp2p_eventbus_subscribers);
//   - a gauge or untyped family ending in _count, _sum or _bucket loses it
//     (libp2p_identify_addrs_count → libp2p_identify_addrs).
//
// meshmon_ families are never touched (they follow the conventions), and a
// rename that would collide with an existing family is skipped.
type conventionalNames struct {
	g prometheus.Gatherer
}

// Gather implements prometheus.Gatherer.
func (c conventionalNames) Gather() ([]*dto.MetricFamily, error) {
	mfs, err := c.g.Gather()
	names := make(map[string]bool, len(mfs))
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for i, mf := range mfs {
		to := conventionalName(mf.GetName(), mf.GetType())
		if to == mf.GetName() || names[to] {
			continue
		}
		names[to] = true
		cp := proto.CloneOf(mf)
		cp.Name = proto.String(to)
		mfs[i] = cp
	}
	return mfs, err
}

// conventionalName is the name conventionalNames serves for a family named
// name of type t: name itself unless it is a third-party name that breaks a
// suffix convention (see docs/metrics.md).
func conventionalName(name string, t dto.MetricType) string {
	if strings.HasPrefix(name, "meshmon_") {
		return name
	}
	switch t {
	case dto.MetricType_COUNTER:
		if !strings.HasSuffix(name, "_total") {
			return name + "_total"
		}
	case dto.MetricType_GAUGE, dto.MetricType_UNTYPED:
		for _, suffix := range []string{"_total", "_count", "_sum", "_bucket"} {
			if s, ok := strings.CutSuffix(name, suffix); ok && s != "" {
				return s
			}
		}
	}
	return name
}
