package probe

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// runProbe runs s and checks the properties every Result has: a known
// status, Run back within Timeout+1s, Reason ASCII and at most
// MaxReasonBytes, Detail at most MaxDetailBytes.
func runProbe(t *testing.T, s Spec) Result {
	t.Helper()
	return runProbeCtx(t, t.Context(), s)
}

func runProbeCtx(t *testing.T, ctx context.Context, s Spec) Result {
	t.Helper()
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	start := time.Now()
	res := Run(ctx, s)
	if took := time.Since(start); took > timeout+time.Second {
		t.Errorf("Run(%s %q) took %v; want at most %v", s.Type, s.Host, took, timeout+time.Second)
	}
	checkLimits(t, res)
	return res
}

// checkLimits asserts the documented limits of a Result.
func checkLimits(t *testing.T, res Result) {
	t.Helper()
	if res.Status != Up && res.Status != Warn && res.Status != Down {
		t.Errorf("Status = %v; want up, warn or down", res.Status)
	}
	if len(res.Reason) > MaxReasonBytes {
		t.Errorf("len(Reason) = %d (%q); want <= %d", len(res.Reason), res.Reason, MaxReasonBytes)
	}
	for i := 0; i < len(res.Reason); i++ {
		if c := res.Reason[i]; c < 0x20 || c > 0x7e {
			t.Errorf("Reason %q has byte %#x at %d; want printable ASCII", res.Reason, c, i)
			break
		}
	}
	if len(res.Detail) > MaxDetailBytes {
		t.Errorf("len(Detail) = %d; want <= %d", len(res.Detail), MaxDetailBytes)
	}
	if res.Status == Down && res.Reason == "" {
		t.Errorf("Down with no Reason (Detail %q)", res.Detail)
	}
}

// wantResult fails unless res has status st and a Reason starting with reason
// (exactly "" when reason is "").
func wantResult(t *testing.T, res Result, st Status, reason string) {
	t.Helper()
	if res.Status != st || (reason == "" && res.Reason != "") || !strings.HasPrefix(res.Reason, reason) {
		t.Errorf("Run = %v %q (detail %q); want %v %q…", res.Status, res.Reason, res.Detail, st, reason)
	}
}

// closedAddr returns a loopback host:port nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// silentListener returns the address of a loopback TCP listener that
// accepts connections and never writes to them, until the test ends.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

func TestRunUnknownType(t *testing.T) {
	for _, typ := range []string{"", "smtp", strings.Repeat("x", 400)} {
		t.Run(typ[:min(len(typ), 10)], func(t *testing.T) {
			res := runProbe(t, Spec{Type: typ, Host: "127.0.0.1", Timeout: time.Second})
			wantResult(t, res, Down, "unknown probe type")
		})
	}
}

func TestRunTypeIsCaseInsensitive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	res := runProbe(t, Spec{Type: "TCP", Host: ln.Addr().String(), Timeout: 5 * time.Second})
	wantResult(t, res, Up, "")
}

func TestRunParentDeadlineNamesItsTimeout(t *testing.T) {
	addr := silentListener(t)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	res := runProbeCtx(t, ctx, Spec{Type: "tls", Host: addr, Timeout: 30 * time.Second})
	wantResult(t, res, Down, "timeout after ")
	if d, err := time.ParseDuration(strings.TrimPrefix(res.Reason, "timeout after ")); err != nil || d > 300*time.Millisecond {
		t.Errorf("Reason = %q; want the parent's 300ms deadline or less", res.Reason)
	}
}

func TestStatusText(t *testing.T) {
	for _, st := range []Status{Unknown, Up, Warn, Down} {
		b, err := st.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Status
		if err := back.UnmarshalText(b); err != nil || back != st {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", b, back, err, st)
		}
	}
	if got := []string{Up.String(), Warn.String(), Down.String()}; strings.Join(got, ",") != "up,warn,down" {
		t.Errorf("String() = %v; want up, warn, down", got)
	}
	var s Status
	if err := s.UnmarshalText([]byte("sideways")); err == nil {
		t.Errorf("UnmarshalText(sideways) = nil error; want one")
	}
}

func TestResultCleanLimits(t *testing.T) {
	tests := []struct {
		name   string
		in     Result
		reason string
	}{
		{"short ascii kept", Result{Status: Down, Reason: "HTTP 503"}, "HTTP 503"},
		{"micro sign", Result{Status: Down, Reason: "slow: 250µs > 1µs"}, "slow: 250us > 1us"},
		{"newline and utf8", Result{Status: Down, Reason: "a\nb é"}, "a b ?"},
		{"long cut", Result{Status: Down, Reason: strings.Repeat("x", 300)}, strings.Repeat("x", MaxReasonBytes-3) + "..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in.clean()
			if got.Reason != tt.reason {
				t.Errorf("clean().Reason = %q; want %q", got.Reason, tt.reason)
			}
			checkLimits(t, got)
		})
	}
	long := Result{Status: Up, Detail: strings.Repeat("é", 400)}.clean()
	if len(long.Detail) > MaxDetailBytes || !strings.HasSuffix(long.Detail, "é...") {
		t.Errorf("clean() of a long UTF-8 Detail = %d bytes ending %q; want <= %d ending on a whole rune and ...",
			len(long.Detail), long.Detail[len(long.Detail)-6:], MaxDetailBytes)
	}
}

// TestLongReasonsAreCut drives real probes into reasons that would be
// longer than MaxReasonBytes.
func TestLongReasonsAreCut(t *testing.T) {
	srv := newHTTPServer(t)
	long := strings.Repeat("needle-", 40)
	tests := []struct {
		name string
		spec Spec
	}{
		{"body substring", Spec{Type: "http", Host: srv.URL + "/ok", BodyContains: long}},
		{"dns name", Spec{Type: "dns", Host: strings.Repeat("a.", 200), Server: closedAddr(t)}},
		{"record type", Spec{Type: "dns", Host: "x", RecordType: long}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Timeout = 5 * time.Second
			res := runProbe(t, tt.spec)
			if res.Status != Down || !strings.HasSuffix(res.Reason, "...") {
				t.Errorf("Run = %v %q; want down with a reason cut to %d bytes", res.Status, res.Reason, MaxReasonBytes)
			}
		})
	}
}

func TestFmtDur(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{5 * time.Second, "5s"},
		{1234 * time.Millisecond, "1.23s"},
		{12345 * time.Microsecond, "12.3ms"},
		{250 * time.Microsecond, "250us"},
		{1500 * time.Nanosecond, "2us"},
	}
	for _, tt := range tests {
		if got := fmtDur(tt.in); got != tt.want {
			t.Errorf("fmtDur(%v) = %q; want %q", tt.in, got, tt.want)
		}
	}
	if got := slowPair(1001*time.Millisecond, time.Second); got != "1.001s > 1s" {
		t.Errorf("slowPair(1.001s, 1s) = %q; want %q", got, "1.001s > 1s")
	}
}
