package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshmon/meshmon/internal/syncbuf"
)

const secretToken = "super-secret-token-9f8e7d"

// fakeDiscord is an httptest server that records every request and answers
// each according to a script (the last entry repeats).
type fakeDiscord struct {
	srv *httptest.Server

	// mu protects the following fields.
	mu       sync.Mutex
	requests []recorded
	script   []answerFunc
	arrived  chan struct{} // closed and replaced on every request
}

type recorded struct {
	path   string
	header http.Header
	body   []byte
}

type answerFunc func(w http.ResponseWriter, r *http.Request)

func status(code int, body string, header ...string) answerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		if body != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

// hang answers only when the client gives up.
func hang(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

func newFakeDiscord(t *testing.T, script ...answerFunc) *fakeDiscord {
	f := &fakeDiscord{script: script, arrived: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.requests = append(f.requests, recorded{r.URL.Path, r.Header.Clone(), body})
		answer := f.script[min(len(f.requests), len(f.script))-1]
		close(f.arrived)
		f.arrived = make(chan struct{})
		f.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// url is the webhook URL, with a token that must never be logged.
func (f *fakeDiscord) url() string { return f.srv.URL + "/api/webhooks/123/" + secretToken }

func (f *fakeDiscord) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func (f *fakeDiscord) request(i int) recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[i]
}

// waitRequests waits until n requests have arrived.
func (f *fakeDiscord) waitRequests(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		f.mu.Lock()
		got, ch := len(f.requests), f.arrived
		f.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("%d requests arrived; want %d", got, n)
		}
	}
}

// harness runs one Sender against a fake server with a fake clock.
type harness struct {
	s         *Sender
	clk       *fakeClock
	logs      *syncbuf.Buffer
	delivered chan Delivery
	failed    chan Failure
	latencies chan time.Duration
}

func startSender(t *testing.T, url string, mod func(*SenderConfig)) *harness {
	t.Helper()
	return startSenderClock(t, url, newFakeClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)), mod)
}

func startSenderClock(t *testing.T, url string, clk *fakeClock, mod func(*SenderConfig)) *harness {
	t.Helper()
	h := &harness{
		clk:       clk,
		logs:      &syncbuf.Buffer{},
		delivered: make(chan Delivery, 100),
		failed:    make(chan Failure, 100),
		latencies: make(chan time.Duration, 100),
	}
	tr := &http.Transport{}
	cfg := SenderConfig{
		Webhook:        NewWebhook("ops", TypeDiscord, url),
		Formatter:      DiscordFormatter{SentBy: "web-1"},
		Client:         &http.Client{Transport: tr},
		Clock:          h.clk,
		Logger:         slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Timeout:        5 * time.Second,
		MaxAttempts:    3,
		BaseBackoff:    time.Second,
		Jitter:         func(d time.Duration) time.Duration { return d },
		OnDelivered:    func(d Delivery) { h.delivered <- d },
		OnFailed:       func(f Failure) { h.failed <- f },
		ObserveLatency: func(d time.Duration) { h.latencies <- d },
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v; want nil", err)
		}
		tr.CloseIdleConnections()
		if strings.Contains(h.logs.String(), secretToken) {
			t.Errorf("logs contain the webhook URL:\n%s", h.logs.String())
		}
	})
	return h
}

func (h *harness) waitDelivered(t *testing.T) Delivery {
	t.Helper()
	select {
	case d := <-h.delivered:
		return d
	case f := <-h.failed:
		t.Fatalf("failed: %+v", f)
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery")
	}
	return Delivery{}
}

func (h *harness) waitFailed(t *testing.T) Failure {
	t.Helper()
	select {
	case f := <-h.failed:
		return f
	case d := <-h.delivered:
		t.Fatalf("delivered: %+v", d)
	case <-time.After(10 * time.Second):
		t.Fatal("no failure")
	}
	return Failure{}
}

