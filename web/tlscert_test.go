package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// testCert makes a self-signed certificate for 127.0.0.1 and returns its
// PEM files' contents and the parsed certificate.
func testCert(t *testing.T, serial int64) (certPEM, keyPEM []byte, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "meshmon test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), cert
}

// writePair writes a certificate pair and moves its modification time to
// at, so a change is seen even on a file system with coarse timestamps.
func writePair(t *testing.T, certFile, keyFile string, certPEM, keyPEM []byte, at time.Time) {
	t.Helper()
	for _, f := range []struct {
		path string
		data []byte
	}{{keyFile, keyPEM}, {certFile, certPEM}} {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(f.path, at, at); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSidecarTLSServesAndReloads(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	certA, keyA, a := testCert(t, 1)
	certB, keyB, b := testCert(t, 2)
	writePair(t, certFile, keyFile, certA, keyA, time.Now().Add(-time.Minute))

	f := newFixture(t)
	addr, reg := startSidecar(t, f.full(), SidecarOptions{TLSCertFile: certFile, TLSKeyFile: keyFile,
		Logger: slog.New(slog.DiscardHandler)})
	roots := x509.NewCertPool()
	roots.AddCert(a)
	roots.AddCert(b)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true, // every request does a new handshake
		TLSClientConfig:   &tls.Config{RootCAs: roots},
	}}
	// served returns the serial of the certificate a new connection sees.
	served := func() int64 {
		t.Helper()
		resp, err := client.Get("https://" + addr + "/api/health")
		if err != nil {
			t.Fatalf("GET https://%s/api/health: %v", addr, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.TLS == nil {
			t.Fatalf("GET /api/health over TLS = %d (TLS %v); want 200 over TLS", resp.StatusCode, resp.TLS != nil)
		}
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
	}
	if got := served(); got != 1 {
		t.Fatalf("serial served = %d; want 1", got)
	}
	// Plain HTTP on the TLS port is not served.
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/api/health"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("plain HTTP on the TLS port = 200; want a refusal")
		}
	}

	waitSerial := func(want int64) {
		t.Helper()
		if !pollUntil(15*time.Second, 100*time.Millisecond, func() bool { return served() == want }) {
			t.Fatalf("serial served = %d 15s after the files changed; want %d", served(), want)
		}
	}
	writePair(t, certFile, keyFile, certB, keyB, time.Now())
	waitSerial(2)

	// A broken pair (key of A, certificate of B) is refused, counted, and
	// B stays served.
	writePair(t, certFile, keyFile, certB, keyA, time.Now().Add(time.Minute))
	replaced := false
	if !pollUntil(15*time.Second, 100*time.Millisecond, func() bool {
		replaced = replaced || served() != 2
		return reloadCount(t, reg, "error") >= 1
	}) {
		t.Fatal("a broken pair was not counted within 15s")
	}
	if replaced {
		t.Fatal("a broken pair replaced the served certificate")
	}
	if got := served(); got != 2 {
		t.Errorf("serial served after a broken pair = %d; want 2 (kept)", got)
	}
	if got := reloadCount(t, reg, "ok"); got != 1 {
		t.Errorf("meshmon_http_tls_reloads_total{outcome=ok} = %v; want 1", got)
	}
}

func TestSidecarTLSBadFilesFailAtStart(t *testing.T) {
	dir := t.TempDir()
	certA, _, _ := testCert(t, 1)
	_, keyB, _ := testCert(t, 2)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePair(t, certFile, keyFile, certA, keyB, time.Now())
	for _, tc := range []struct{ name, cert, key string }{
		{"missing cert", filepath.Join(dir, "nope.pem"), keyFile},
		{"missing key", certFile, filepath.Join(dir, "nope.pem")},
		{"mismatched pair", certFile, keyFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewSidecar(newFixture(t).full(), SidecarOptions{TLSCertFile: tc.cert, TLSKeyFile: tc.key}); err == nil {
				t.Errorf("NewSidecar with %s = nil error; want an error", tc.name)
			}
		})
	}
}

// reloadCount reads meshmon_http_tls_reloads_total{outcome}.
func reloadCount(t *testing.T, reg *prometheus.Registry, outcome string) float64 {
	t.Helper()
	return counterValue(t, reg, "meshmon_http_tls_reloads_total", "outcome", outcome)
}

// TestSidecarStreamOverHTTP2 checks that an event stream over TLS, where
// the client speaks HTTP/2, outlives the write timeout as it does over
// HTTP/1.1: HTTP/2 resets a stream whose write deadline passes.
func TestSidecarStreamOverHTTP2(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	certPEM, keyPEM, cert := testCert(t, 1)
	writePair(t, certFile, keyFile, certPEM, keyPEM, time.Now())
	d := newFixture(t).full()
	d.StreamInterval = 50 * time.Millisecond
	addr, _ := startSidecar(t, d, SidecarOptions{TLSCertFile: certFile, TLSKeyFile: keyFile,
		ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond})
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	client := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: roots}}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/api/events/stream", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("stream over %s; want HTTP/2", resp.Proto)
	}
	r := readSSE(resp.Body)
	r.next(t, "view")
	start := time.Now()
	for time.Since(start) < time.Second {
		r.next(t, "alive") // fails if the stream ends
	}
}
