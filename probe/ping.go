package probe

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// notPermittedReason is the Reason of a ping that may open no ICMP socket.
const notPermittedReason = `ping not permitted: set sysctl net.ipv4.ping_group_range="0 2147483647" or grant CAP_NET_RAW`

// icmpListener opens an ICMP socket; icmp.ListenPacket in production. It is
// the seam through which tests drive the "not permitted" branch.
type icmpListener func(network, address string) (*icmp.PacketConn, error)

// probePing sends one ICMP echo request to s.Host and waits for its reply.
func probePing(ctx context.Context, s Spec) Result {
	return ping(ctx, s, icmp.ListenPacket)
}

// ping is probePing with the socket opener as a parameter.
func ping(ctx context.Context, s Spec, listen icmpListener) Result {
	ip, err := pingTarget(ctx, s.Host)
	if err != nil {
		return Result{Status: Down, Reason: errReason(err, s.Timeout)}
	}
	v4 := ip.To4() != nil
	conn, raw, res := openICMP(v4, listen)
	if conn == nil {
		return res
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()

	var idSeq [4]byte
	payload := make([]byte, 16)
	rand.Read(idSeq[:])
	rand.Read(payload)
	echo := &icmp.Echo{
		ID:   int(idSeq[0])<<8 | int(idSeq[1]),
		Seq:  int(idSeq[2])<<8 | int(idSeq[3]),
		Data: payload,
	}
	msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: echo}
	proto, replyType := 1, icmp.Type(ipv4.ICMPTypeEchoReply)
	if !v4 {
		msg.Type = ipv6.ICMPTypeEchoRequest
		proto, replyType = 58, ipv6.ICMPTypeEchoReply
	}
	b, err := msg.Marshal(nil)
	if err != nil {
		return Result{Status: Down, Reason: "ping: " + err.Error()}
	}
	var dst net.Addr = &net.UDPAddr{IP: ip}
	kind := "datagram socket"
	if raw {
		dst, kind = &net.IPAddr{IP: ip}, "raw socket"
	}

	start := time.Now()
	if _, err := conn.WriteTo(b, dst); err != nil {
		return Result{Status: Down, Latency: time.Since(start), Reason: errReason(err, s.Timeout)}
	}
	buf := make([]byte, 1500)
	for {
		n, peer, err := conn.ReadFrom(buf)
		if err != nil {
			return Result{Status: Down, Latency: time.Since(start), Reason: errReason(err, s.Timeout),
				Detail: "no echo reply from " + ip.String() + " (" + kind + ")"}
		}
		rtt := time.Since(start)
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || m.Type != replyType {
			continue
		}
		got, ok := m.Body.(*icmp.Echo)
		// The kernel rewrites the ID of a datagram socket's echo; a raw
		// socket sees every echo reply to this host, so it checks the ID.
		if !ok || got.Seq != echo.Seq || !bytes.Equal(got.Data, payload) || raw && got.ID != echo.ID {
			continue
		}
		if raw && !sameIP(peer, ip) {
			continue
		}
		return Result{Status: Up, Latency: rtt, Detail: "echo reply from " + ip.String() + " (" + kind + ")"}
	}
}

// pingTarget resolves host to one address, preferring IPv4.
func pingTarget(ctx context.Context, host string) (net.IP, error) {
	if ip := net.ParseIP(host); ip != nil {
		return ip, nil
	}
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	for _, ip := range ips {
		if ip.To4() != nil {
			return ip, nil
		}
	}
	if len(ips) == 0 {
		return nil, &net.DNSError{Err: "no address", Name: host, IsNotFound: true}
	}
	return ips[0], nil
}

// openICMP opens the unprivileged datagram ICMP socket, or failing that the
// raw one (root or CAP_NET_RAW). raw tells which it is. When neither opens,
// conn is nil and res is the Down result saying why.
func openICMP(v4 bool, listen icmpListener) (conn *icmp.PacketConn, raw bool, res Result) {
	dgram, rawNet, addr := "udp4", "ip4:icmp", "0.0.0.0"
	if !v4 {
		dgram, rawNet, addr = "udp6", "ip6:ipv6-icmp", "::"
	}
	c, dErr := listen(dgram, addr)
	if dErr == nil {
		return c, false, Result{}
	}
	c, rErr := listen(rawNet, addr)
	if rErr == nil {
		return c, true, Result{}
	}
	detail := fmt.Sprintf("%s: %v; %s: %v", dgram, dErr, rawNet, rErr)
	if notPermitted(dErr) && notPermitted(rErr) {
		return nil, false, Result{Status: Down, Reason: notPermittedReason, Detail: detail}
	}
	reason := rErr
	if notPermitted(rErr) {
		reason = dErr
	}
	return nil, false, Result{Status: Down, Reason: "ping socket: " + errReason(reason, 0), Detail: detail}
}

// notPermitted tells whether err is a refusal to open a socket.
func notPermitted(err error) bool {
	return errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM)
}

// sameIP tells whether addr is ip.
func sameIP(addr net.Addr, ip net.IP) bool {
	switch a := addr.(type) {
	case *net.IPAddr:
		return a.IP.Equal(ip)
	case *net.UDPAddr:
		return a.IP.Equal(ip)
	}
	return false
}
