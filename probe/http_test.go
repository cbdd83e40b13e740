package probe

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// newHTTPServer starts a loopback HTTP server with the paths the HTTP
// tests probe.
func newHTTPServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"status":"ok","version":"1.2.3"}`)
	})
	mux.HandleFunc("/created", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("/unavailable", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		// The needle lies just past the 1 MiB that a probe reads.
		w.Write([]byte(strings.Repeat("a", MaxBodyBytes)))
		w.Write([]byte("needle"))
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	mux.HandleFunc("/method", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "want POST", http.StatusMethodNotAllowed)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTP(t *testing.T) {
	srv := newHTTPServer(t)
	stopped := newHTTPServer(t)
	stopped.Close()
	tests := []struct {
		name   string
		spec   Spec
		status Status
		reason string
	}{
		{"200 default expect", Spec{Host: srv.URL + "/ok"}, Up, ""},
		{"201 default expect", Spec{Host: srv.URL + "/created"}, Up, ""},
		{"503 default expect", Spec{Host: srv.URL + "/unavailable"}, Down, "HTTP 503"},
		{"503 in expect list", Spec{Host: srv.URL + "/unavailable", ExpectStatus: []int{503}}, Up, ""},
		{"201 not in expect list", Spec{Host: srv.URL + "/created", ExpectStatus: []int{200, 204}}, Down, "HTTP 201 (want 200,204)"},
		{"404", Spec{Host: srv.URL + "/nowhere"}, Down, "HTTP 404"},
		{"body contains", Spec{Host: srv.URL + "/ok", BodyContains: `"status":"ok"`}, Up, ""},
		{"body lacks", Spec{Host: srv.URL + "/ok", BodyContains: "healthy"}, Down, `body lacks "healthy"`},
		{"body regex matches", Spec{Host: srv.URL + "/ok", BodyRegex: regexp.MustCompile(`"version":"\d+\.\d+\.\d+"`)}, Up, ""},
		{"body regex fails", Spec{Host: srv.URL + "/ok", BodyRegex: regexp.MustCompile(`"status":"down"`)}, Down, `body does not match /"status":"down"/`},
		{"body past 1 MiB not read", Spec{Host: srv.URL + "/big", BodyContains: "needle"}, Down, `body lacks "needle"`},
		{"regex sees only 1 MiB", Spec{Host: srv.URL + "/big", BodyRegex: regexp.MustCompile(`^a+$`)}, Up, ""},
		{"status checked before body", Spec{Host: srv.URL + "/unavailable", BodyContains: "maintenance"}, Down, "HTTP 503"},
		{"max response time met", Spec{Host: srv.URL + "/ok", MaxResponseTime: time.Minute}, Up, ""},
		{"slower than max response time", Spec{Host: srv.URL + "/ok", MaxResponseTime: time.Nanosecond}, Down, "slow: "},
		{"redirect not followed is the answer", Spec{Host: srv.URL + "/redirect"}, Up, ""},
		{"redirect not followed vs expect 200", Spec{Host: srv.URL + "/redirect", ExpectStatus: []int{200}}, Down, "HTTP 302 (want 200)"},
		{"redirect followed", Spec{Host: srv.URL + "/redirect", FollowRedirects: true, ExpectStatus: []int{200}, BodyContains: "ok"}, Up, ""},
		{"redirect loop", Spec{Host: srv.URL + "/loop", FollowRedirects: true}, Down, "too many redirects (more than 10)"},
		{"method POST", Spec{Host: srv.URL + "/method", Method: "post"}, Up, ""},
		{"method GET refused", Spec{Host: srv.URL + "/method"}, Down, "HTTP 405"},
		{"no scheme gets the type", Spec{Host: strings.TrimPrefix(srv.URL, "http://") + "/ok"}, Up, ""},
		{"stopped server", Spec{Host: stopped.URL + "/ok"}, Down, "connection refused"},
		{"hanging server", Spec{Host: srv.URL + "/hang", Timeout: time.Second}, Down, "timeout after 1s"},
		{"bad scheme", Spec{Host: "ftp://127.0.0.1/"}, Down, `bad URL: scheme "ftp"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Type = "http"
			if tt.spec.Timeout == 0 {
				tt.spec.Timeout = 5 * time.Second
			}
			res := runProbe(t, tt.spec)
			wantResult(t, res, tt.status, tt.reason)
			if tt.reason == "slow: " && !regexp.MustCompile(`^slow: [0-9.]+(us|ms|s) > 1ns$`).MatchString(res.Reason) {
				t.Errorf("Reason = %q; want slow: <latency> > 1ns", res.Reason)
			}
			if res.Latency <= 0 && tt.status == Up {
				t.Errorf("Latency = %v; want > 0", res.Latency)
			}
		})
	}
}

