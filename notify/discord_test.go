package notify

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/meshmon/meshmon/health"
)

// checkDiscordLimits fails the test if m breaks one of Discord's limits.
func checkDiscordLimits(t *testing.T, m DiscordMessage) {
	t.Helper()
	n := utf8.RuneCountInString
	if len(m.Embeds) == 0 || len(m.Embeds) > DiscordMaxEmbeds {
		t.Errorf("message has %d embeds; want 1..%d", len(m.Embeds), DiscordMaxEmbeds)
	}
	if n(m.Content) > DiscordMaxContent {
		t.Errorf("content has %d chars; want <= %d", n(m.Content), DiscordMaxContent)
	}
	total := 0
	for i, e := range m.Embeds {
		if n(e.Title) > DiscordMaxTitle || n(e.Description) > DiscordMaxDescription || len(e.Fields) > DiscordMaxFields {
			t.Errorf("embed %d: title %d, description %d, fields %d over the limits", i, n(e.Title), n(e.Description), len(e.Fields))
		}
		for _, f := range e.Fields {
			if n(f.Name) > DiscordMaxFieldName || n(f.Value) > DiscordMaxFieldValue || f.Name == "" || f.Value == "" {
				t.Errorf("embed %d: field %q (%d) = %d chars: empty or over the limits", i, f.Name, n(f.Name), n(f.Value))
			}
		}
		if e.Footer != nil && n(e.Footer.Text) > DiscordMaxFooter {
			t.Errorf("embed %d: footer %d chars", i, n(e.Footer.Text))
		}
		total += e.chars()
	}
	if total > DiscordMaxTotal {
		t.Errorf("message has %d chars in embeds; want <= %d", total, DiscordMaxTotal)
	}
	if m.AllowedMentions.Parse == nil || len(m.AllowedMentions.Parse) != 0 {
		t.Errorf("allowed_mentions.parse = %v; want []", m.AllowedMentions.Parse)
	}
}

