package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
)

func TestJSONPayload(t *testing.T) {
	since := t0.Add(-90 * time.Second)
	on := alertAt("db-1", KindOnline, t0)
	on.From, on.Since, on.Until, on.Agreeing, on.Live, on.LastRTT = health.StatusOffline, since, t0, 4, 5, 2500*time.Microsecond
	payloads, err := JSONFormatter{SentBy: "web-1", Version: "1.2.3"}.Format([]Alert{on})
	if err != nil || len(payloads) != 1 {
		t.Fatalf("Format = %v, %v; want one payload", payloads, err)
	}
	var got map[string]any
	if err := json.Unmarshal(payloads[0].Body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"text":   "db-1 is back online (network net, agreed by 4 of 5 observers, was offline for 1m 30s)",
		"schema": 1.0, "source": "meshmon", "meshmon_version": "1.2.3", "sent_by": "web-1", "network": "net",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("payload[%q] = %v; want %v", k, got[k], v)
		}
	}
	alerts, _ := got["alerts"].([]any)
	if len(alerts) != 1 {
		t.Fatalf("alerts = %v; want one", got["alerts"])
	}
	a := alerts[0].(map[string]any)
	wantAlert := map[string]any{
		"id": on.ID, "node": "db-1", "kind": "online", "from": "offline", "title": "db-1 is back online",
		"at": t0.Format(time.RFC3339), "since": since.Format(time.RFC3339), "until": t0.Format(time.RFC3339),
		"duration_seconds": 90.0, "agreeing": 4.0, "observers": 5.0, "suspecting": 0.0, "last_rtt_ms": 2.5,
	}
	for k, v := range wantAlert {
		if a[k] != v {
			t.Errorf("alert[%q] = %v; want %v", k, a[k], v)
		}
	}
	// Zero times are left out rather than sent as year 1.
	off := alertAt("db-2", KindOffline, t0)
	p := JSONFormatter{}.Payloads([]Alert{off})
	b, _ := json.Marshal(p[0])
	if strings.Contains(string(b), "until") || strings.Contains(string(b), "0001-") {
		t.Errorf("payload has a zero time: %s", b)
	}
}

func TestJSONPayloadGrouping(t *testing.T) {
	alerts := manyAlerts(JSONMaxAlerts+3, "net", func(i int) string { return fmt.Sprintf("n%d", i) })
	payloads, err := JSONFormatter{}.Format(alerts)
	if err != nil || len(payloads) != 2 {
		t.Fatalf("Format = %d payloads, %v; want 2", len(payloads), err)
	}
	if len(payloads[0].AlertIDs) != JSONMaxAlerts || len(payloads[1].AlertIDs) != 3 {
		t.Errorf("payload sizes = %d, %d; want %d, 3", len(payloads[0].AlertIDs), len(payloads[1].AlertIDs), JSONMaxAlerts)
	}
}
