package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/version"
)

// DefaultSenderConfig returns every tunable of a Sender with its default,
// in one place (as memberlist's DefaultLANConfig): NewSender gives each zero
// field of a SenderConfig the value here. Webhook, Formatter, Client,
// Logger, Gate and the callbacks have no tunable default.
func DefaultSenderConfig() SenderConfig {
	return SenderConfig{
		// Clock: the system clock.
		Clock: SystemClock{},
		// QueueSize: 256 alerts may wait for delivery; when full, the
		// oldest is dropped and counted.
		QueueSize: 256,
		// Timeout: 10s bound one HTTP request, answer included.
		Timeout: 10 * time.Second,
		// MaxAttempts: 5 requests per payload on 5xx, timeouts and network
		// errors (429s do not count).
		MaxAttempts: 5,
		// BaseBackoff: 1s wait after the first failed attempt, doubled per
		// attempt.
		BaseBackoff: time.Second,
		// MaxBackoff: 1m caps the wait between attempts.
		MaxBackoff: time.Minute,
		// MaxRetryAfter: 10m caps how long a 429's retry_after may make a
		// payload wait.
		MaxRetryAfter: 10 * time.Minute,
		// MaxRateLimited: 20 429s in a row and the payload is given up.
		MaxRateLimited: 20,
		// Jitter: a uniform wait in [d/2, d) for a backoff d.
		Jitter: equalJitter,
	}
}

// maxAnswer is how much of an answer body is read.
const maxAnswer = 64 << 10

// Errors a Failure may wrap; test with errors.Is / errors.As.
var (
	// ErrTimeout: the request took longer than SenderConfig.Timeout.
	ErrTimeout = errors.New("request timed out")
	// ErrRateLimited: the payload was rate limited MaxRateLimited times in
	// a row.
	ErrRateLimited = errors.New("rate limited too often")
)

// StatusError is an HTTP answer that is neither 2xx nor retried.
type StatusError struct {
	// Code is the HTTP status code.
	Code int
}

// Error returns "http status <code>".
func (e *StatusError) Error() string { return "http status " + strconv.Itoa(e.Code) }

// SenderConfig configures a Sender. Zero values take the defaults of
// DefaultSenderConfig.
type SenderConfig struct {
	// Webhook is where to post. Required.
	Webhook Webhook
	// Formatter builds the payloads; default FormatterFor(Webhook, "").
	Formatter Formatter
	// Client makes the requests; default a client on http.DefaultTransport.
	// Redirects are never followed (a copy of the client is used).
	Client *http.Client
	// Clock is the time source for timeouts, waits and latencies; default
	// SystemClock.
	Clock Clock
	// Logger receives the sender's logs, narrowed with the webhook's name
	// (never its URL); default slog.Default(). Narrow it with the network.
	Logger *slog.Logger
	// Gate is shared by all Discord senders of the node for the global rate
	// limit; default a gate of this sender's own.
	Gate *RateGate
	// QueueSize is how many alerts may wait (default 256); when
	// full, the oldest is dropped and counted.
	QueueSize int
	// Timeout bounds each request (default 10s).
	Timeout time.Duration
	// MaxAttempts is how many requests a payload gets on 5xx, timeouts and
	// network errors (default 5). 429s do not count.
	MaxAttempts int
	// BaseBackoff is the wait after the first failed attempt, doubled per
	// attempt (default 1s).
	BaseBackoff time.Duration
	// MaxBackoff caps the wait between attempts (default 1m).
	MaxBackoff time.Duration
	// MaxRetryAfter caps the wait a 429 asks for (default:
	// 10m).
	MaxRetryAfter time.Duration
	// MaxRateLimited is how many 429s in a row a payload takes before it
	// fails (default 20).
	MaxRateLimited int
	// Jitter randomises a backoff; default: a uniform value in [d/2, d).
	Jitter func(d time.Duration) time.Duration
	// OnDelivered is called after a 2xx, from the worker goroutine; it must
	// not block. The leader marks the IDs delivered and publishes Delivered.
	OnDelivered func(Delivery)
	// OnFailed is called when a payload is given up, from the worker
	// goroutine; it must not block.
	OnFailed func(Failure)
	// ObserveLatency, when set, receives each delivered payload's latency
	// from its earliest Enqueue to the 2xx (for a histogram).
	ObserveLatency func(time.Duration)
}

