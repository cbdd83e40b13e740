package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// errTooManyRedirects stops a client that followed MaxRedirects redirects.
var errTooManyRedirects = errors.New("too many redirects")

// probeHTTP sends one request with a fresh transport that keeps no
// connection alive, and checks its status, body, time and certificate.
func probeHTTP(ctx context.Context, s Spec) Result {
	u, err := probeURL(s)
	if err != nil {
		return Result{Status: Down, Reason: err.Error()}
	}
	method := strings.ToUpper(s.Method)
	if method == "" {
		method = http.MethodGet
	}
	tr := &http.Transport{
		// A probe measures this node's own path to the service: no proxy.
		Proxy:                  nil,
		DialContext:            (&net.Dialer{}).DialContext,
		TLSClientConfig:        &tls.Config{InsecureSkipVerify: s.SkipTLSVerify, RootCAs: s.RootCAs},
		DisableKeepAlives:      true,
		ForceAttemptHTTP2:      true,
		MaxResponseHeaderBytes: MaxBodyBytes,
	}
	defer tr.CloseIdleConnections()
	redirects := 0
	client := &http.Client{
		Transport: tr,
		Timeout:   s.Timeout,
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if !s.FollowRedirects {
				return http.ErrUseLastResponse
			}
			if len(via) > MaxRedirects {
				return errTooManyRedirects
			}
			redirects = len(via)
			return nil
		},
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return Result{Status: Down, Reason: "bad request: " + errReason(err, s.Timeout)}
	}
	for k, v := range s.Headers {
		if http.CanonicalHeaderKey(k) == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	req.Header.Set("User-Agent", userAgent(s))

	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		res := Result{Status: Down, Latency: time.Since(start), Reason: errReason(err, s.Timeout)}
		if errors.Is(err, errTooManyRedirects) {
			res.Reason = fmt.Sprintf("too many redirects (more than %d)", MaxRedirects)
		}
		return res
	}
	defer resp.Body.Close()
	latency := time.Since(start)

	checkBody := s.BodyContains != "" || s.BodyRegex != nil
	var body []byte
	if checkBody {
		body, err = io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes))
		latency = time.Since(start)
		if err != nil {
			return Result{Status: Down, Latency: latency, Reason: "reading body: " + errReason(err, s.Timeout)}
		}
	}

	res := Result{Status: Up, Latency: latency}
	detail := []string{resp.Proto + " " + resp.Status}
	if redirects > 0 {
		detail = append(detail, fmt.Sprintf("after %d redirects", redirects))
	}
	if checkBody {
		detail = append(detail, fmt.Sprintf("%d body bytes checked", len(body)))
	}
	var certStatus Status
	var certReason string
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		leaf := resp.TLS.PeerCertificates[0]
		detail = append(detail, "certificate "+certDetail(leaf))
		if s.WarnDays != 0 {
			certStatus, certReason = certExpiry(leaf.NotBefore, leaf.NotAfter, time.Now(), s.WarnDays)
		}
	}
	res.Detail = strings.Join(detail, "; ")

	switch {
	case !statusOK(resp.StatusCode, s.ExpectStatus):
		res.Status, res.Reason = Down, "HTTP "+strconv.Itoa(resp.StatusCode)
		if len(s.ExpectStatus) > 0 {
			res.Reason += " (want " + joinInts(s.ExpectStatus) + ")"
		}
	case s.BodyContains != "" && !strings.Contains(string(body), s.BodyContains):
		res.Status, res.Reason = Down, "body lacks "+strconv.QuoteToASCII(s.BodyContains)
	case s.BodyRegex != nil && !s.BodyRegex.Match(body):
		res.Status, res.Reason = Down, "body does not match /"+s.BodyRegex.String()+"/"
	case certStatus == Down:
		res.Status, res.Reason = Down, certReason
	case s.MaxResponseTime > 0 && latency > s.MaxResponseTime:
		res.Status, res.Reason = Down, "slow: "+slowPair(latency, s.MaxResponseTime)
	case certStatus == Warn:
		res.Status, res.Reason = Warn, certReason
	}
	return res
}

// probeURL parses the probe's URL; one without a scheme gets the Type.
func probeURL(s Spec) (*url.URL, error) {
	raw := s.Host
	if !strings.Contains(raw, "://") {
		raw = strings.ToLower(s.Type) + "://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the URL, which may hold credentials.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("bad URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("bad URL: scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("bad URL: no host")
	}
	return u, nil
}

// statusOK tells whether code is expected: in want, or 200-399 when want
// is empty.
func statusOK(code int, want []int) bool {
	if len(want) == 0 {
		return code >= 200 && code <= 399
	}
	return slices.Contains(want, code)
}

// joinInts prints codes as "200,204".
func joinInts(codes []int) string {
	s := make([]string, len(codes))
	for i, c := range codes {
		s[i] = strconv.Itoa(c)
	}
	return strings.Join(s, ",")
}

// slowPair prints "took > limit", with enough precision that the two differ.
func slowPair(took, limit time.Duration) string {
	a, b := fmtDur(took), fmtDur(limit)
	if a == b {
		a = strings.ReplaceAll(took.String(), "µ", "u")
	}
	return a + " > " + b
}
