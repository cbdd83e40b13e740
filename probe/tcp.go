package probe

import (
	"context"
	"net"
	"time"
)

// probeTCP opens one TCP connection to s.Host (host:port) and closes it.
func probeTCP(ctx context.Context, s Spec) Result {
	var d net.Dialer
	start := time.Now()
	conn, err := d.DialContext(ctx, "tcp", s.Host)
	latency := time.Since(start)
	if err != nil {
		return Result{Status: Down, Latency: latency, Reason: errReason(err, s.Timeout)}
	}
	detail := "connected to " + conn.RemoteAddr().String()
	conn.Close()
	return Result{Status: Up, Latency: latency, Detail: detail}
}
