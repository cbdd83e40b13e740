package probe

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"time"
)

// probeTLS connects to s.Host, completes a TLS handshake (verifying the
// certificate unless SkipTLSVerify) and judges the leaf's expiry.
func probeTLS(ctx context.Context, s Spec) Result {
	addr, host := tlsAddr(s.Host)
	var d net.Dialer
	start := time.Now()
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return Result{Status: Down, Latency: time.Since(start), Reason: errReason(err, s.Timeout)}
	}
	defer raw.Close()
	connected := time.Since(start)
	conn := tls.Client(raw, &tls.Config{
		ServerName:         host,
		InsecureSkipVerify: s.SkipTLSVerify,
		RootCAs:            s.RootCAs,
	})
	hsStart := time.Now()
	err = conn.HandshakeContext(ctx)
	latency := time.Since(hsStart)
	if err != nil {
		return Result{Status: Down, Latency: latency, Reason: errReason(err, s.Timeout),
			Detail: "connected to " + raw.RemoteAddr().String() + " in " + fmtDur(connected)}
	}
	state := conn.ConnectionState()
	if len(state.PeerCertificates) == 0 {
		return Result{Status: Down, Latency: latency, Reason: "no certificate"}
	}
	leaf := state.PeerCertificates[0]
	warnDays := s.WarnDays
	if warnDays == 0 {
		warnDays = DefaultTLSWarnDays
	}
	st, reason := certExpiry(leaf.NotBefore, leaf.NotAfter, time.Now(), warnDays)
	return Result{
		Status:  st,
		Latency: latency,
		Reason:  reason,
		Detail: tls.VersionName(state.Version) + " to " + raw.RemoteAddr().String() +
			" (connect " + fmtDur(connected) + "); " + certDetail(leaf),
	}
}

// tlsAddr returns the address to dial, with port 443 when hostPort has
// none, and the host name to verify.
func tlsAddr(hostPort string) (addr, host string) {
	if h, _, err := net.SplitHostPort(hostPort); err == nil {
		return hostPort, h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(hostPort, "["), "]")
	return net.JoinHostPort(host, "443"), host
}
