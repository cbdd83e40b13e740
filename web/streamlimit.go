package web

import (
	"net"
	"net/http"
	"sync"
)

// defaultMaxStreamsPerClient is Deps.MaxStreamsPerClient's default.
const defaultMaxStreamsPerClient = 8

// streamLimiter caps the open event streams per client IP address.
type streamLimiter struct {
	max int

	// mu protects the following fields.
	mu   sync.Mutex
	open map[string]int // by client IP
}

func newStreamLimiter(max int) *streamLimiter {
	return &streamLimiter{max: max, open: map[string]int{}}
}

// acquire takes a stream slot for r's client; it reports false when the
// client already has max streams open. Call the returned func when the
// stream ends.
func (l *streamLimiter) acquire(r *http.Request) (release func(), ok bool) {
	ip := clientIP(r)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip] >= l.max {
		return nil, false
	}
	l.open[ip]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.open[ip]--; l.open[ip] <= 0 {
				delete(l.open, ip)
			}
		})
	}, true
}

// clientIP is the IP address of r's peer (no proxy header is trusted: a
// client could forge it to dodge the cap).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