// Delivery is a payload the webhook accepted (2xx).
type Delivery struct {
	// Webhook is the webhook's name.
	Webhook string
	// AlertIDs are the alerts delivered, covered ones included.
	AlertIDs []string
	// Attempts is how many requests it took (429s not counted).
	Attempts int
	// Latency is from the earliest Enqueue of its alerts to the 2xx.
	Latency time.Duration
	// At is when the 2xx arrived.
	At time.Time
}

// Failure is a payload given up.
type Failure struct {
	// Webhook is the webhook's name.
	Webhook string
	// AlertIDs are the alerts not delivered.
	AlertIDs []string
	// Attempts is how many requests were made (429s not counted).
	Attempts int
	// Permanent is true for answers retrying cannot fix (a 4xx such as 404
	// for a deleted webhook): the webhook's config needs attention.
	Permanent bool
	// Err says why; it never contains the URL.
	Err error
	// At is when it was given up.
	At time.Time
}

// Event describes the delivery for the node's event log.
func (d Delivery) Event(network string) health.Event {
	return health.Event{
		Time: d.At, Network: network, Kind: "delivery", Severity: health.SeverityInfo,
		Message: fmt.Sprintf("delivered %d alert(s) to webhook %s", len(d.AlertIDs), d.Webhook),
	}
}

// Event describes the failure for the node's event log.
func (f Failure) Event(network string) health.Event {
	return health.Event{
		Time: f.At, Network: network, Kind: "delivery", Severity: health.SeverityError,
		Message: fmt.Sprintf("could not deliver %d alert(s) to webhook %s after %d attempt(s): %v",
			len(f.AlertIDs), f.Webhook, f.Attempts, f.Err),
	}
}

// SenderStats are a Sender's outcome counters since it was made.
type SenderStats struct {
	// Sent counts alerts delivered (2xx).
	Sent uint64
	// Failed counts alerts given up.
	Failed uint64
	// Dropped counts alerts dropped from a full queue.
	Dropped uint64
	// Requests counts HTTP requests made.
	Requests uint64
	// Retried counts requests repeated after a 5xx, timeout or network error.
	Retried uint64
	// RateLimited counts 429 answers.
	RateLimited uint64
	// Timeouts counts requests that timed out.
	Timeouts uint64
}

type queued struct {
	alert Alert
	at    time.Time
}

// Sender delivers alerts to one webhook. Enqueue never blocks; a single
// worker goroutine (Run) posts the payloads one at a time, in order:
//
//   - 2xx: delivered; OnDelivered, and only then.
//   - 429: wait the retry_after of Discord's JSON body (seconds) or the
//     Retry-After header, on the shared RateGate when the limit is global,
//     and try again (not counted as an attempt).
//   - 5xx, 408, timeouts and network errors: exponential backoff with jitter,
//     up to MaxAttempts requests, then OnFailed.
//   - any other answer (e.g. 404 for a deleted webhook): OnFailed at once.
//
// The URL appears in no log line and no error.
type Sender struct {
	cfg     SenderConfig
	client  *http.Client
	log     *slog.Logger
	wake    chan struct{}
	running atomic.Bool

	// notBefore is when the webhook's own rate-limit bucket allows the next
	// request; only the worker touches it.
	notBefore time.Time

	// mu protects the following fields.
	mu    sync.Mutex
	queue []queued

	sent, failed, dropped, requests, retried, rateLimited, timeouts atomic.Uint64
}

