package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// resolvConf is where the default DNS server is read from.
const resolvConf = "/etc/resolv.conf"

// dnsType returns the type code of a record type a dns probe may ask for.
func dnsType(name string) (uint16, bool) {
	switch name {
	case "A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV", "PTR", "SOA":
		return dns.StringToType[name], true
	}
	return 0, false
}

// probeDNS asks s.Server (or the system's first nameserver) for s.Host's
// records of s.RecordType: NOERROR with at least one answer of that type
// is Up; any other rcode, or no such answer, is Down.
func probeDNS(ctx context.Context, s Spec) Result {
	return queryDNS(ctx, s, resolvConf)
}

// queryDNS is probeDNS with the resolv.conf path as a parameter.
func queryDNS(ctx context.Context, s Spec, resolvPath string) Result {
	rtype := strings.ToUpper(s.RecordType)
	if rtype == "" {
		rtype = "A"
	}
	qtype, ok := dnsType(rtype)
	if !ok {
		return Result{Status: Down, Reason: fmt.Sprintf("unsupported record type %q", s.RecordType)}
	}
	name := s.Host
	if qtype == dns.TypePTR && net.ParseIP(name) != nil {
		rev, err := dns.ReverseAddr(name)
		if err != nil {
			return Result{Status: Down, Reason: "bad address: " + err.Error()}
		}
		name = rev
	}
	name = dns.Fqdn(name)
	if _, ok := dns.IsDomainName(name); !ok || name == "." && s.Host != "." {
		return Result{Status: Down, Reason: fmt.Sprintf("bad name %q", s.Host)}
	}
	server := s.Server
	if server == "" {
		var err error
		if server, err = resolvServer(resolvPath); err != nil {
			return Result{Status: Down, Reason: err.Error()}
		}
	}
	if _, _, err := net.SplitHostPort(server); err != nil {
		server = net.JoinHostPort(strings.Trim(server, "[]"), "53")
	}

	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = true
	m.SetEdns0(4096, false)
	// Timeout is only a fallback: the context's deadline, the probe's
	// timeout, is what bounds the exchange.
	c := &dns.Client{Net: "udp", Timeout: s.Timeout}
	start := time.Now()
	in, rtt, err := c.ExchangeContext(ctx, m, server)
	if err == nil && in.Truncated {
		c.Net = "tcp"
		in, rtt, err = c.ExchangeContext(ctx, m, server)
	}
	if err != nil {
		return Result{Status: Down, Latency: time.Since(start), Reason: errReason(err, s.Timeout), Detail: "server " + server}
	}
	if in.Rcode != dns.RcodeSuccess {
		rcode, ok := dns.RcodeToString[in.Rcode]
		if !ok {
			rcode = fmt.Sprintf("rcode %d", in.Rcode)
		}
		return Result{Status: Down, Latency: rtt, Reason: "DNS " + rcode, Detail: "server " + server}
	}
	var answers []string
	for _, rr := range in.Answer {
		if rr.Header().Rrtype == qtype {
			answers = append(answers, strings.TrimSpace(strings.TrimPrefix(rr.String(), rr.Header().String())))
		}
	}
	if len(answers) == 0 {
		return Result{Status: Down, Latency: rtt, Reason: "no " + rtype + " record", Detail: "server " + server}
	}
	return Result{Status: Up, Latency: rtt, Detail: rtype + " " + strings.Join(answers, ", ") + " from " + server}
}

// resolvServer returns the first nameserver of a resolv.conf file, as host:port.
func resolvServer(path string) (string, error) {
	conf, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return "", fmt.Errorf("no DNS server: %w", err)
	}
	if len(conf.Servers) == 0 {
		return "", errors.New("no DNS server: no nameserver in " + path)
	}
	return net.JoinHostPort(conf.Servers[0], conf.Port), nil
}
