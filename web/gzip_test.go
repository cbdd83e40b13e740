package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"testing"
)

// rawGet GETs url with the given Accept-Encoding and returns the response
// with its body as sent (the client does not decompress).
func rawGet(t *testing.T, url, acceptEncoding string) (*http.Response, []byte) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gzip.NewReader: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return out
}

func TestSidecarGzip(t *testing.T) {
	f := newFixture(t)
	addr, _ := startSidecar(t, f.full(), SidecarOptions{})
	base := "http://" + addr
	for _, tc := range []struct {
		path, accept string
		wantGzip     bool
		json         bool
	}{
		{"/api/view", "gzip", true, true},
		{"/api/view", "br, gzip;q=0.8, deflate", true, true},
		{"/api/networks/prod", "*", true, true},
		{"/api/events", "gzip", true, true},
		{"/api/view", "", false, true},
		{"/api/view", "gzip;q=0", false, true},
		{"/api/view", "br", false, true},
		// Small answers (under minGzipSize) stay plain: a healthcheck's
		// /api/health, a short error.
		{"/api/health", "gzip", false, true},
		{"/api/networks/nope", "gzip", false, true},
		{"/openapi.json", "gzip", true, true},
		{"/", "gzip", true, false},
		{"/metrics", "gzip", true, false}, // compressed once, by promhttp
	} {
		t.Run(tc.path+" "+tc.accept, func(t *testing.T) {
			resp, body := rawGet(t, base+tc.path, tc.accept)
			gotGzip := resp.Header.Get("Content-Encoding") == "gzip"
			if gotGzip != tc.wantGzip {
				t.Fatalf("GET %s (Accept-Encoding %q): Content-Encoding %q; want gzip=%v", tc.path, tc.accept, resp.Header.Get("Content-Encoding"), tc.wantGzip)
			}
			if !gotGzip {
				return
			}
			plainResp, plain := rawGet(t, base+tc.path, "")
			if plainResp.StatusCode != resp.StatusCode {
				t.Errorf("status gzipped %d, plain %d; want equal", resp.StatusCode, plainResp.StatusCode)
			}
			unzipped := gunzip(t, body)
			if len(body) >= len(unzipped) && len(unzipped) > 1024 {
				t.Errorf("gzipped body %d bytes, plain %d; want smaller", len(body), len(unzipped))
			}
			if !tc.json {
				if tc.path == "/metrics" {
					if !bytes.Contains(unzipped, []byte("meshmon_test_gauge")) {
						t.Errorf("gunzip(GET /metrics) = %q; want the exposition (compressed once)", unzipped)
					}
					return
				}
				if !bytes.Equal(unzipped, plain) {
					t.Errorf("gunzip(GET %s) differs from the plain body", tc.path)
				}
				return
			}
			var a, b any
			if err := json.Unmarshal(unzipped, &a); err != nil {
				t.Fatalf("gunzipped body is not JSON: %v", err)
			}
			if err := json.Unmarshal(plain, &b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Errorf("gunzip(GET %s) = %s; want %s", tc.path, unzipped, plain)
			}
		})
	}
}

func TestSidecarGzipNotOnStream(t *testing.T) {
	f := newFixture(t)
	addr, _ := startSidecar(t, f.full(), SidecarOptions{})
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/events/stream", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ce := resp.Header.Get("Content-Encoding"); ce != "" {
		t.Fatalf("stream Content-Encoding = %q; want none", ce)
	}
	readSSE(resp.Body).next(t, "view")
}

func TestAcceptsGzip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"", false},
		{"gzip", true},
		{"GZIP", true},
		{"deflate, gzip", true},
		{"gzip;q=0", false},
		{"gzip; q=0.5", true},
		{"gzip;q=bogus", false},
		{"*", true},
		{"*;q=0", false},
		{"identity", false},
		{"x-gzip", true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := acceptsGzip(tc.in); got != tc.want {
				t.Errorf("acceptsGzip(%q) = %v; want %v", tc.in, got, tc.want)
			}
		})
	}
}