// NewSender returns a sender; call Run to start its worker. It fails when the
// webhook's URL is not an absolute http(s) URL (the error does not show it).
func NewSender(cfg SenderConfig) (*Sender, error) {
	u, err := url.Parse(cfg.Webhook.secretURL())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook %s: url must be an absolute http or https URL", cfg.Webhook.Name)
	}
	if cfg.Formatter == nil {
		cfg.Formatter = FormatterFor(cfg.Webhook, "")
	}
	def := DefaultSenderConfig()
	if cfg.Clock == nil {
		cfg.Clock = def.Clock
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Gate == nil {
		cfg.Gate = &RateGate{}
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = def.QueueSize
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = def.Timeout
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = def.MaxAttempts
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = def.BaseBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = def.MaxBackoff
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = def.MaxRetryAfter
	}
	if cfg.MaxRateLimited <= 0 {
		cfg.MaxRateLimited = def.MaxRateLimited
	}
	if cfg.Jitter == nil {
		cfg.Jitter = def.Jitter
	}
	client := &http.Client{}
	if cfg.Client != nil {
		c := *cfg.Client
		client = &c
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Sender{
		cfg:    cfg,
		client: client,
		log:    cfg.Logger.With("webhook", cfg.Webhook.Name, "type", string(cfg.Webhook.Type)),
		wake:   make(chan struct{}, 1),
	}, nil
}

// equalJitter returns a uniform duration in [d/2, d).
func equalJitter(d time.Duration) time.Duration {
	if d < 2 {
		return d
	}
	return d/2 + rand.N(d-d/2)
}

// Webhook returns the webhook the sender posts to.
func (s *Sender) Webhook() Webhook { return s.cfg.Webhook }

// Enqueue queues alerts for delivery and returns at once. When the queue is
// full the oldest queued alerts are dropped (counted in Stats.Dropped); their
// IDs, covered ones included, are returned so the caller can release them.
// Safe for concurrent use.
func (s *Sender) Enqueue(alerts ...Alert) (dropped []string) {
	if len(alerts) == 0 {
		return nil
	}
	now := s.cfg.Clock.Now()
	s.mu.Lock()
	for _, a := range alerts {
		s.queue = append(s.queue, queued{alert: a, at: now})
	}
	if over := len(s.queue) - s.cfg.QueueSize; over > 0 {
		for _, q := range s.queue[:over] {
			dropped = append(dropped, q.alert.IDs()...)
		}
		s.queue = append([]queued(nil), s.queue[over:]...)
		s.dropped.Add(uint64(over))
	}
	s.mu.Unlock()
	if len(dropped) > 0 {
		s.log.Warn("alert queue full, oldest alerts dropped", "dropped", len(dropped))
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return dropped
}

// QueueLen returns how many alerts wait for the worker.
func (s *Sender) QueueLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// Stats returns the outcome counters.
func (s *Sender) Stats() SenderStats {
	return SenderStats{
		Sent: s.sent.Load(), Failed: s.failed.Load(), Dropped: s.dropped.Load(),
		Requests: s.requests.Load(), Retried: s.retried.Load(),
		RateLimited: s.rateLimited.Load(), Timeouts: s.timeouts.Load(),
	}
}

// errRunning is returned by a second concurrent Run.
var errRunning = errors.New("sender already running")

// Run delivers queued alerts until ctx ends, then returns nil. The payload
// being delivered then is abandoned without a callback (its alerts stay
// undelivered, for the caller to release). Only one Run may be active.
func (s *Sender) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errRunning
	}
	defer s.running.Store(false)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		}
		for {
			batch := s.take()
			if len(batch) == 0 {
				break
			}
			if !s.deliverAll(ctx, batch) {
				return nil
			}
		}
	}
}

func (s *Sender) take() []queued {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue = nil
	return q
}

