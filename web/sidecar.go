package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// SidecarOptions are the HTTP server's limits, access control and TLS.
// Zero values take the defaults given.
type SidecarOptions struct {
	// ReadTimeout bounds reading one request (default 30s).
	ReadTimeout time.Duration
	// WriteTimeout bounds writing one response (default 60s); event
	// streams set their own deadline per write instead.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle for this long
	// (default 120s).
	IdleTimeout time.Duration
	// MaxConns caps open connections; one more is closed at once and
	// counted (default 512).
	MaxConns int
	// Access, when set, requires credentials (see AccessControl).
	Access *AccessControl
	// TLSCertFile and TLSKeyFile, when both set, serve HTTPS from these
	// PEM files, read again when they change.
	TLSCertFile, TLSKeyFile string
	// Registerer receives meshmon_http_refused_total and
	// meshmon_http_tls_reloads_total; nil registers nothing.
	Registerer prometheus.Registerer
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Now is the clock of the certificate reloader; default time.Now.
	Now func() time.Time
}

// Sidecar defaults.
const (
	defaultReadTimeout  = 30 * time.Second
	defaultWriteTimeout = 60 * time.Second
	defaultIdleTimeout  = 120 * time.Second
	defaultMaxConns     = 512
	// readHeaderTimeout bounds reading a request's headers.
	readHeaderTimeout = 10 * time.Second
)

// Sidecar is the node's HTTP server: NewServer's routes behind access
// control and gzip, with timeouts, a connection cap and optional TLS.
type Sidecar struct {
	srv      *http.Server
	maxConns int
	refused  func(reason string)
	tls      bool
}

// NewSidecar builds the server over d. It fails when the TLS files cannot
// be loaded or the metrics cannot be registered.
func NewSidecar(d Deps, o SidecarOptions) (*Sidecar, error) {
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = defaultReadTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = defaultWriteTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = defaultIdleTimeout
	}
	if o.MaxConns <= 0 {
		o.MaxConns = defaultMaxConns
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	refusedVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "meshmon_http_refused_total",
		Help: "HTTP connections and requests the sidecar refused, by reason (connection_limit, stream_limit, unauthorized).",
	}, []string{"reason"})
	reloadVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "meshmon_http_tls_reloads_total",
		Help: "Reloads of the HTTPS certificate after its files changed, by outcome (ok, error: the previous certificate is kept).",
	}, []string{"outcome"})
	for _, r := range []string{RefusedConnLimit, RefusedStreamLimit, RefusedUnauthorized} {
		refusedVec.WithLabelValues(r)
	}
	for _, r := range []string{"ok", "error"} {
		reloadVec.WithLabelValues(r)
	}
	if o.Registerer != nil {
		if err := o.Registerer.Register(refusedVec); err != nil {
			return nil, fmt.Errorf("http: register metrics: %w", err)
		}
		if o.TLSCertFile != "" {
			if err := o.Registerer.Register(reloadVec); err != nil {
				return nil, fmt.Errorf("http: register metrics: %w", err)
			}
		}
	}
	refused := func(reason string) { refusedVec.WithLabelValues(reason).Inc() }
	d.refused = refused

	var h http.Handler = NewServer(d)
	if o.Access != nil {
		h = newAuthHandler(h, *o.Access, refused)
	}
	h = newGzipHandler(h)
	s := &Sidecar{
		maxConns: o.MaxConns,
		refused:  refused,
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: min(readHeaderTimeout, o.ReadTimeout),
			ReadTimeout:       o.ReadTimeout,
			WriteTimeout:      o.WriteTimeout,
			IdleTimeout:       o.IdleTimeout,
			ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelDebug),
		},
	}
	if o.TLSCertFile != "" || o.TLSKeyFile != "" {
		certs, err := newCertReloader(o.TLSCertFile, o.TLSKeyFile, o.Logger, o.Now,
			func(outcome string) { reloadVec.WithLabelValues(outcome).Inc() })
		if err != nil {
			return nil, err
		}
		s.srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.GetCertificate}
		s.tls = true
	}
	return s, nil
}

// TLS reports whether the sidecar serves HTTPS.
func (s *Sidecar) TLS() bool { return s.tls }

// Serve accepts connections on ln until Shutdown or Close; it returns
// http.ErrServerClosed then.
func (s *Sidecar) Serve(ln net.Listener) error {
	ln = newLimitListener(ln, s.maxConns, func() { s.refused(RefusedConnLimit) })
	if s.tls {
		return s.srv.ServeTLS(ln, "", "")
	}
	return s.srv.Serve(ln)
}

// Shutdown stops accepting, closes idle connections and waits for active
// requests until ctx ends (see http.Server.Shutdown; event streams end
// only when Deps.Done closes).
func (s *Sidecar) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close closes every connection at once.
func (s *Sidecar) Close() error { return s.srv.Close() }
