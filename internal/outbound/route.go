package outbound

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"

	"mailserver/internal/dns"
)

// Route sends the mail of a domain to a fixed host instead of its MX hosts.
type Route struct {
	Domain string // "other-agency.gov.vn", or "*.gov.vn" for every subdomain of gov.vn (not gov.vn itself)
	Host   string // host:port; a name is resolved through the Router's Resolver
	TLS    TLSPolicy
}

// Smarthost relays all mail that no Route covers.
type Smarthost struct {
	Host string // host:port; a name is resolved through the Router's Resolver
	TLS  TLSPolicy
	// With Username set, AUTH PLAIN is used, and only ever over TLS: the connection then requires TLS even if
	// TLS says opportunistic or none.
	Username, Password string
}

// Router finds where the mail of a domain goes: a static route (an exact domain beats the longest matching
// "*.suffix"), else the smarthost, else the domain's MX hosts (RFC 5321 5.1).
type Router struct {
	Routes    []Route
	Smarthost *Smarthost
	Resolver  dns.Resolver
	MXPort    string // port of MX hosts; "" means "25"
}

// Target is one address to try.
type Target struct {
	Host               string // host name: for messages, SNI and certificate verification
	Addr               string // ip:port to dial
	TLS                TLSPolicy
	Username, Password string // AUTH PLAIN credentials (smarthost only)
	Via                string // "route", "smarthost", "mx" or "a" (implicit MX)
}

// Targets returns the targets for domain (in ASCII, A-labels for an IDN) in the order to try them, or an *Error.
// Address literals ("[192.0.2.1]") are not routed: they would let any sender aim the server at any address. Nor
// are IP addresses written as domains ("192.0.2.1"), which resolve to themselves and so would be dialled as the
// implicit MX, nor any domain whose last label is all digits, which no top-level domain is (RFC 1123 2.1).
//
// Host names of routes and the smarthost are resolved through the Resolver rather than dialled by name, so that
// every lookup answers from the same source as MX lookups do (the override file of closed networks first), and
// so that each address is a target of its own to fall back on.
func (r *Router) Targets(ctx context.Context, domain string) ([]Target, error) {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if !routable(domain) {
		return nil, permanent("5.1.2", fmt.Sprintf("cannot route to domain %q", domain), nil)
	}
	if rt, ok := r.route(domain); ok {
		return r.hostTargets(ctx, Target{TLS: rt.TLS, Via: "route"}, rt.Host)
	}
	if sh := r.Smarthost; sh != nil {
		return r.hostTargets(ctx, Target{TLS: sh.TLS, Username: sh.Username, Password: sh.Password, Via: "smarthost"},
			sh.Host)
	}
	return r.mxTargets(ctx, domain)
}

// routable reports whether domain (lower case, without the final dot) names hosts rather than an address: it is
// not empty, not an address literal (RFC 5321 4.1.3), not an IP address, and its top-level label is not all digits
// (RFC 1123 2.1), so "127.1" does not reach a resolver that would read it as an address.
func routable(domain string) bool {
	if domain == "" || strings.HasPrefix(domain, "[") {
		return false
	}
	if _, err := netip.ParseAddr(domain); err == nil {
		return false
	}
	tld := domain[strings.LastIndexByte(domain, '.')+1:]
	return strings.Trim(tld, "0123456789") != ""
}

// route finds the static route of domain (lower case).
func (r *Router) route(domain string) (Route, bool) {
	best, bestLen := -1, -1
	for i, rt := range r.Routes {
		d := strings.ToLower(strings.TrimSuffix(rt.Domain, "."))
		if d == domain {
			return rt, true
		}
		if suffix, ok := strings.CutPrefix(d, "*."); ok && strings.HasSuffix(domain, "."+suffix) && len(suffix) > bestLen {
			best, bestLen = i, len(suffix)
		}
	}
	if best < 0 {
		return Route{}, false
	}
	return r.Routes[best], true
}