// deliverAll formats and delivers a batch; false when ctx ended.
func (s *Sender) deliverAll(ctx context.Context, batch []queued) bool {
	alerts := make([]Alert, len(batch))
	enqueued := make(map[string]time.Time, len(batch))
	for i, q := range batch {
		alerts[i] = q.alert
		for _, id := range q.alert.IDs() {
			enqueued[id] = q.at
		}
	}
	payloads, err := s.cfg.Formatter.Format(alerts)
	if err != nil {
		var ids []string
		for _, a := range alerts {
			ids = append(ids, a.IDs()...)
		}
		s.fail(Payload{AlertIDs: ids}, 0, true, err)
		return true
	}
	for _, p := range payloads {
		start := time.Time{}
		for _, id := range p.AlertIDs {
			if t := enqueued[id]; start.IsZero() || t.Before(start) {
				start = t
			}
		}
		if !s.deliver(ctx, p, start) {
			return false
		}
	}
	return true
}

// deliver posts one payload until it is delivered or given up; false when
// ctx ended first.
func (s *Sender) deliver(ctx context.Context, p Payload, start time.Time) bool {
	attempts, limited := 0, 0
	for {
		if err := s.waitGate(ctx); err != nil {
			return false
		}
		attempts++
		s.requests.Add(1)
		res := s.post(ctx, p.Body)
		if res.err != nil && ctx.Err() != nil {
			// Stopped mid-request. A 2xx that made it is still reported
			// below: the webhook has the message.
			return false
		}
		now := s.cfg.Clock.Now()
		switch {
		case res.err == nil && res.code >= 200 && res.code < 300:
			if w := bucketWait(res.header, now); w > 0 {
				s.notBefore = now.Add(min(w, s.cfg.MaxRetryAfter))
			}
			s.sent.Add(uint64(len(p.AlertIDs)))
			d := Delivery{Webhook: s.cfg.Webhook.Name, AlertIDs: p.AlertIDs, Attempts: attempts, Latency: now.Sub(start), At: now}
			s.log.Info("alerts delivered", "alerts", len(p.AlertIDs), "attempts", attempts, "latency", d.Latency)
			if s.cfg.ObserveLatency != nil {
				s.cfg.ObserveLatency(d.Latency)
			}
			if s.cfg.OnDelivered != nil {
				s.cfg.OnDelivered(d)
			}
			return true

		case res.err == nil && res.code == http.StatusTooManyRequests:
			s.rateLimited.Add(1)
			attempts--
			limited++
			if limited >= s.cfg.MaxRateLimited {
				s.fail(p, attempts, false, ErrRateLimited)
				return true
			}
			rl := parseRateLimit(res.header, res.body, now)
			wait := rl.wait
			if wait <= 0 {
				wait = s.backoff(limited)
			}
			wait = min(wait, s.cfg.MaxRetryAfter)
			if rl.global {
				s.cfg.Gate.Block(now.Add(wait))
			} else if t := now.Add(wait); t.After(s.notBefore) {
				s.notBefore = t
			}
			s.log.Warn("webhook rate limited", "retry_after", wait, "global", rl.global)

		case res.err != nil || res.code >= 500 || res.code == http.StatusRequestTimeout:
			err := res.err
			if err == nil {
				err = &StatusError{Code: res.code}
			}
			if errors.Is(err, ErrTimeout) {
				s.timeouts.Add(1)
			}
			if attempts >= s.cfg.MaxAttempts {
				s.fail(p, attempts, false, err)
				return true
			}
			s.retried.Add(1)
			wait := s.backoff(attempts)
			s.log.Warn("webhook delivery failed, retrying", "attempt", attempts, "backoff", wait, "err", err)
			if s.sleep(ctx, wait) != nil {
				return false
			}

		default:
			s.fail(p, attempts, true, &StatusError{Code: res.code})
			return true
		}
	}
}

