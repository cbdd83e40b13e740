package notify

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RateGate holds back every Sender that shares it while a global rate limit
// is in force. Discord's global limit (a 429 with "global": true or
// X-RateLimit-Global: true) applies to all requests from this host, not just
// the webhook that hit it, so one node's Discord senders share one gate. It
// is safe for concurrent use; the zero value is open.
type RateGate struct {
	// mu protects the following fields.
	mu    sync.Mutex
	until time.Time
}

// Block closes the gate until t (it never shortens an existing block).
func (g *RateGate) Block(t time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t.After(g.until) {
		g.until = t
	}
}

// Until returns when the gate opens (zero or past: open).
func (g *RateGate) Until() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.until
}

// rateLimit is what a 429 answer says.
type rateLimit struct {
	// wait is how long to wait; 0 when the answer did not say.
	wait time.Duration
	// global: the limit applies to every request from this host.
	global bool
}

// parseRateLimit reads a 429 answer: retry_after (seconds, float) and global
// from Discord's JSON body, else the Retry-After header (seconds or an HTTP
// date), else X-RateLimit-Reset-After; X-RateLimit-Global: true or
// X-RateLimit-Scope: global also mark it global.
func parseRateLimit(h http.Header, body []byte, now time.Time) rateLimit {
	var rl rateLimit
	var b struct {
		RetryAfter *float64 `json:"retry_after"`
		Global     bool     `json:"global"`
	}
	if json.Unmarshal(body, &b) == nil {
		rl.global = b.Global
		if b.RetryAfter != nil && *b.RetryAfter > 0 {
			rl.wait = seconds(*b.RetryAfter)
		}
	}
	if strings.EqualFold(h.Get("X-RateLimit-Global"), "true") || strings.EqualFold(h.Get("X-RateLimit-Scope"), "global") {
		rl.global = true
	}
	if rl.wait == 0 {
		rl.wait = headerWait(h.Get("Retry-After"), now)
	}
	if rl.wait == 0 {
		rl.wait = headerWait(h.Get("X-RateLimit-Reset-After"), now)
	}
	return rl
}

// bucketWait reads a successful answer's bucket headers: when
// X-RateLimit-Remaining is 0, the next request must wait
// X-RateLimit-Reset-After.
func bucketWait(h http.Header, now time.Time) time.Duration {
	if h.Get("X-RateLimit-Remaining") != "0" {
		return 0
	}
	return headerWait(h.Get("X-RateLimit-Reset-After"), now)
}

// headerWait parses seconds (integer or decimal) or an HTTP date.
func headerWait(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f > 0 {
			return seconds(f)
		}
		return 0
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		// Capped like a number of seconds: a far-future date must not
		// stall delivery for days.
		return min(t.Sub(now), seconds(86400))
	}
	return 0
}

// seconds converts f seconds to a duration, capped at a day.
func seconds(f float64) time.Duration {
	if f > 86400 {
		f = 86400
	}
	return time.Duration(f * float64(time.Second))
}
