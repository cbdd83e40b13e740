package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

func TestPprofListenerLoopbackOnly(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:0", true},
		{"[::1]:0", true},
		{"0.0.0.0:0", false},
		{":0", false},
		{"[::]:0", false},
		{"10.1.2.3:6060", false},
		{"localhost:0", false}, // a name could resolve anywhere
		{"127.0.0.1", false},   // no port
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			ln, err := pprofListener(tt.addr)
			if ln != nil {
				ln.Close()
			}
			if (err == nil) != tt.ok {
				t.Fatalf("pprofListener(%q) err = %v; want ok=%v", tt.addr, err, tt.ok)
			}
			if !tt.ok && tt.addr != "127.0.0.1" && !errors.Is(err, errPprofNotLoopback) {
				t.Fatalf("pprofListener(%q) err = %v; want errPprofNotLoopback", tt.addr, err)
			}
		})
	}
}

// TestPprofServesHeapProfile serves the pprof mux on loopback and fetches a
// heap profile (a gzipped protobuf) and the index.
func TestPprofServesHeapProfile(t *testing.T) {
	ln, err := pprofListener("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		servePprof(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), ln)
		close(done)
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("pprof server did not stop after its context ended")
		}
	}()
	client := &http.Client{Timeout: 10 * time.Second}
	base := "http://" + ln.Addr().String()
	for _, tt := range []struct{ path, want string }{
		{"/debug/pprof/heap", "\x1f\x8b"}, // gzip magic: a protobuf profile
		{"/debug/pprof/", "goroutine"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := client.Get(base + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(tt.want)) {
				t.Fatalf("GET %s = %d, %d bytes; want 200 containing %q", tt.path, resp.StatusCode, len(body), tt.want)
			}
		})
	}
}

// TestRunRefusesPublicPprof: `meshmon run --pprof-listen 0.0.0.0:…` stops
// with the loopback error before it starts a node.
func TestRunRefusesPublicPprof(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "config")
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"meshmon", "run", "--config-dir", dir, "--pprof-listen", "0.0.0.0:6060"}, &out, &errOut)
	if !errors.Is(err, errPprofNotLoopback) {
		t.Fatalf("run --pprof-listen 0.0.0.0:6060 = %v; want errPprofNotLoopback", err)
	}
}
