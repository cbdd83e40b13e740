// Package probe runs one check of an external service from this node: an
// HTTP(S) request, a TCP connect, a DNS query, a TLS certificate check or an
// ICMP echo. It holds no state between runs: every Run opens its own
// connections and closes them before it returns, so each result measures a
// real connect and leaves no idle sockets behind.
//
// Run is safe for concurrent use. It never panics and returns within the
// probe's timeout (plus the few milliseconds it takes to tidy up).
package probe

import (
	"context"
	"crypto/x509"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/meshmon/meshmon/version"
)

// Defaults and limits that apply to every probe.
const (
	// DefaultTimeout bounds a whole probe whose Spec.Timeout is zero.
	DefaultTimeout = 10 * time.Second
	// DefaultTLSWarnDays is the WarnDays of a tls probe that sets none.
	DefaultTLSWarnDays = 14
	// MaxBodyBytes is how much of an HTTP body is read for the body checks (1 MiB).
	MaxBodyBytes = 1 << 20
	// MaxRedirects is how many redirects an HTTP probe follows when
	// FollowRedirects is set; one more is a failure.
	MaxRedirects = 10
	// MaxReasonBytes caps Result.Reason.
	MaxReasonBytes = 120
	// MaxDetailBytes caps Result.Detail.
	MaxDetailBytes = 512
)

// Spec is one probe. configsync validates it; Run still defends against zero
// and nonsense values (they give a Down result, never a panic).
type Spec struct {
	// Type is "http", "https", "tcp", "dns", "tls" or "ping".
	Type string
	// Host is what to probe. http/https: the full URL (a URL without a
	// scheme gets the Type as its scheme); tcp: host:port; tls: host:port,
	// port 443 when none; dns: the name to query (for PTR, an IP address is
	// turned into its reverse name); ping: a host name or IP address.
	Host string
	// Timeout bounds the whole probe, name resolution included.
	// Default DefaultTimeout (10s) when zero or negative.
	Timeout time.Duration
	// UserAgent is sent as the User-Agent header of every HTTP(S) request,
	// overriding any User-Agent in Headers. tcp, tls, dns and ping cannot
	// carry one. Default "meshmon/<version>" when empty.
	UserAgent string

	// Method is the HTTP method. Default GET.
	Method string
	// Headers are extra request headers. A "Host" entry sets the request's
	// Host. Their values never appear in a Result.
	Headers map[string]string
	// FollowRedirects follows up to MaxRedirects (10) redirects when true;
	// when false (the default) a 3xx is the answer that is checked.
	FollowRedirects bool
	// SkipTLSVerify turns certificate verification off for https and tls
	// probes. Default false: verification is on. The expiry check of a tls
	// probe (and of https with WarnDays) still runs.
	SkipTLSVerify bool
	// RootCAs, when not nil, replaces the system's roots for verifying
	// https and tls certificates (a private CA). Default nil: system roots.
	RootCAs *x509.CertPool
	// ExpectStatus lists the HTTP status codes that count as up. Default
	// (empty): any status from 200 to 399.
	ExpectStatus []int
	// BodyContains, when not empty, must appear in the first MaxBodyBytes
	// (1 MiB) of the response body.
	BodyContains string
	// BodyRegex, when not nil, must match the first MaxBodyBytes (1 MiB) of
	// the response body.
	BodyRegex *regexp.Regexp
	// MaxResponseTime, when above zero, is the slowest HTTP answer (headers
	// and checked body) that counts as up; a slower one is Down with the
	// reason "slow: 1.2s > 1s". Default 0: no limit.
	MaxResponseTime time.Duration

	// RecordType is the DNS record type to ask for: A, AAAA, CNAME, MX,
	// TXT, NS, SRV, PTR or SOA. Default A.
	RecordType string
	// Server is the DNS server, host:port (port 53 when none). Default
	// (empty): the first nameserver of /etc/resolv.conf.
	Server string

	// WarnDays makes a probe Warn when the leaf certificate expires within
	// this many days. Default DefaultTLSWarnDays (14) for type tls when
	// zero; https checks expiry only when it is above zero. Negative: never
	// warn (an expired certificate is still Down).
	WarnDays int
}

// Run performs one probe and returns its verdict. It never panics and
// returns within s.Timeout (default 10s) or ctx's deadline, whichever is
// sooner, plus a little slack to close its sockets.
func Run(ctx context.Context, s Spec) (res Result) {
	if s.Timeout <= 0 {
		s.Timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	// A parent deadline sooner than the timeout is the one that fires, so
	// it is the one a timeout reason names.
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < s.Timeout {
			s.Timeout = max(left, 0)
		}
	}
	defer func() {
		if p := recover(); p != nil {
			res = Result{Status: Down, Reason: "internal error", Detail: fmt.Sprint(p)}
		}
		res = res.clean()
	}()
	switch strings.ToLower(s.Type) {
	case "http", "https":
		return probeHTTP(ctx, s)
	case "tcp":
		return probeTCP(ctx, s)
	case "dns":
		return probeDNS(ctx, s)
	case "tls":
		return probeTLS(ctx, s)
	case "ping":
		return probePing(ctx, s)
	default:
		return Result{Status: Down, Reason: fmt.Sprintf("unknown probe type %q", s.Type)}
	}
}

// userAgent is the User-Agent an HTTP probe sends.
func userAgent(s Spec) string {
	if s.UserAgent != "" {
		return s.UserAgent
	}
	return "meshmon/" + version.Version
}
