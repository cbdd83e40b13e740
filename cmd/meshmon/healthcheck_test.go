package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshmon/meshmon/web"
)

func runHealthcheck(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"meshmon", "healthcheck"}, args...), &out, &errb)
	return out.String() + errb.String(), err
}

// TestHealthcheck: exit 0 only on 200 {"status":"ok"}; every other answer,
// a hang past the timeout and a refused connection are failures.
func TestHealthcheck(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	cases := []struct {
		name    string
		handler http.HandlerFunc
		ok      bool
	}{
		{"ok", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/api/health" {
				http.NotFound(w, r)
				return
			}
			w.Write([]byte(`{"status":"ok","version":"test"}`))
		}, true},
		{"status not ok", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"status":"starting"}`))
		}, false},
		{"http 503", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"status":"ok"}`))
		}, false},
		{"not json", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`<html>ok</html>`))
		}, false},
		{"hangs", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			start := time.Now()
			out, err := runHealthcheck(t, "--url", srv.URL+"/", "--timeout", "500ms")
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %s; the timeout is 500ms", took)
			}
			if tc.ok {
				if err != nil {
					t.Fatalf("err = %v; want exit 0 (%s)", err, out)
				}
				if !strings.Contains(out, "ok") {
					t.Errorf("output %q; want it to say ok", out)
				}
				return
			}
			if err == nil {
				t.Fatalf("exit 0 (%s); want a failure", out)
			}
			if code := exitCode(err); code == 0 {
				t.Errorf("exit code %d; want non-zero", code)
			}
		})
	}

	t.Run("refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		if out, err := runHealthcheck(t, "--url", url, "--timeout", "1s"); err == nil || exitCode(err) == 0 {
			t.Fatalf("err = %v (%s); want a failure", err, out)
		}
	})
}

// TestHealthcheckURL: without --url the check targets the node's own HTTP
// listen address, with a wildcard host read as loopback.
func TestHealthcheckURL(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "nodeconf.yml"),
		[]byte("networks:\n  - directory: n\n    node_id: a\nlisten:\n  http: \"0.0.0.0:9123\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	tlsDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(tlsDir, "nodeconf.yml"),
		[]byte("networks:\n  - directory: n\n    node_id: a\nlisten:\n  http: \":9124\"\nhttp:\n  tls: {cert_file: c.pem, key_file: k.pem}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		listen, dir, want string
	}{
		{"", empty, "http://127.0.0.1:8000"},
		{":8080", empty, "http://127.0.0.1:8080"},
		{"[::]:8001", empty, "http://127.0.0.1:8001"},
		{"10.1.2.3:8002", empty, "http://10.1.2.3:8002"},
		{"", dir, "http://127.0.0.1:9123"},
		{":7000", dir, "http://127.0.0.1:7000"}, // MESHMON_HTTP_LISTEN wins over nodeconf
		{"", tlsDir, "https://127.0.0.1:9124"},
	}
	for _, tc := range cases {
		if got := healthcheckURL(tc.listen, tc.dir, "nodeconf.yml"); got != tc.want {
			t.Errorf("healthcheckURL(%q, %s) = %q; want %q", tc.listen, tc.dir, got, tc.want)
		}
	}
}

// TestHealthcheckOwnNodeWithTLSAndAuth: with http.tls and an http.auth
// that protects /api/health, the check derived from nodeconf speaks TLS to
// the node and sends its token; without the token the node refuses it.
func TestHealthcheckOwnNodeWithTLSAndAuth(t *testing.T) {
	const token = "health-token-0123456789"
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"node.example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]*pem.Block{"cert.pem": {Type: "CERTIFICATE", Bytes: der}, "key.pem": {Type: "PRIVATE KEY", Bytes: kder}} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := web.NewSidecar(web.Deps{Version: "test"}, web.SidecarOptions{
		TLSCertFile: filepath.Join(dir, "cert.pem"), TLSKeyFile: filepath.Join(dir, "key.pem"),
		Access: &web.AccessControl{BearerTokens: []string{token}, Public: []string{"/api/p2p"}}})
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	defer s.Close()

	conf := func(tok string) {
		t.Helper()
		data := fmt.Sprintf("networks: [{directory: n, node_id: a}]\nlisten: {http: %q}\n"+
			"http:\n  tls: {cert_file: cert.pem, key_file: key.pem}\n  auth: {bearer_tokens: [%s]}\n", ln.Addr().String(), tok)
		if err := os.WriteFile(filepath.Join(dir, "nodeconf.yml"), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	conf(token)
	if out, err := runHealthcheck(t, "--config-dir", dir, "--timeout", "5s"); err != nil {
		t.Fatalf("healthcheck of a TLS node with auth: %v (%s); want exit 0", err, out)
	}
	conf("another-token-0123456789")
	out, err := runHealthcheck(t, "--config-dir", dir, "--timeout", "5s")
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("healthcheck with a wrong token = %v (%s); want a failure naming 401", err, out)
	}
}
