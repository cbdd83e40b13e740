package p2p

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"

	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
	"github.com/prometheus/client_golang/prometheus"
)

// NewBootstrapClient returns the HTTP client that fetches members'
// /api/p2p: it keeps no idle connection (a fetch happens only when a member
// cannot be dialled, so a kept socket would only linger), uses no proxy
// from the environment (libp2p dials members directly anyway), and follows
// a redirect only to the same scheme, host and port.
func NewBootstrapClient() *http.Client {
	return &http.Client{
		Timeout: bootstrapTimeout,
		Transport: &http.Transport{
			DisableKeepAlives:      true,
			DialContext:            (&net.Dialer{Timeout: bootstrapTimeout}).DialContext,
			TLSHandshakeTimeout:    bootstrapTimeout,
			ResponseHeaderTimeout:  bootstrapTimeout,
			MaxResponseHeaderBytes: 64 << 10,
		},
		CheckRedirect: sameOriginRedirect,
	}
}

// sameOriginRedirect refuses a redirect to another scheme, host or port,
// and more than 3 redirects.
func sameOriginRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return errors.New("more than 3 redirects")
	}
	from := via[0].URL
	if !strings.EqualFold(req.URL.Scheme, from.Scheme) || !strings.EqualFold(req.URL.Host, from.Host) {
		return fmt.Errorf("redirect to another host (%s) refused", (&url.URL{Scheme: req.URL.Scheme, Host: req.URL.Host}).String())
	}
	return nil
}

// FetchP2PInfo GETs <base>/api/p2p, reading at most 1 MiB of answer. It
// also returns the IP address that answered (nil if unknown), whose scope
// bounds the addresses to trust (BootstrapAddrs).
func FetchP2PInfo(ctx context.Context, c *http.Client, base string) (P2PInfo, net.IP, error) {
	var (
		info   P2PInfo
		served net.IP
	)
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) {
		if a, ok := ci.Conn.RemoteAddr().(*net.TCPAddr); ok {
			served = a.IP
		}
	}})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/api/p2p", nil)
	if err != nil {
		return info, nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return info, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return info, served, fmt.Errorf("status %s", resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxP2PInfoBody)).Decode(&info); err != nil {
		return info, served, fmt.Errorf("decode: %w", err)
	}
	return info, served, nil
}

// addrScope is how far an address reaches.
type addrScope uint8

const (
	scopeUnusable addrScope = iota // unspecified, or not an IP or DNS address
	scopeLoopback                  // this machine
	scopePrivate                   // a private network: RFC 1918, ULA, link-local, .localhost
	scopeOther                     // special-use: CGNAT (e.g. Tailscale), documentation, .local
	scopePublic                    // the internet, including public DNS names
)

// scopeOf classifies a multiaddr by its first IP or DNS component (for a
// relay address, the relay's).
func scopeOf(a ma.Multiaddr) addrScope {
	switch {
	case manet.IsIPUnspecified(a):
		return scopeUnusable
	case manet.IsIPLoopback(a):
		return scopeLoopback
	case manet.IsPublicAddr(a):
		return scopePublic
	case manet.IsPrivateAddr(a):
		return scopePrivate
	}
	if _, err := manet.ToIP(a); err == nil {
		return scopeOther
	}
	for _, c := range a {
		switch c.Protocol().Code {
		case ma.P_DNS, ma.P_DNS4, ma.P_DNS6, ma.P_DNSADDR:
			return scopeOther
		}
	}
	return scopeUnusable
}

// trusts reports whether an address of scope addr may be dialled when it
// came from a member whose url was served from an address of scope served:
// a public url vouches only for public addresses; a private or special-use
// one also for private and special-use ones (never for loopback: that
// would be this machine); a loopback url (a member on this machine) for
// any usable address.
func trusts(served, addr addrScope) bool {
	if addr == scopeUnusable {
		return false
	}
	switch served {
	case scopeLoopback:
		return true
	case scopePrivate, scopeOther:
		return addr != scopeLoopback
	case scopePublic:
		return addr == scopePublic
	}
	return false
}

// BootstrapAddrs returns the addresses of a member's /api/p2p answer that
// are as far-reaching as the address that served it (see trusts), and how
// many it dropped. A nil served address is judged as public (strictest).
func BootstrapAddrs(served net.IP, addrs []string) (keep []ma.Multiaddr, dropped int) {
	servedScope := scopePublic
	if served != nil {
		if m, err := manet.FromIP(served); err == nil {
			servedScope = scopeOf(m)
		}
	}
	for _, s := range addrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil || !trusts(servedScope, scopeOf(a)) {
			dropped++
			continue
		}
		keep = append(keep, a)
	}
	return keep, dropped
}

// registerHostMetrics exports the host's own counters:
// meshmon_bootstrap_addrs_dropped_total and
// meshmon_relay_reservation_failures_total.
func (h *Host) registerHostMetrics(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "meshmon_bootstrap_addrs_dropped_total",
			Help: "Addresses in members' /api/p2p answers not dialled because they reach further than the address that answered (e.g. private addresses from a public url).",
		}, func() float64 { return float64(h.bootstrapDropped.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "meshmon_relay_reservation_failures_total",
			Help: "Relay reservations this node (behind NAT) failed to take or renew on a connected public member; retried every 2 s.",
		}, func() float64 { return float64(h.reserveFailures.Load()) }),
	} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register host metrics: %w", err)
		}
	}
	return nil
}

// BootstrapDropped returns how many bootstrap addresses were dropped for
// their scope.
func (h *Host) BootstrapDropped() uint64 { return h.bootstrapDropped.Load() }