// hostTargets resolves the host:port of a route or the smarthost into targets like proto. A name that does not
// resolve is a configuration fault here, not the recipient's: the mail waits for it to be fixed.
func (r *Router) hostTargets(ctx context.Context, proto Target, hostport string) ([]Target, error) {
	fail := func(status, text string, err error) error {
		e := temporary(status, text, err)
		e.Via = proto.Via
		return e
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || host == "" || port == "" {
		return nil, fail("4.3.5", fmt.Sprintf("%s host %q is not host:port", proto.Via, hostport), err)
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if ip := net.ParseIP(host); ip != nil {
		proto.Host, proto.Addr = host, net.JoinHostPort(host, port)
		return []Target{proto}, nil
	}
	targets, err := r.addrTargets(ctx, nil, proto, host, port)
	switch {
	case dns.IsNotFound(err):
		return nil, fail("4.4.4", fmt.Sprintf("%s host %s does not exist", proto.Via, host), err)
	case err != nil:
		return nil, fail("4.4.3", fmt.Sprintf("looking up %s host %s: %v", proto.Via, host, err), err)
	}
	return targets, nil
}

// mxTargets finds the targets of domain in DNS: its MX hosts, or the domain itself when it has no MX.
func (r *Router) mxTargets(ctx context.Context, domain string) ([]Target, error) {
	port := cmp.Or(r.MXPort, "25")
	mxs, err := r.Resolver.LookupMX(ctx, domain)
	// A resolver may return the usable records alongside an error about malformed ones; the records win.
	if len(mxs) == 0 && err != nil && !dns.IsNotFound(err) {
		return nil, temporary("4.4.3", fmt.Sprintf("looking up MX of %s: %v", domain, err), err)
	}
	if len(mxs) == 0 {
		// No MX: the domain itself is the implicit MX (RFC 5321 5.1).
		targets, err := r.addrTargets(ctx, nil, Target{TLS: TLSOpportunistic, Via: "a"}, domain, port)
		switch {
		case dns.IsNotFound(err):
			return nil, permanent("5.1.2", fmt.Sprintf("domain %s does not exist or has no mail server", domain), err)
		case err != nil:
			return nil, temporary("4.4.3", fmt.Sprintf("looking up %s: %v", domain, err), err)
		}
		return targets, nil
	}

	hosts := mxHosts(mxs)
	if len(hosts) == 0 {
		return nil, permanent("5.1.10", fmt.Sprintf("domain %s accepts no mail (null MX)", domain), nil)
	}
	var targets []Target
	var lastErr error
	allNotFound := true
	for _, host := range hosts {
		targets, err = r.addrTargets(ctx, targets, Target{TLS: TLSOpportunistic, Via: "mx"}, host, port)
		if err != nil {
			lastErr = err
			allNotFound = allNotFound && dns.IsNotFound(err)
		}
	}
	switch {
	case len(targets) > 0:
		return targets, nil
	case allNotFound:
		return nil, permanent("5.4.4", fmt.Sprintf("no MX host of %s exists", domain), lastErr)
	default:
		return nil, temporary("4.4.3", fmt.Sprintf("looking up the MX hosts of %s: %v", domain, lastErr), lastErr)
	}
}

// mxHosts orders MX host names by preference, shuffling equal preferences to spread the load (RFC 5321 5.1), and
// leaves out "." (RFC 7505 null MX): none left means the domain accepts no mail.
func mxHosts(mxs []*net.MX) []string {
	mxs = slices.Clone(mxs)
	rand.Shuffle(len(mxs), func(i, j int) { mxs[i], mxs[j] = mxs[j], mxs[i] })
	slices.SortStableFunc(mxs, func(a, b *net.MX) int { return cmp.Compare(a.Pref, b.Pref) })
	var hosts []string
	for _, mx := range mxs {
		if host := strings.ToLower(strings.TrimSuffix(mx.Host, ".")); host != "" && !slices.Contains(hosts, host) {
			hosts = append(hosts, host)
		}
	}
	return hosts
}

// addrTargets appends to targets one target like proto for each address of host, IPv4 first (IPv6 routes are the
// likelier to be missing on agency networks), skipping addresses already there.
func (r *Router) addrTargets(ctx context.Context, targets []Target, proto Target, host, port string) ([]Target, error) {
	addrs, err := r.Resolver.LookupIPAddr(ctx, host)
	if err != nil {
		return targets, err
	}
	if len(addrs) == 0 {
		return targets, dns.NotFound(host)
	}
	slices.SortStableFunc(addrs, func(a, b net.IPAddr) int { return cmp.Compare(family(a.IP), family(b.IP)) })
	for _, a := range addrs {
		t := proto
		t.Host, t.Addr = host, net.JoinHostPort(a.String(), port)
		if !slices.ContainsFunc(targets, func(o Target) bool { return o.Addr == t.Addr }) {
			targets = append(targets, t)
		}
	}
	return targets, nil
}

// family is 4 or 6, the IP version of ip.
func family(ip net.IP) int {
	if ip.To4() != nil {
		return 4
	}
	return 6
}
