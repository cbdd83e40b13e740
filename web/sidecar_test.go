package web

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// startSidecar serves a Sidecar over d on 127.0.0.1 and returns its
// address and the registry its metrics went to. The server is closed when
// the test ends.
func startSidecar(t *testing.T, d Deps, o SidecarOptions) (addr string, reg *prometheus.Registry) {
	t.Helper()
	reg = prometheus.NewRegistry()
	o.Registerer = reg
	s, err := NewSidecar(d, o)
	if err != nil {
		t.Fatalf("NewSidecar: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		_ = s.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve() = %v; want http.ErrServerClosed", err)
		}
	})
	return ln.Addr().String(), reg
}

// refusedCount reads meshmon_http_refused_total{reason}.
func refusedCount(t *testing.T, reg *prometheus.Registry, reason string) float64 {
	t.Helper()
	return counterValue(t, reg, "meshmon_http_refused_total", "reason", reason)
}

// counterValue reads the counter name{label=value} from reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{%s=%q}", name, label, value)
	return 0
}

// waitClosed reads from c until the server closes it, and fails if that
// takes longer than within.
func waitClosed(t *testing.T, c net.Conn, within time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(within))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %s; want the server to close it", within)
	}
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestSidecarTimeoutsCloseConnections(t *testing.T) {
	f := newFixture(t)
	addr, _ := startSidecar(t, f.full(), SidecarOptions{
		ReadTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, c net.Conn)
	}{
		{"idle keep-alive connection", func(t *testing.T, c net.Conn) {
			if _, err := io.WriteString(c, "GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Close {
				t.Fatalf("GET /api/health = %d, close=%v; want 200 kept alive", resp.StatusCode, resp.Close)
			}
			waitClosed(t, c, 10*time.Second)
		}},
		{"request that never ends its headers", func(t *testing.T, c net.Conn) {
			if _, err := io.WriteString(c, "GET /api/health HTTP/1.1\r\nHost: x\r\n"); err != nil {
				t.Fatal(err)
			}
			waitClosed(t, c, 10*time.Second)
		}},
		{"connection that sends nothing", func(t *testing.T, c net.Conn) {
			waitClosed(t, c, 10*time.Second)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, dial(t, addr)) })
	}
}

func TestSidecarConnectionCap(t *testing.T) {
	f := newFixture(t)
	addr, reg := startSidecar(t, f.full(), SidecarOptions{MaxConns: 2})
	// Two connections take both slots; each proves it was accepted by
	// being served.
	held := []net.Conn{dial(t, addr), dial(t, addr)}
	for _, c := range held {
		if _, err := io.WriteString(c, "GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("held connection: %v", err)
		}
		resp.Body.Close()
	}
	// A third is closed at once, before any request is read.
	third := dial(t, addr)
	_, _ = io.WriteString(third, "GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
	waitClosed(t, third, 10*time.Second)
	if got := refusedCount(t, reg, RefusedConnLimit); got != 1 {
		t.Errorf("meshmon_http_refused_total{reason=connection_limit} = %v; want 1", got)
	}
	// Closing one frees its slot.
	held[0].Close()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	var lastErr error
	if !pollUntil(10*time.Second, 20*time.Millisecond, func() bool {
		resp, err := client.Get("http://" + addr + "/api/health")
		lastErr = err
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}) {
		t.Fatalf("no request served within 10s of freeing a slot: %v", lastErr)
	}
}

// openStream opens /api/events/stream and returns the response.
func openStream(t *testing.T, ctx context.Context, url string) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestSidecarStreamCapPerClient(t *testing.T) {
	f := newFixture(t)
	d := f.full()
	d.MaxStreamsPerClient = 2
	addr, reg := startSidecar(t, d, SidecarOptions{})
	url := "http://" + addr + "/api/events/stream"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := openStream(t, ctx, url)
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	second := openStream(t, ctx2, url)
	for i, resp := range []*http.Response{first, second} {
		if resp.StatusCode != 200 {
			t.Fatalf("stream %d: status %d; want 200", i, resp.StatusCode)
		}
		// The first view event proves the stream is being served.
		readSSE(resp.Body).next(t, "view")
	}
	third := openStream(t, context.Background(), url)
	if third.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third stream from one client: status %d; want 429", third.StatusCode)
	}
	if got := refusedCount(t, reg, RefusedStreamLimit); got != 1 {
		t.Errorf("meshmon_http_refused_total{reason=stream_limit} = %v; want 1", got)
	}
	// Ending a stream frees its slot.
	cancel2()
	status := 0
	if !pollUntil(10*time.Second, 20*time.Millisecond, func() bool {
		resp := openStream(t, ctx, url)
		status = resp.StatusCode
		if status == 200 {
			return true
		}
		resp.Body.Close()
		return false
	}) {
		t.Fatalf("a new stream still refused (%d) 10s after one ended", status)
	}
}

// TestSidecarStreamOutlivesTimeouts checks that the read and write
// timeouts, meant for ordinary requests, do not cut an event stream.
func TestSidecarStreamOutlivesTimeouts(t *testing.T) {
	f := newFixture(t)
	d := f.full()
	d.StreamInterval = 50 * time.Millisecond
	addr, _ := startSidecar(t, d, SidecarOptions{ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp := openStream(t, ctx, "http://"+addr+"/api/events/stream")
	r := readSSE(resp.Body)
	r.next(t, "view")
	start := time.Now()
	beats := 0
	for time.Since(start) < time.Second {
		// An unchanged view is followed by "alive" beats; either
		// fails the test if the stream ends.
		r.next(t, "alive")
		beats++
	}
	if beats < 2 {
		t.Errorf("%d stream beats in 1s; want several", beats)
	}
}

func TestSidecarDefaultIsOpenAndPlain(t *testing.T) {
	f := newFixture(t)
	addr, _ := startSidecar(t, f.full(), SidecarOptions{})
	for _, p := range []string{"/", "/api/view", "/api/raw/prod", "/metrics", "/api/health", "/api/p2p"} {
		resp := get(t, "http://"+addr+p, nil)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s without access control = %d; want 200", p, resp.StatusCode)
		}
	}
}

// pollUntil checks cond every period until it holds or timeout passes, and
// tells whether it held.
func pollUntil(timeout, period time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		if cond() {
			return true
		}
		select {
		case <-deadline.C:
			return cond()
		case <-tick.C:
		}
	}
}