func (h *harness) noOutcome(t *testing.T) {
	t.Helper()
	select {
	case d := <-h.delivered:
		t.Fatalf("unexpected delivery %+v", d)
	case f := <-h.failed:
		t.Fatalf("unexpected failure %+v", f)
	default:
	}
}

func testAlert(node string) Alert {
	a := alertAt(node, KindOffline, t0)
	a.Since, a.Agreeing, a.Live = t0, 2, 3
	return a
}

func TestSenderDelivers(t *testing.T) {
	srv := newFakeDiscord(t, status(http.StatusNoContent, ""))
	h := startSender(t, srv.url(), nil)
	a := testAlert("db-1")
	if dropped := h.s.Enqueue(a); dropped != nil {
		t.Fatalf("Enqueue dropped %v", dropped)
	}
	d := h.waitDelivered(t)
	if len(d.AlertIDs) != 1 || d.AlertIDs[0] != a.ID || d.Attempts != 1 || d.Webhook != "ops" {
		t.Errorf("Delivery = %+v; want %s in one attempt", d, a.ID)
	}
	if l := <-h.latencies; l != 0 {
		t.Errorf("latency = %v; want 0 on a clock that did not move", l)
	}
	r := srv.request(0)
	if r.path != "/api/webhooks/123/"+secretToken || r.header.Get("Content-Type") != "application/json" ||
		!strings.HasPrefix(r.header.Get("User-Agent"), "meshmon/") {
		t.Errorf("request = %s %v", r.path, r.header)
	}
	var m DiscordMessage
	if err := json.Unmarshal(r.body, &m); err != nil || len(m.Embeds) != 1 || m.Embeds[0].Title != "db-1 is offline" {
		t.Errorf("body = %s (%v); want one embed about db-1", r.body, err)
	}
	if st := h.s.Stats(); st != (SenderStats{Sent: 1, Requests: 1}) {
		t.Errorf("Stats = %+v; want 1 sent, 1 request", st)
	}
}

func TestSender429ThenDelivered(t *testing.T) {
	srv := newFakeDiscord(t,
		status(http.StatusTooManyRequests, `{"message": "You are being rate limited.", "retry_after": 2.5, "global": false}`),
		status(http.StatusNoContent, ""))
	h := startSender(t, srv.url(), nil)
	start := h.clk.Now()
	h.s.Enqueue(testAlert("db-1"))
	srv.waitRequests(t, 1)
	h.clk.waitTimer(t, 2500*time.Millisecond)
	h.noOutcome(t)
	if n := srv.count(); n != 1 {
		t.Fatalf("%d requests before retry_after elapsed; want 1", n)
	}
	h.clk.Advance(2500 * time.Millisecond)
	d := h.waitDelivered(t)
	if got := d.At.Sub(start); got != 2500*time.Millisecond || d.Latency != got {
		t.Errorf("delivered after %v (latency %v); want 2.5s", got, d.Latency)
	}
	if d.Attempts != 1 {
		t.Errorf("Attempts = %d; want 1 (a 429 is not an attempt)", d.Attempts)
	}
	if n := srv.count(); n != 2 {
		t.Errorf("requests = %d; want 2", n)
	}
	h.noOutcome(t)
	if st := h.s.Stats(); st.Sent != 1 || st.RateLimited != 1 || st.Retried != 0 || st.Failed != 0 {
		t.Errorf("Stats = %+v; want 1 sent, 1 rate limited", st)
	}
}

