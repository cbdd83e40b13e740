package probe

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Status is the verdict of one probe.
type Status int

const (
	// Unknown is the zero Status: no probe has run yet. Run never returns it.
	Unknown Status = iota
	// Up: the service answered as expected.
	Up
	// Warn: the service answered as expected but something needs attention
	// soon (a certificate that expires within WarnDays).
	Warn
	// Down: the service failed the probe; Reason says how.
	Down
)

// String returns "up", "warn", "down" or "unknown".
func (s Status) String() string {
	switch s {
	case Up:
		return "up"
	case Warn:
		return "warn"
	case Down:
		return "down"
	default:
		return "unknown"
	}
}

// MarshalText encodes the status as its String, so JSON shows "up".
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses "up", "warn", "down" or "unknown".
func (s *Status) UnmarshalText(b []byte) error {
	for _, c := range []Status{Unknown, Up, Warn, Down} {
		if string(b) == c.String() {
			*s = c
			return nil
		}
	}
	return fmt.Errorf("probe status %q: want up, warn, down or unknown", b)
}

// Result is the outcome of one Run.
type Result struct {
	// Status is the verdict.
	Status Status
	// Latency is the time to the verdict: http, to the end of the headers
	// (and of the body read for a body check); tcp, the connect; dns, the
	// query's round trip; tls, the handshake; ping, the echo round trip.
	// On failure, the time until the failure.
	Latency time.Duration
	// Reason is short, human and ASCII, at most MaxReasonBytes (120) bytes:
	// "timeout after 5s", "connection refused", "HTTP 503", "DNS REFUSED",
	// "certificate expires in 4d (2026-12-11)"… Empty when Up without remark.
	Reason string
	// Detail is optional longer text for the UI, at most MaxDetailBytes
	// (512) bytes. It never holds header values or URL credentials.
	Detail string
}

// clean enforces Reason's and Detail's limits.
func (r Result) clean() Result {
	r.Reason = truncate(asciiOnly(r.Reason), MaxReasonBytes)
	r.Detail = truncate(printable(r.Detail), MaxDetailBytes)
	return r
}

// asciiOnly replaces every byte that is not printable ASCII: µ by u (Go's
// microseconds), whitespace by a space, anything else by '?'.
func asciiOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r == 'µ' || r == 'μ':
			b.WriteByte('u')
		case r == '\n' || r == '\t' || r == '\r':
			b.WriteByte(' ')
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// printable replaces control characters by spaces and invalid UTF-8 by
// U+FFFD.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// truncate cuts s to at most n bytes on a rune boundary, ending in "..."
// when it cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// fmtDur prints a duration briefly in ASCII: 1.24s, 12.3ms, 250us, 5ns.
func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		d = d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		d = d.Round(100 * time.Microsecond)
	case d >= time.Microsecond:
		d = d.Round(time.Microsecond)
	}
	return strings.ReplaceAll(d.String(), "µ", "u")
}
