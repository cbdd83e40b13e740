package probe

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// dnsServer is a loopback DNS server on one port for UDP and TCP. Its
// answers depend on the name asked:
//
//	ok.test.        A 192.0.2.1 and 192.0.2.2, TXT "hello", no AAAA
//	alias.test.     CNAME ok.test. then A 192.0.2.1
//	refuse.test.    REFUSED
//	missing.test.   NXDOMAIN
//	fail.test.      SERVFAIL
//	hang.test.      no answer at all
//	tc.test.        over UDP an empty truncated answer; over TCP A 192.0.2.9
//	1.0.0.127.in-addr.arpa.  PTR localhost.
func dnsServer(t *testing.T) string {
	t.Helper()
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		rr := func(s string) dns.RR {
			x, err := dns.NewRR(s)
			if err != nil {
				panic(err)
			}
			return x
		}
		switch q.Name {
		case "ok.test.":
			switch q.Qtype {
			case dns.TypeA:
				m.Answer = []dns.RR{rr("ok.test. 60 IN A 192.0.2.1"), rr("ok.test. 60 IN A 192.0.2.2")}
			case dns.TypeTXT:
				m.Answer = []dns.RR{rr(`ok.test. 60 IN TXT "hello"`)}
			}
		case "alias.test.":
			m.Answer = []dns.RR{rr("alias.test. 60 IN CNAME ok.test."), rr("ok.test. 60 IN A 192.0.2.1")}
		case "refuse.test.":
			m.Rcode = dns.RcodeRefused
		case "missing.test.":
			m.Rcode = dns.RcodeNameError
		case "fail.test.":
			m.Rcode = dns.RcodeServerFailure
		case "hang.test.":
			return
		case "tc.test.":
			if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
				m.Truncated = true
			} else {
				m.Answer = []dns.RR{rr("tc.test. 60 IN A 192.0.2.9")}
			}
		case "1.0.0.127.in-addr.arpa.":
			m.Answer = []dns.RR{rr("1.0.0.127.in-addr.arpa. 60 IN PTR localhost.")}
		default:
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})

	// One port for both UDP and TCP: retry until a free UDP port is free
	// for TCP too.
	var pc net.PacketConn
	var ln net.Listener
	for range 20 {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
		pc = nil
	}
	if pc == nil {
		t.Fatal("no loopback port free for both UDP and TCP")
	}
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait) // runs last, after both Shutdowns
	for _, srv := range []*dns.Server{
		{PacketConn: pc, Handler: handler},
		{Listener: ln, Handler: handler},
	} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv.ActivateAndServe()
		}()
		<-started
		t.Cleanup(func() { srv.Shutdown() })
	}
	return pc.LocalAddr().String()
}

func TestDNS(t *testing.T) {
	server := dnsServer(t)
	tests := []struct {
		name   string
		spec   Spec
		status Status
		reason string
		detail string
	}{
		{"A answered", Spec{Host: "ok.test"}, Up, "", "A 192.0.2.1, 192.0.2.2 from " + server},
		{"fqdn and lower-case type", Spec{Host: "ok.test.", RecordType: "a"}, Up, "", "A 192.0.2.1"},
		{"TXT answered", Spec{Host: "ok.test", RecordType: "TXT"}, Up, "", `TXT "hello"`},
		{"CNAME then A", Spec{Host: "alias.test"}, Up, "", "A 192.0.2.1 from"},
		{"CNAME asked", Spec{Host: "alias.test", RecordType: "CNAME"}, Up, "", "CNAME ok.test."},
		{"no AAAA", Spec{Host: "ok.test", RecordType: "AAAA"}, Down, "no AAAA record", ""},
		{"refused", Spec{Host: "refuse.test"}, Down, "DNS REFUSED", ""},
		{"nxdomain", Spec{Host: "missing.test"}, Down, "DNS NXDOMAIN", ""},
		{"servfail", Spec{Host: "fail.test"}, Down, "DNS SERVFAIL", ""},
		{"truncated retried over TCP", Spec{Host: "tc.test"}, Up, "", "A 192.0.2.9"},
		{"PTR of an IP", Spec{Host: "127.0.0.1", RecordType: "PTR"}, Up, "", "PTR localhost."},
		{"never answers", Spec{Host: "hang.test", Timeout: time.Second}, Down, "timeout after 1s", ""},
		{"unsupported type", Spec{Host: "ok.test", RecordType: "HINFO"}, Down, `unsupported record type "HINFO"`, ""},
		{"bad name", Spec{Host: "a..b"}, Down, `bad name "a..b"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Type, tt.spec.Server = "dns", server
			if tt.spec.Timeout == 0 {
				tt.spec.Timeout = 5 * time.Second
			}
			res := runProbe(t, tt.spec)
			wantResult(t, res, tt.status, tt.reason)
			if !strings.HasPrefix(res.Detail, tt.detail) {
				t.Errorf("Detail = %q; want it to start with %q", res.Detail, tt.detail)
			}
			if tt.reason == "timeout after 1s" && res.Latency < time.Second {
				t.Errorf("Latency = %v; want the time until the timeout", res.Latency)
			}
		})
	}
}

func TestDNSServerWithoutPort(t *testing.T) {
	// A server without a port is asked on 53; nothing listens on
	// 127.0.0.1:53 here unless a resolver does, so only the address is
	// checked, through the Detail of a REFUSED or failed query.
	res := queryDNS(t.Context(), Spec{Type: "dns", Host: "x.test", Server: "127.0.0.1", Timeout: time.Second}, "")
	if !strings.Contains(res.Detail, "127.0.0.1:53") {
		t.Errorf("Detail = %q; want the server 127.0.0.1:53", res.Detail)
	}
}

func TestResolvServer(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, path, want, err string
	}{
		{"first of two", write("two", "search example\nnameserver 127.0.0.53\nnameserver 192.0.2.1\n"), "127.0.0.53:53", ""},
		{"ipv6", write("v6", "nameserver ::1\n"), "[::1]:53", ""},
		{"none", write("none", "search example\n"), "", "no DNS server: no nameserver in "},
		{"missing file", filepath.Join(dir, "absent"), "", "no DNS server: open "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolvServer(tt.path)
			if got != tt.want || (err == nil) != (tt.err == "") || err != nil && !strings.HasPrefix(err.Error(), tt.err) {
				t.Errorf("resolvServer(%s) = %q, %v; want %q, %q…", tt.name, got, err, tt.want, tt.err)
			}
		})
	}
	// A probe without a server asks the resolv.conf one; with none, it is down.
	res := queryDNS(t.Context(), Spec{Type: "dns", Host: "ok.test", Timeout: time.Second}, filepath.Join(dir, "none"))
	wantResult(t, res, Down, "no DNS server: no nameserver in ")
}