func (s *Sender) fail(p Payload, attempts int, permanent bool, err error) {
	now := s.cfg.Clock.Now()
	err = fmt.Errorf("webhook %s: %w", s.cfg.Webhook.Name, err)
	s.failed.Add(uint64(len(p.AlertIDs)))
	s.log.Error("webhook delivery failed", "alerts", len(p.AlertIDs), "attempts", attempts, "permanent", permanent, "err", err)
	if s.cfg.OnFailed != nil {
		s.cfg.OnFailed(Failure{
			Webhook: s.cfg.Webhook.Name, AlertIDs: p.AlertIDs, Attempts: attempts,
			Permanent: permanent, Err: err, At: now,
		})
	}
}

// backoff is the jittered wait after the n-th failed attempt.
func (s *Sender) backoff(n int) time.Duration {
	d := s.cfg.BaseBackoff
	for i := 1; i < n && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return s.cfg.Jitter(min(d, s.cfg.MaxBackoff))
}

// waitGate waits until both the global gate and the webhook's bucket allow a
// request.
func (s *Sender) waitGate(ctx context.Context) error {
	for {
		until := s.cfg.Gate.Until()
		if s.notBefore.After(until) {
			until = s.notBefore
		}
		d := until.Sub(s.cfg.Clock.Now())
		if d <= 0 {
			return nil
		}
		if err := s.sleep(ctx, d); err != nil {
			return err
		}
	}
}

func (s *Sender) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := s.cfg.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}

type answer struct {
	code   int
	header http.Header
	body   []byte
	err    error
}

// post makes one request, bounded by the timeout on the injected clock.
func (s *Sender) post(ctx context.Context, body []byte) answer {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var timedOut atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	timer := s.cfg.Clock.NewTimer(s.cfg.Timeout)
	go func() {
		defer wg.Done()
		select {
		case <-timer.C():
			timedOut.Store(true)
			cancel()
		case <-stop:
		}
	}()
	a := s.do(rctx, body)
	timer.Stop()
	close(stop)
	wg.Wait()
	if a.err != nil {
		if timedOut.Load() {
			a.err = ErrTimeout
		} else {
			a.err = s.redact(a.err)
		}
	}
	return a
}

func (s *Sender) do(ctx context.Context, body []byte) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.Webhook.secretURL(), bytes.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "meshmon/"+version.Version)
	resp, err := s.client.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// The webhook accepted the payload; a broken answer body does not
		// undo that.
		err = nil
	}
	return answer{code: resp.StatusCode, header: resp.Header, body: b, err: err}
}

// redact returns err without the webhook's URL: a *url.Error is unwrapped to
// its cause (it quotes the URL), and any remaining occurrence of the URL, its
// path or its token is replaced in the message.
func (s *Sender) redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = fmt.Errorf("%s: %w", strings.ToLower(ue.Op), ue.Err)
	}
	msg := err.Error()
	clean := msg
	secrets := []string{s.cfg.Webhook.secretURL()}
	if u, perr := url.Parse(s.cfg.Webhook.secretURL()); perr == nil {
		if len(u.Path) > 1 {
			secrets = append(secrets, u.Path)
		}
		if i := strings.LastIndexByte(u.Path, '/'); i >= 0 && len(u.Path)-i > 8 {
			secrets = append(secrets, u.Path[i+1:])
		}
		if u.RawQuery != "" {
			secrets = append(secrets, u.RawQuery)
		}
	}
	for _, sec := range secrets {
		clean = strings.ReplaceAll(clean, sec, "<redacted>")
	}
	if clean == msg {
		return err
	}
	return redactedError{msg: clean, err: err}
}

// redactedError keeps the cause for errors.Is/As but shows a cleaned message.
type redactedError struct {
	msg string
	err error
}

// Error returns the cleaned message.
func (e redactedError) Error() string { return e.msg }

// Unwrap returns the cause.
func (e redactedError) Unwrap() error { return e.err }
