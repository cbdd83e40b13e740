package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/url"
	"syscall"
	"time"
)

// errReason turns a probe's error into a short Reason. timeout is the
// probe's effective timeout, named when it fired. The URL of a *url.Error
// is dropped: it may hold credentials or tokens.
func errReason(err error, timeout time.Duration) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout after " + fmtDur(timeout)
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by peer"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by peer"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsNotFound {
			return "no such host " + dnsErr.Name
		}
		return "resolve " + dnsErr.Name + ": " + dnsErr.Err
	}
	if r := certErrReason(err); r != "" {
		return r
	}
	var rhe tls.RecordHeaderError
	if errors.As(err, &rhe) {
		return "not a TLS server: " + rhe.Msg
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

// certErrReason names a certificate verification failure, or returns "".
func certErrReason(err error) string {
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) {
		return "x509: certificate signed by unknown authority"
	}
	var ci x509.CertificateInvalidError
	if errors.As(err, &ci) {
		if ci.Reason == x509.Expired && ci.Cert != nil {
			if time.Now().After(ci.Cert.NotAfter) {
				return expiredReason(ci.Cert.NotAfter)
			}
			return "certificate not yet valid"
		}
		return ci.Error()
	}
	var he x509.HostnameError
	if errors.As(err, &he) {
		return he.Error()
	}
	return ""
}
