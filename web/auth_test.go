package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

const (
	testToken    = "tok-0123456789abcdef-SECRET"
	testPassword = "scrape-SECRET"
)

func TestSidecarAccessControl(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFixture(t)
	addr, reg := startSidecar(t, f.full(), SidecarOptions{Logger: log, Access: &AccessControl{
		BearerTokens: []string{"another-token-0123456789", testToken},
		BasicUsers:   map[string]string{"prometheus": string(hash)},
		Public:       []string{"/api/p2p", "/api/health"},
	}})
	base := "http://" + addr
	basic := func(user, pass string) http.Header {
		r, _ := http.NewRequest("GET", "/", nil)
		r.SetBasicAuth(user, pass)
		return r.Header
	}
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	refusals := 0
	for _, tc := range []struct {
		name   string
		path   string
		header http.Header
		want   int
	}{
		{"view without credentials", "/api/view", nil, 401},
		{"dashboard without credentials", "/", nil, 401},
		{"docs without credentials", "/docs", nil, 401},
		{"raw without credentials", "/api/raw/prod", nil, 401},
		{"metrics without credentials", "/metrics", nil, 401},
		{"stream without credentials", "/api/events/stream", nil, 401},
		{"public p2p", "/api/p2p", nil, 200},
		{"public health", "/api/health", nil, 200},
		{"bearer token", "/api/view", bearer(testToken), 200},
		{"second bearer token", "/api/raw/prod", bearer("another-token-0123456789"), 200},
		{"wrong bearer token", "/api/view", bearer(testToken + "x"), 401},
		{"bearer token prefix", "/api/view", bearer(testToken[:10]), 401},
		{"basic auth", "/metrics", basic("prometheus", testPassword), 200},
		{"basic auth again (cached)", "/metrics", basic("prometheus", testPassword), 200},
		{"basic auth wrong password", "/metrics", basic("prometheus", testPassword+"x"), 401},
		{"basic auth unknown user", "/metrics", basic("grafana", testPassword), 401},
		{"password as bearer token", "/metrics", bearer(testPassword), 401},
		{"unknown path without credentials", "/api/nothing", nil, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, base+tc.path, tc.header)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("GET %s = %d; want %d", tc.path, resp.StatusCode, tc.want)
			}
			if tc.want == 401 {
				refusals++
				if got := resp.Header.Get("WWW-Authenticate"); got != `Basic realm="meshmon", charset="UTF-8"` {
					t.Errorf("WWW-Authenticate = %q; want the Basic challenge", got)
				}
			}
		})
	}
	if got := refusedCount(t, reg, RefusedUnauthorized); got != float64(refusals) {
		t.Errorf("meshmon_http_refused_total{reason=unauthorized} = %v; want %d", got, refusals)
	}
	for _, secret := range []string{testToken, testPassword, "SECRET"} {
		if bytes.Contains(logs.Bytes(), []byte(secret)) {
			t.Errorf("logs contain a secret (%q):\n%s", secret, logs.String())
		}
	}
}

func TestSidecarBearerOnlyChallenge(t *testing.T) {
	f := newFixture(t)
	addr, _ := startSidecar(t, f.full(), SidecarOptions{Access: &AccessControl{BearerTokens: []string{testToken}}})
	for _, p := range []string{"/api/p2p", "/api/health", "/metrics"} {
		resp := get(t, "http://"+addr+p, nil)
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("GET %s with no public paths = %d; want 401", p, resp.StatusCode)
		}
		if got := resp.Header.Get("WWW-Authenticate"); got != `Bearer realm="meshmon"` {
			t.Errorf("WWW-Authenticate = %q; want the Bearer challenge", got)
		}
	}
}

// FuzzAuthorization: no Authorization header but one carrying the
// configured token or user and password passes, and none panics.
func FuzzAuthorization(f *testing.F) {
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		f.Fatal(err)
	}
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth("prometheus", testPassword)
	f.Add(r.Header.Get("Authorization"))
	f.Add("Bearer " + testToken)
	f.Add("bearer  " + testToken + " ")
	f.Add("Basic !!!")
	f.Add("Basic cHJvbWV0aGV1czo=")
	f.Add("")
	a := newAuthHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), AccessControl{
		BearerTokens: []string{testToken}, BasicUsers: map[string]string{"prometheus": string(hash)}}, nil)
	f.Fuzz(func(t *testing.T, header string) {
		req, _ := http.NewRequest("GET", "/api/view", nil)
		req.Header.Set("Authorization", header)
		if !a.allowed(req) {
			return
		}
		user, pass, basic := req.BasicAuth()
		if !strings.Contains(header, testToken) && !(basic && user == "prometheus" && pass == testPassword) {
			t.Fatalf("Authorization %q passed without the token or the password", header)
		}
	})
}
