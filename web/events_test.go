package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/meshmon/meshmon/health"
)

func getEvents(t *testing.T, base, query string) (EventPage, int) {
	t.Helper()
	resp := get(t, base+"/api/events"+query, nil)
	defer resp.Body.Close()
	var page EventPage
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
			t.Fatalf("decode: %v", err)
		}
	}
	return page, resp.StatusCode
}

// TestEventsPagination walks every page and sees every matching event once,
// newest first.
func TestEventsPagination(t *testing.T) {
	f := newFixture(t)
	srv := serve(t, f.full())
	for _, tc := range []struct {
		name   string
		filter string
		keep   func(health.Event) bool
	}{
		{"all", "", func(health.Event) bool { return true }},
		{"one network", "&network=prod", func(e health.Event) bool { return e.Network == "prod" }},
		{"one severity", "&severity=warning", func(e health.Event) bool { return e.Severity == health.SeverityWarning }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := f.events.List(tc.keep)
			var got []health.Event
			query := "?limit=4" + tc.filter
			for pages := 0; ; pages++ {
				if pages > 20 {
					t.Fatal("more than 20 pages")
				}
				page, code := getEvents(t, srv.URL, query)
				if code != http.StatusOK {
					t.Fatalf("GET /api/events%s = %d", query, code)
				}
				got = append(got, page.Events...)
				if page.NextBefore == 0 {
					break
				}
				if len(page.Events) != 4 {
					t.Errorf("a page with next_before has %d events; want 4", len(page.Events))
				}
				query = fmt.Sprintf("?limit=4&before=%d%s", page.NextBefore, tc.filter)
			}
			if len(got) != len(want) {
				t.Fatalf("pages gave %d events; want %d", len(got), len(want))
			}
			for i := range want {
				if got[i].ID != want[i].ID {
					t.Errorf("event %d: id %d; want %d", i, got[i].ID, want[i].ID)
				}
			}
		})
	}
}

func TestEventsDefaultLimitAndLastPage(t *testing.T) {
	f := newFixture(t)
	srv := serve(t, f.full())
	page, _ := getEvents(t, srv.URL, "")
	if len(page.Events) != 30 || page.NextBefore != 0 {
		t.Errorf("GET /api/events: %d events, next_before %d; want 30 and none", len(page.Events), page.NextBefore)
	}
	page, _ = getEvents(t, srv.URL, "?limit=30")
	if page.NextBefore != 0 {
		t.Errorf("GET /api/events?limit=30: next_before %d; want none (exactly the last page)", page.NextBefore)
	}
	page, _ = getEvents(t, srv.URL, "?before=1")
	if len(page.Events) != 0 || page.Events == nil {
		t.Errorf("GET /api/events?before=1 = %#v; want an empty list", page.Events)
	}
}

func TestEventsBadParams(t *testing.T) {
	srv := serve(t, newFixture(t).full())
	for _, q := range []string{"limit=0", "limit=1001", "limit=1.5", "limit=", "before=0", "before=x",
		"before=-1", "severity=", "severity=ERROR", "severity=debug"} {
		t.Run(q, func(t *testing.T) {
			if _, code := getEvents(t, srv.URL, "?"+q); code != http.StatusBadRequest {
				t.Errorf("GET /api/events?%s = %d; want 400", q, code)
			}
		})
	}
}