// TestHTTPRequestSeenByServer checks what the server receives: method,
// headers, Host and the User-Agent, which wins over a header of that name
// and is sent again after a redirect. No header value leaks into the Result.
func TestHTTPRequestSeenByServer(t *testing.T) {
	type seen struct{ path, method, ua, token, host string }
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, seen{r.URL.Path, r.Method, r.UserAgent(), r.Header.Get("X-Token"), r.Host})
		mu.Unlock()
		if r.URL.Path == "/start" {
			http.Redirect(w, r, "/end", http.StatusMovedPermanently)
		}
	}))
	defer srv.Close()

	tests := []struct {
		name string
		spec Spec
		want []seen
	}{
		{
			name: "user agent wins and follows redirects",
			spec: Spec{Host: srv.URL + "/start", FollowRedirects: true, UserAgent: "meshmon/1.0 (node a)",
				Headers: map[string]string{"X-Token": "s3cret", "User-Agent": "curl/8", "Host": "example.test"}},
			want: []seen{
				{"/start", "GET", "meshmon/1.0 (node a)", "s3cret", "example.test"},
				{"/end", "GET", "meshmon/1.0 (node a)", "s3cret", "example.test"},
			},
		},
		{
			name: "default user agent and method",
			spec: Spec{Host: srv.URL + "/end", Method: "HEAD"},
			want: []seen{{"/end", "HEAD", "meshmon/dev", "", strings.TrimPrefix(srv.URL, "http://")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			tt.spec.Type, tt.spec.Timeout = "http", 5*time.Second
			res := runProbe(t, tt.spec)
			wantResult(t, res, Up, "")
			if strings.Contains(res.Reason+res.Detail, "s3cret") {
				t.Errorf("Result %+v holds a header value", res)
			}
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("server saw %+v; want %+v", got, tt.want)
			}
		})
	}
}

// TestHTTPLeavesNoConnection checks that every probe opens its own
// connection and closes it.
func TestHTTPLeavesNoConnection(t *testing.T) {
	var mu sync.Mutex
	opened, closed := 0, 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch st {
		case http.StateNew:
			opened++
		case http.StateClosed, http.StateHijacked:
			closed++
		}
	}
	srv.Start()
	defer srv.Close()
	const runs = 3
	for range runs {
		wantResult(t, runProbe(t, Spec{Type: "http", Host: srv.URL, Timeout: 5 * time.Second}), Up, "")
	}
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		mu.Lock()
		o, c := opened, closed
		mu.Unlock()
		if o == runs && c == runs {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d probes the server saw %d connections opened, %d closed; want %d and %d", runs, o, c, runs, runs)
		}
		<-tick.C
	}
}

func TestHTTPS(t *testing.T) {
	selfSigned := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok")
	}))
	selfSigned.Config.ErrorLog = quietLog()
	selfSigned.StartTLS()
	defer selfSigned.Close()
	trusted := x509.NewCertPool()
	trusted.AddCert(selfSigned.Certificate())

	h2 := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Proto)
	}))
	h2.EnableHTTP2 = true
	h2.StartTLS()
	defer h2.Close()
	h2Roots := x509.NewCertPool()
	h2Roots.AddCert(h2.Certificate())

	soon := newTLSServer(t, certValidFor(t, -time.Hour, 5*24*time.Hour))
	expired := newTLSServer(t, certValidFor(t, -30*24*time.Hour, -24*time.Hour))
	soonRoots := x509.NewCertPool()
	soonRoots.AddCert(soon.cert)

	tests := []struct {
		name   string
		spec   Spec
		status Status
		reason string
	}{
		{"self-signed refused by default", Spec{Host: selfSigned.URL}, Down, "x509: certificate signed by unknown authority"},
		{"self-signed with SkipTLSVerify", Spec{Host: selfSigned.URL, SkipTLSVerify: true, BodyContains: "ok"}, Up, ""},
		{"self-signed with RootCAs", Spec{Host: selfSigned.URL, RootCAs: trusted}, Up, ""},
		{"HTTP/2 when offered", Spec{Host: h2.URL, RootCAs: h2Roots, BodyContains: "HTTP/2.0"}, Up, ""},
		{"plain http server", Spec{Host: strings.Replace(newHTTPServer(t).URL, "http:", "https:", 1)}, Down, "http: server gave HTTP response to HTTPS client"},
		{"expiry not checked without WarnDays", Spec{Host: soon.url, RootCAs: soonRoots}, Up, ""},
		{"expiry within WarnDays", Spec{Host: soon.url, RootCAs: soonRoots, WarnDays: 14}, Warn, "certificate expires in "},
		{"HTTP failure beats expiry warning", Spec{Host: soon.url + "/missing", RootCAs: soonRoots, WarnDays: 14}, Down, "HTTP 404"},
		{"expired refused by verification", Spec{Host: expired.url}, Down, "certificate expired ("},
		{"expired and unverified still down with WarnDays", Spec{Host: expired.url, SkipTLSVerify: true, WarnDays: 14}, Down, "certificate expired ("},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Type, tt.spec.Timeout = "https", 5*time.Second
			res := runProbe(t, tt.spec)
			wantResult(t, res, tt.status, tt.reason)
		})
	}
}
