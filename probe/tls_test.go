package probe

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// certValidFor makes a self-signed certificate for 127.0.0.1 valid from
// now+from to now+to.
func certValidFor(t *testing.T, from, to time.Duration) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: "probe test"},
		NotBefore:             now.Add(from),
		NotAfter:              now.Add(to),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// tlsServer is a loopback HTTPS server with a given certificate.
type tlsServer struct {
	url  string // https://127.0.0.1:port
	addr string // 127.0.0.1:port
	cert *x509.Certificate
}

// newTLSServer serves "ok" at / (404 elsewhere) over TLS with cert until
// the test ends.
func newTLSServer(t *testing.T, cert tls.Certificate) tlsServer {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("ok"))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	// A failed handshake (the probe refusing the certificate) is expected.
	srv.Config.ErrorLog = quietLog()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return tlsServer{url: srv.URL, addr: srv.Listener.Addr().String(), cert: cert.Leaf}
}

// quietLog drops an HTTP server's log: the handshakes that the probes
// refuse are expected.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }

// rootsOf trusts exactly c.
func rootsOf(c *x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c)
	return p
}

func TestTLS(t *testing.T) {
	day := 24 * time.Hour
	soon := newTLSServer(t, certValidFor(t, -time.Hour, 5*day))
	expired := newTLSServer(t, certValidFor(t, -30*day, -day))
	valid := newTLSServer(t, certValidFor(t, -time.Hour, 90*day))
	future := newTLSServer(t, certValidFor(t, 10*day, 90*day))
	port := func(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }

	tests := []struct {
		name   string
		spec   Spec
		status Status
		reason *regexp.Regexp
	}{
		{"expires in 5 days", Spec{Host: soon.addr, RootCAs: rootsOf(soon.cert)}, Warn,
			regexp.MustCompile(`^certificate expires in [45]d \(\d{4}-\d\d-\d\d\)$`)},
		{"expires in 5 days unverified", Spec{Host: soon.addr, SkipTLSVerify: true}, Warn,
			regexp.MustCompile(`^certificate expires in [45]d \(`)},
		{"expires in 5 days, warn 3", Spec{Host: soon.addr, RootCAs: rootsOf(soon.cert), WarnDays: 3}, Up, regexp.MustCompile(`^$`)},
		{"expires in 5 days, never warn", Spec{Host: soon.addr, RootCAs: rootsOf(soon.cert), WarnDays: -1}, Up, regexp.MustCompile(`^$`)},
		{"self-signed untrusted", Spec{Host: soon.addr}, Down,
			regexp.MustCompile(`^x509: certificate signed by unknown authority$`)},
		{"expired", Spec{Host: expired.addr, RootCAs: rootsOf(expired.cert)}, Down,
			regexp.MustCompile(`^certificate expired \(\d{4}-\d\d-\d\d\)$`)},
		{"expired unverified", Spec{Host: expired.addr, SkipTLSVerify: true}, Down,
			regexp.MustCompile(`^certificate expired \(`)},
		{"not yet valid", Spec{Host: future.addr, SkipTLSVerify: true}, Down,
			regexp.MustCompile(`^certificate not yet valid \(from `)},
		{"valid for 90 days", Spec{Host: valid.addr, RootCAs: rootsOf(valid.cert)}, Up, regexp.MustCompile(`^$`)},
		{"valid for 90 days, warn 100", Spec{Host: valid.addr, RootCAs: rootsOf(valid.cert), WarnDays: 100}, Warn,
			regexp.MustCompile(`^certificate expires in 89d \(`)},
		{"wrong name", Spec{Host: "localhost:" + port(valid.addr), RootCAs: rootsOf(valid.cert)}, Down,
			regexp.MustCompile(`^x509: certificate is (valid for 127\.0\.0\.1, not|not valid for any names, but wanted to match) localhost`)},
		{"not a TLS server", Spec{Host: strings.TrimPrefix(newHTTPServer(t).URL, "http://")}, Down,
			regexp.MustCompile(`^not a TLS server`)},
		{"connection refused", Spec{Host: closedAddr(t)}, Down, regexp.MustCompile(`^connection refused$`)},
		{"silent server", Spec{Host: silentListener(t), Timeout: time.Second}, Down, regexp.MustCompile(`^timeout after 1s$`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Type = "tls"
			if tt.spec.Timeout == 0 {
				tt.spec.Timeout = 5 * time.Second
			}
			res := runProbe(t, tt.spec)
			if res.Status != tt.status || !tt.reason.MatchString(res.Reason) {
				t.Errorf("Run = %v %q (detail %q); want %v matching %s", res.Status, res.Reason, res.Detail, tt.status, tt.reason)
			}
		})
	}
}

func TestTLSAddr(t *testing.T) {
	tests := []struct{ in, addr, host string }{
		{"example.com", "example.com:443", "example.com"},
		{"example.com:8443", "example.com:8443", "example.com"},
		{"127.0.0.1", "127.0.0.1:443", "127.0.0.1"},
		{"::1", "[::1]:443", "::1"},
		{"[::1]", "[::1]:443", "::1"},
		{"[::1]:853", "[::1]:853", "::1"},
	}
	for _, tt := range tests {
		addr, host := tlsAddr(tt.in)
		if addr != tt.addr || host != tt.host {
			t.Errorf("tlsAddr(%q) = %q, %q; want %q, %q", tt.in, addr, host, tt.addr, tt.host)
		}
	}
}

func TestCertExpiry(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		name     string
		from, to time.Time
		warnDays int
		status   Status
		reason   string
	}{
		{"far", now.Add(-day), now.Add(90 * day), 14, Up, ""},
		{"just outside", now.Add(-day), now.Add(14*day + time.Minute), 14, Up, ""},
		{"just inside", now.Add(-day), now.Add(14 * day), 14, Warn, "certificate expires in 14d (2026-12-21)"},
		{"4 days 23 hours", now.Add(-day), now.Add(5*day - time.Hour), 14, Warn, "certificate expires in 4d (2026-12-12)"},
		{"hours", now.Add(-day), now.Add(5 * time.Hour), 14, Warn, "certificate expires in 5h (2026-12-07)"},
		{"minutes", now.Add(-day), now.Add(42 * time.Minute), 14, Warn, "certificate expires in 42m (2026-12-07)"},
		{"never warn", now.Add(-day), now.Add(time.Hour), -1, Up, ""},
		{"warn 0 warns only at the end", now.Add(-day), now.Add(time.Hour), 0, Up, ""},
		{"expired", now.Add(-9 * day), now.Add(-time.Second), 14, Down, "certificate expired (2026-12-07)"},
		{"expired never warn", now.Add(-9 * day), now.Add(-2 * day), -1, Down, "certificate expired (2026-12-05)"},
		{"not yet valid", now.Add(day), now.Add(9 * day), 14, Down, "certificate not yet valid (from 2026-12-08)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, reason := certExpiry(tt.from, tt.to, now, tt.warnDays)
			if st != tt.status || reason != tt.reason {
				t.Errorf("certExpiry(%v, %v, now, %d) = %v %q; want %v %q", tt.from, tt.to, tt.warnDays, st, reason, tt.status, tt.reason)
			}
		})
	}
}
