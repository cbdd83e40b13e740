package probe

import (
	"net"
	"strings"
	"testing"
	"time"
)

func TestTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ln6, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln6.Close()
	tests := []struct {
		name   string
		host   string
		status Status
		reason string
		detail string
	}{
		{"open", ln.Addr().String(), Up, "", "connected to " + ln.Addr().String()},
		{"open ipv6", ln6.Addr().String(), Up, "", "connected to " + ln6.Addr().String()},
		{"closed", closedAddr(t), Down, "connection refused", ""},
		{"no port", "127.0.0.1", Down, "address 127.0.0.1: missing port in address", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runProbe(t, Spec{Type: "tcp", Host: tt.host, Timeout: 5 * time.Second})
			wantResult(t, res, tt.status, tt.reason)
			if !strings.HasPrefix(res.Detail, tt.detail) {
				t.Errorf("Detail = %q; want %q…", res.Detail, tt.detail)
			}
			if tt.status == Up && res.Latency <= 0 {
				t.Errorf("Latency = %v; want the connect time", res.Latency)
			}
		})
	}
}
