package notify

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/meshmon/meshmon/version"
)

// Payload is one HTTP request body for a webhook and the alerts it delivers.
type Payload struct {
	// AlertIDs are the alerts (and the alerts they cover) this payload
	// delivers; they are reported delivered only after a 2xx.
	AlertIDs []string
	// Body is the JSON request body.
	Body []byte
}

// Formatter turns alerts into webhook payloads. Implementations are pure and
// safe for concurrent use.
type Formatter interface {
	// Format groups alerts into as few payloads as the receiver's limits
	// allow, keeping their order.
	Format(alerts []Alert) ([]Payload, error)
}

// FormatterFor returns the formatter for w's type: DiscordFormatter for
// TypeDiscord, JSONFormatter otherwise. sentBy is this node's node_id.
func FormatterFor(w Webhook, sentBy string) Formatter {
	if w.Type == TypeDiscord {
		return DiscordFormatter{SentBy: sentBy}
	}
	return JSONFormatter{SentBy: sentBy}
}

func versionOr(v string) string {
	if v == "" {
		return version.Version
	}
	return v
}

// truncate cuts s to at most n runes, ending in "…" when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// humanDuration renders d coarsely: "45s", "4m 12s", "2h 3m", "3d 4h".
func humanDuration(d time.Duration) string {
	d = d.Round(time.Second)
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm %ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh %dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd %dh", s/86400, s%86400/3600)
}

// rttString renders an RTT in milliseconds with one decimal, or "n/a".
func rttString(d time.Duration) string {
	if d <= 0 {
		return "n/a"
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)), ".0") + " ms"
}
