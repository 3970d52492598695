// Package netaddr answers the questions the servers ask about a client's address: is it on loopback (where the dev
// default relaxes TLS), and which block of addresses do limits apply to.
package netaddr

import (
	"net"
	"net/netip"
	"strings"
)

// IsLoopback reports whether addr is a TCP address on the loopback network (127.0.0.0/8, ::1).
func IsLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// Client returns the block a per-client limit applies to: the IPv4 address itself, or the /64 of an IPv6 address,
// which one host (or one customer) usually owns whole. An IPv4-mapped IPv6 address counts as IPv4.
func Client(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap().WithZone("")
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// ParseClient is Client for "ip" or "ip:port" text; ok is false when s is neither.
func ParseClient(s string) (p netip.Prefix, ok bool) {
	ip, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		ip = ap.Addr()
	}
	return Client(ip), true
}

// Host is the client's IP address without the port, for logs and the audit trail; "" for no address.
func Host(addr net.Addr) string {
	if addr == nil {
		return ""
	}
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP != nil {
		return tcp.IP.String()
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}

// IsLoopbackHost says whether the host part of a listen address is this machine only: localhost, 127.0.0.0/8 or
// ::1. An empty host, or 0.0.0.0 and ::, listens on every address.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
