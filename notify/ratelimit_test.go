package notify

import (
	"net/http"
	"testing"
	"time"
)

func TestParseRateLimit(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header http.Header
		body   string
		wait   time.Duration
		global bool
	}{
		{"discord body", nil, `{"message": "You are being rate limited.", "retry_after": 0.35, "global": false}`, 350 * time.Millisecond, false},
		{"discord body, global", nil, `{"retry_after": 2, "global": true}`, 2 * time.Second, true},
		{"body wins over header", http.Header{"Retry-After": {"9"}}, `{"retry_after": 1.5}`, 1500 * time.Millisecond, false},
		{"header seconds, global flag", http.Header{"Retry-After": {"3"}, "X-Ratelimit-Global": {"true"}}, "", 3 * time.Second, true},
		{"header date", http.Header{"Retry-After": {now.Add(4 * time.Second).Format(http.TimeFormat)}}, "", 4 * time.Second, false},
		{"scope global", http.Header{"X-Ratelimit-Scope": {"global"}, "X-Ratelimit-Reset-After": {"0.5"}}, "not json", 500 * time.Millisecond, true},
		{"nothing said", nil, "", 0, false},
		{"absurd wait is capped", nil, `{"retry_after": 1e12}`, 24 * time.Hour, false},
		{"negative ignored", http.Header{"Retry-After": {"-5"}}, `{"retry_after": -1}`, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			got := parseRateLimit(h, []byte(tt.body), now)
			if got.wait != tt.wait || got.global != tt.global {
				t.Errorf("parseRateLimit = %v, %v; want %v, %v", got.wait, got.global, tt.wait, tt.global)
			}
		})
	}
}

func FuzzParseRateLimit(f *testing.F) {
	f.Add(`{"retry_after": 0.5, "global": true}`, "3", "1.5")
	f.Add("", "Sat, 01 Mar 2025 12:00:04 GMT", "")
	f.Add(`{"retry_after": "x"}`, "NaN", "+Inf")
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body, retryAfter, resetAfter string) {
		h := http.Header{"Retry-After": {retryAfter}, "X-Ratelimit-Reset-After": {resetAfter}}
		rl := parseRateLimit(h, []byte(body), now)
		if rl.wait < 0 || rl.wait > 24*time.Hour {
			t.Errorf("parseRateLimit wait = %v; want within [0, 24h]", rl.wait)
		}
	})
}

func FuzzParseDeliveredID(f *testing.F) {
	f.Add("0123456789abcdef:net/x/offline/1/5")
	f.Add("0123456789abcdef:")
	f.Add(":x")
	f.Fuzz(func(t *testing.T, s string) {
		h, id, ok := ParseDeliveredID(s)
		if !ok {
			return
		}
		if len(h) != 16 || id == "" || DeliveredID(h, id) != s {
			t.Errorf("ParseDeliveredID(%q) = %q, %q; does not round-trip", s, h, id)
		}
	})
}
