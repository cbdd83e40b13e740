package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// errPprofNotLoopback is returned for a --pprof-listen address that is not
// a loopback IP: profiles show memory contents and cost CPU, so they are
// never offered beyond this machine (or this network namespace).
var errPprofNotLoopback = errors.New("pprof listen address must be a loopback IP (127.0.0.0/8 or ::1)")

// pprofListener checks that addr is a loopback host:port and listens on it.
func pprofListener(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("pprof listen %q: %w", addr, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("pprof listen %q: %w", addr, errPprofNotLoopback)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof listen: %w", err)
	}
	return ln, nil
}

// pprofHandler serves the runtime profiles under /debug/pprof/ on its own
// mux (never http.DefaultServeMux).
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// servePprof serves pprofHandler on ln until ctx ends. It is off unless
// --pprof-listen is set; `make profile` uses it.
func servePprof(ctx context.Context, log *slog.Logger, ln net.Listener) {
	srv := &http.Server{Handler: pprofHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	log.Info("serving pprof", "addr", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("pprof server stopped", "err", err)
	}
}