// A global 429 (header only, as a proxy may send it) holds back every sender
// sharing the gate.
func TestSender429GlobalHoldsEverySender(t *testing.T) {
	gate := &RateGate{}
	srv1 := newFakeDiscord(t, status(http.StatusTooManyRequests, "", "Retry-After", "3", "X-RateLimit-Global", "true"),
		status(http.StatusNoContent, ""))
	srv2 := newFakeDiscord(t, status(http.StatusNoContent, ""))
	h1 := startSender(t, srv1.url(), func(c *SenderConfig) { c.Gate = gate })
	h2 := startSenderClock(t, srv2.url(), h1.clk, func(c *SenderConfig) { c.Gate = gate })

	h1.s.Enqueue(testAlert("db-1"))
	srv1.waitRequests(t, 1)
	h1.clk.waitTimers(t, 3*time.Second, 1)
	if got, want := gate.Until(), h1.clk.Now().Add(3*time.Second); !got.Equal(want) {
		t.Fatalf("gate closed until %v; want %v", got, want)
	}
	h2.s.Enqueue(testAlert("db-2"))
	// The second sender waits on the gate too: a second 3 s timer, no request.
	h1.clk.waitTimers(t, 3*time.Second, 2)
	if n := srv2.count(); n != 0 {
		t.Fatalf("second sender posted %d requests while the global limit was in force", n)
	}
	h2.noOutcome(t)
	h1.clk.Advance(3 * time.Second)
	h1.waitDelivered(t)
	h2.waitDelivered(t)
}

func TestSender5xxBacksOffThenFails(t *testing.T) {
	srv := newFakeDiscord(t, status(http.StatusInternalServerError, `{"message": "oops"}`))
	h := startSender(t, srv.url(), nil)
	h.s.Enqueue(testAlert("db-1"))
	srv.waitRequests(t, 1)
	h.clk.waitTimer(t, time.Second) // backoff after attempt 1
	h.clk.Advance(time.Second)
	srv.waitRequests(t, 2)
	h.clk.waitTimer(t, 2*time.Second) // doubled after attempt 2
	h.noOutcome(t)
	h.clk.Advance(2 * time.Second)
	f := h.waitFailed(t)
	var se *StatusError
	if !errors.As(f.Err, &se) || se.Code != 500 || f.Permanent || f.Attempts != 3 || len(f.AlertIDs) != 1 {
		t.Errorf("Failure = %+v; want 3 attempts ending in status 500", f)
	}
	if n := srv.count(); n != 3 {
		t.Errorf("requests = %d; want 3", n)
	}
	if st := h.s.Stats(); st.Failed != 1 || st.Retried != 2 || st.Requests != 3 || st.Sent != 0 {
		t.Errorf("Stats = %+v; want 1 failed after 2 retries", st)
	}
	if ev := f.Event("prod"); ev.Severity != "error" || ev.Kind != "delivery" || !strings.Contains(ev.Message, "ops") {
		t.Errorf("Event = %+v", ev)
	}
}

func TestSender404FailsAtOnce(t *testing.T) {
	srv := newFakeDiscord(t, status(http.StatusNotFound, `{"message": "Unknown Webhook", "code": 10015}`))
	h := startSender(t, srv.url(), nil)
	h.s.Enqueue(testAlert("db-1"))
	f := h.waitFailed(t)
	var se *StatusError
	if !errors.As(f.Err, &se) || se.Code != 404 || !f.Permanent || f.Attempts != 1 {
		t.Errorf("Failure = %+v; want one permanent 404", f)
	}
	if n := srv.count(); n != 1 {
		t.Errorf("requests = %d; want exactly 1", n)
	}
	if armed := h.clk.armed(); len(armed) != 0 {
		t.Errorf("timers armed after a 404: %v; want none (no retry)", armed)
	}
	if st := h.s.Stats(); st.Failed != 1 || st.Retried != 0 || st.Requests != 1 {
		t.Errorf("Stats = %+v; want 1 failed, no retry", st)
	}
}

func TestSenderTimeoutIsRetried(t *testing.T) {
	srv := newFakeDiscord(t, hang, status(http.StatusNoContent, ""))
	h := startSender(t, srv.url(), nil)
	h.s.Enqueue(testAlert("db-1"))
	srv.waitRequests(t, 1)
	h.clk.waitTimer(t, 5*time.Second) // the request timeout
	h.clk.Advance(5 * time.Second)
	h.clk.waitTimer(t, time.Second) // backoff
	h.noOutcome(t)
	h.clk.Advance(time.Second)
	d := h.waitDelivered(t)
	if d.Attempts != 2 || d.Latency != 6*time.Second {
		t.Errorf("Delivery = %+v; want 2 attempts after 6s", d)
	}
	if st := h.s.Stats(); st.Timeouts != 1 || st.Retried != 1 || st.Sent != 1 {
		t.Errorf("Stats = %+v; want 1 timeout, 1 retry, 1 sent", st)
	}
}