func field(e DiscordEmbed, name string) (string, bool) {
	for _, f := range e.Fields {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

func TestDiscordEmbed(t *testing.T) {
	f := DiscordFormatter{SentBy: "web-1", Version: "1.2.3"}
	since := time.Date(2025, 3, 1, 11, 55, 48, 0, time.UTC)
	until := since.Add(4*time.Minute + 12*time.Second)
	base := Alert{Network: "prod", Node: "db-1", At: until, Since: until, Agreeing: 4, Live: 5, LastRTT: 12340 * time.Microsecond}
	tests := []struct {
		name   string
		mod    func(a *Alert)
		title  string
		color  int
		fields map[string]string // expected values ("" = present, any value)
		absent []string
	}{
		{"offline", func(a *Alert) { a.Kind, a.From, a.Suspecting = KindOffline, health.StatusOnline, 4 },
			"db-1 is offline", ColorOffline,
			map[string]string{"Network": "prod", "Offline since": fmt.Sprintf("<t:%d:f> (<t:%d:R>)", until.Unix(), until.Unix()),
				"Agreed by": "4 of 5 observers", "Last RTT": "12.3 ms"},
			[]string{"Duration"}},
		{"back online", func(a *Alert) { a.Kind, a.From, a.Since, a.Until = KindOnline, health.StatusOffline, since, until },
			"db-1 is back online", ColorOnline,
			map[string]string{"Network": "prod", "Was offline since": fmt.Sprintf("<t:%d:f>", since.Unix()),
				"Duration": "4m 12s", "Agreed by": "4 of 5 observers"},
			nil},
		{"back online, outage start unknown", func(a *Alert) {
			a.Kind, a.From, a.Since, a.Until = KindOnline, health.StatusOffline, time.Time{}, until
		},
			"db-1 is back online", ColorOnline,
			map[string]string{"Was offline since": "unknown"},
			[]string{"Duration"}},
		{"degraded", func(a *Alert) { a.Kind, a.From, a.Agreeing, a.Suspecting = KindDegraded, health.StatusOnline, 4, 1 },
			"db-1 is degraded", ColorDegraded,
			map[string]string{"Suspected by": "1 of 5 observers", "Degraded since": ""},
			[]string{"Agreed by"}},
		{"left", func(a *Alert) { a.Kind, a.From, a.LastRTT = KindLeft, health.StatusOnline, 0 },
			"db-1 left", ColorLeft,
			map[string]string{"Left at": "", "Last RTT": "n/a"},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := base
			tt.mod(&a)
			e := f.Embed(a)
			if e.Title != tt.title || e.Color != tt.color {
				t.Errorf("Embed title, color = %q, %#x; want %q, %#x", e.Title, e.Color, tt.title, tt.color)
			}
			for name, want := range tt.fields {
				got, ok := field(e, name)
				if !ok || (want != "" && got != want) {
					t.Errorf("field %q = %q (present %v); want %q", name, got, ok, want)
				}
			}
			for _, name := range tt.absent {
				if _, ok := field(e, name); ok {
					t.Errorf("field %q present; want absent", name)
				}
			}
			if e.Footer == nil || e.Footer.Text != "sent by web-1 · meshmon 1.2.3" {
				t.Errorf("footer = %+v; want sent by web-1 · meshmon 1.2.3", e.Footer)
			}
			if e.Timestamp != until.Format(time.RFC3339) {
				t.Errorf("timestamp = %q; want %q", e.Timestamp, until.Format(time.RFC3339))
			}
		})
	}
}

func TestDiscordDefaultVersion(t *testing.T) {
	e := DiscordFormatter{SentBy: "n"}.Embed(Alert{Node: "x", Kind: KindOffline})
	if !strings.HasSuffix(e.Footer.Text, "meshmon dev") {
		t.Errorf("footer = %q; want the build version (dev)", e.Footer.Text)
	}
}

func manyAlerts(n int, network string, node func(i int) string) []Alert {
	var out []Alert
	for i := range n {
		a := alertAt(node(i), KindOffline, t0)
		a.Network, a.Agreeing, a.Live, a.Since = network, 4, 5, t0
		out = append(out, a)
	}
	return out
}

func TestDiscordBatches(t *testing.T) {
	long := strings.Repeat("n", 3000)
	tests := []struct {
		name     string
		alerts   []Alert
		messages int
	}{
		{"one", manyAlerts(1, "prod", func(i int) string { return "db-1" }), 1},
		{"15 simultaneous transitions", manyAlerts(15, "prod", func(i int) string { return fmt.Sprintf("node-%02d", i) }), 2},
		{"30 simultaneous transitions", manyAlerts(30, "prod", func(i int) string { return fmt.Sprintf("node-%02d", i) }), 3},
		// Each embed is cut to ~1.4k chars (network field 1024, title 256),
		// so the 6000-char budget, not the 10-embed limit, splits them.
		{"long names fill the character budget", manyAlerts(15, long, func(i int) string { return fmt.Sprintf("%s-%02d", long, i) }), 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			batches := DiscordFormatter{SentBy: "web-1"}.Batches(tt.alerts)
			if len(batches) != tt.messages {
				t.Errorf("Batches = %d messages; want %d", len(batches), tt.messages)
			}
			var ids []string
			for _, b := range batches {
				checkDiscordLimits(t, b.Message)
				if len(b.AlertIDs) != len(b.Message.Embeds) {
					t.Errorf("batch has %d IDs for %d embeds", len(b.AlertIDs), len(b.Message.Embeds))
				}
				ids = append(ids, b.AlertIDs...)
			}
			var want []string
			for _, a := range tt.alerts {
				want = append(want, a.ID)
			}
			if !slices.Equal(ids, want) {
				t.Errorf("batches deliver %d IDs %v; want each alert once, in order", len(ids), ids)
			}
			// The wire form decodes and keeps every embed.
			payloads, err := DiscordFormatter{SentBy: "web-1"}.Format(tt.alerts)
			if err != nil {
				t.Fatal(err)
			}
			embeds := 0
			for _, p := range payloads {
				var m DiscordMessage
				if err := json.Unmarshal(p.Body, &m); err != nil {
					t.Fatalf("payload does not decode: %v", err)
				}
				checkDiscordLimits(t, m)
				embeds += len(m.Embeds)
			}
			if embeds != len(tt.alerts) {
				t.Errorf("payloads carry %d embeds; want %d", embeds, len(tt.alerts))
			}
		})
	}
}

func TestDiscordCoveredAlerts(t *testing.T) {
	a := alertAt("x", KindOnline, t0)
	a.Covers = []string{"earlier-1"}
	b := DiscordFormatter{}.Batches([]Alert{a})
	if len(b) != 1 || !slices.Equal(b[0].AlertIDs, []string{a.ID, "earlier-1"}) {
		t.Errorf("Batches IDs = %v; want the alert and the one it covers", b)
	}
}

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {45 * time.Second, "45s"}, {4*time.Minute + 12*time.Second, "4m 12s"},
		{2*time.Hour + 3*time.Minute + 9*time.Second, "2h 3m"}, {76 * time.Hour, "3d 4h"},
	}
	for _, tt := range tests {
		if got := humanDuration(tt.d); got != tt.want {
			t.Errorf("humanDuration(%v) = %q; want %q", tt.d, got, tt.want)
		}
	}
}
