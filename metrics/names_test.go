package metrics

import (
	"testing"

	dto "github.com/prometheus/client_model/go"
)

func TestConventionalName(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  dto.MetricType
		want string
	}{
		{"libp2p_eventbus_subscriber_event_queued", dto.MetricType_COUNTER, "libp2p_eventbus_subscriber_event_queued_total"},
		{"libp2p_eventbus_subscribers_total", dto.MetricType_GAUGE, "libp2p_eventbus_subscribers"},
		{"libp2p_identify_addrs_count", dto.MetricType_GAUGE, "libp2p_identify_addrs"},
		{"libp2p_x_sum", dto.MetricType_UNTYPED, "libp2p_x"},
		{"libp2p_conns_total", dto.MetricType_COUNTER, "libp2p_conns_total"},
		{"libp2p_latency_seconds", dto.MetricType_HISTOGRAM, "libp2p_latency_seconds"},
		{"meshmon_weird_count", dto.MetricType_GAUGE, "meshmon_weird_count"},
		{"_total", dto.MetricType_GAUGE, "_total"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := conventionalName(tc.name, tc.typ); got != tc.want {
				t.Errorf("conventionalName(%q, %v) = %q; want %q", tc.name, tc.typ, got, tc.want)
			}
		})
	}
}