func TestSenderTimeoutError(t *testing.T) {
	srv := newFakeDiscord(t, hang)
	h := startSender(t, srv.url(), func(c *SenderConfig) { c.MaxAttempts = 1 })
	h.s.Enqueue(testAlert("db-1"))
	srv.waitRequests(t, 1)
	h.clk.waitTimer(t, 5*time.Second)
	h.clk.Advance(5 * time.Second)
	if f := h.waitFailed(t); !errors.Is(f.Err, ErrTimeout) || f.Permanent {
		t.Errorf("Failure = %+v; want a timeout", f)
	}
}

// Alerts queued together go out grouped; a bucket that says it is empty
// holds the next request back.
func TestSenderGroupsAndHonoursBucket(t *testing.T) {
	srv := newFakeDiscord(t, status(http.StatusNoContent, "", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset-After", "1.5"))
	h := startSender(t, srv.url(), nil)
	var alerts []Alert
	for i := range 15 {
		alerts = append(alerts, testAlert(string(rune('a'+i))))
	}
	h.s.Enqueue(alerts...)
	d1 := h.waitDelivered(t)
	h.clk.waitTimer(t, 1500*time.Millisecond)
	if n := srv.count(); n != 1 {
		t.Fatalf("requests = %d before the bucket reset; want 1", n)
	}
	h.clk.Advance(1500 * time.Millisecond)
	d2 := h.waitDelivered(t)
	if len(d1.AlertIDs)+len(d2.AlertIDs) != 15 || len(d1.AlertIDs) != DiscordMaxEmbeds {
		t.Errorf("deliveries carry %d + %d alerts; want 10 + 5", len(d1.AlertIDs), len(d2.AlertIDs))
	}
	for i := range 2 {
		var m DiscordMessage
		if err := json.Unmarshal(srv.request(i).body, &m); err != nil {
			t.Fatal(err)
		}
		checkDiscordLimits(t, m)
	}
}

func TestSenderQueueDropsOldest(t *testing.T) {
	s, err := NewSender(SenderConfig{Webhook: NewWebhook("ops", TypeDiscord, "https://example.invalid/x"), QueueSize: 2,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := testAlert("a"), testAlert("b"), testAlert("c")
	a.Covers = []string{"covered"}
	if d := s.Enqueue(a, b); d != nil {
		t.Fatalf("Enqueue dropped %v", d)
	}
	d := s.Enqueue(c)
	if len(d) != 2 || d[0] != a.ID || d[1] != "covered" {
		t.Errorf("Enqueue dropped %v; want the oldest alert and what it covers", d)
	}
	if s.QueueLen() != 2 || s.Stats().Dropped != 1 {
		t.Errorf("QueueLen, Dropped = %d, %d; want 2, 1", s.QueueLen(), s.Stats().Dropped)
	}
}

func TestSenderStopsWhileBackingOff(t *testing.T) {
	srv := newFakeDiscord(t, status(http.StatusBadGateway, ""))
	h := startSender(t, srv.url(), nil)
	h.s.Enqueue(testAlert("db-1"))
	srv.waitRequests(t, 1)
	h.clk.waitTimer(t, time.Second)
	// Cleanup cancels Run mid-backoff; it must return nil without a
	// callback, and goleak checks nothing is left behind.
}

func TestSenderRunOnce(t *testing.T) {
	s, err := NewSender(SenderConfig{Webhook: NewWebhook("ops", TypeDiscord, "https://example.invalid/x")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	for range 2 {
		go func() { done <- s.Run(ctx) }()
	}
	// One of the two holds the sender until ctx ends; the other fails at once.
	if err := <-done; !errors.Is(err, errRunning) {
		t.Errorf("concurrent Run = %v; want %v", err, errRunning)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("first Run = %v; want nil", err)
	}
}

// Neither logs nor errors ever show the webhook URL, whatever goes wrong.
func TestSenderNeverShowsURL(t *testing.T) {
	srv := newFakeDiscord(t, status(http.StatusInternalServerError, ""), status(http.StatusTooManyRequests, `{"retry_after": 1}`),
		status(http.StatusNotFound, ""))
	h := startSender(t, srv.url(), func(c *SenderConfig) { c.MaxAttempts = 5 })
	h.s.Enqueue(testAlert("db-1"))
	srv.waitRequests(t, 1)
	h.clk.waitTimer(t, time.Second)
	h.clk.Advance(time.Second)
	srv.waitRequests(t, 2)
	h.clk.waitTimer(t, time.Second)
	h.clk.Advance(time.Second)
	f1 := h.waitFailed(t)

	// A network error: nothing listens at the URL any more.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/api/webhooks/123/" + secretToken
	dead.Close()
	h2 := startSender(t, deadURL, func(c *SenderConfig) { c.MaxAttempts = 1 })
	h2.s.Enqueue(testAlert("db-1"))
	f2 := h2.waitFailed(t)

	// A URL that does not parse.
	_, err := NewSender(SenderConfig{Webhook: NewWebhook("bad", TypeDiscord, "ht!tp://x/"+secretToken)})
	if err == nil {
		t.Fatal("NewSender accepted a bad URL")
	}
	for _, s := range []string{f1.Err.Error(), f1.Event("n").Message, f2.Err.Error(), f2.Event("n").Message, err.Error()} {
		if strings.Contains(s, secretToken) || strings.Contains(s, "/api/webhooks") {
			t.Errorf("error shows the URL: %s", s)
		}
		if !strings.Contains(s, "ops") && !strings.Contains(s, "bad") {
			t.Errorf("error does not name the webhook: %s", s)
		}
	}
	for _, logs := range []string{h.logs.String(), h2.logs.String()} {
		if !strings.Contains(logs, `"webhook":"ops"`) {
			t.Errorf("logs do not name the webhook:\n%s", logs)
		}
	}
}

// TestSenderDefaults: a SenderConfig's zero tunables take the values of
// DefaultSenderConfig, and set ones are kept.
func TestSenderDefaults(t *testing.T) {
	def := DefaultSenderConfig()
	s, err := NewSender(SenderConfig{Webhook: NewWebhook("ops", TypeJSON, "https://example.invalid/hook")})
	if err != nil {
		t.Fatal(err)
	}
	got := s.cfg
	if got.QueueSize != def.QueueSize || got.Timeout != def.Timeout || got.MaxAttempts != def.MaxAttempts ||
		got.BaseBackoff != def.BaseBackoff || got.MaxBackoff != def.MaxBackoff ||
		got.MaxRetryAfter != def.MaxRetryAfter || got.MaxRateLimited != def.MaxRateLimited ||
		got.Clock == nil || got.Jitter == nil {
		t.Errorf("NewSender(zero tunables).cfg = %+v; want DefaultSenderConfig's values %+v", got, def)
	}
	if def.QueueSize != 256 || def.Timeout != 10*time.Second || def.MaxAttempts != 5 || def.MaxRateLimited != 20 {
		t.Errorf("DefaultSenderConfig() = %+v; want the documented 256, 10s, 5, 20", def)
	}
	s, err = NewSender(SenderConfig{Webhook: NewWebhook("ops", TypeJSON, "https://example.invalid/hook"), QueueSize: 3, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.QueueSize != 3 || s.cfg.Timeout != time.Second {
		t.Errorf("NewSender(QueueSize 3, Timeout 1s).cfg = %d, %s; want them kept", s.cfg.QueueSize, s.cfg.Timeout)
	}
}
