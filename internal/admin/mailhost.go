package admin

import (
	"net"
	"strconv"

	"mailserver/internal/config"
	"mailserver/internal/netaddr"
)

// ClientListeners are the addresses (host:port) of the listeners mail clients connect to; "" for one that is off.
type ClientListeners struct {
	Submission, Submissions, IMAP, IMAPS, HTTPS string
}

// ConfiguredListeners are the client listeners as the configuration gives them.
func ConfiguredListeners(cfg config.Config) ClientListeners {
	return ClientListeners{Submission: cfg.SMTP.Submission, Submissions: cfg.SMTP.Submissions,
		IMAP: cfg.IMAP.Listen, IMAPS: cfg.IMAP.ListenTLS, HTTPS: cfg.HTTP.ListenTLS}
}

// MailHostFor is how clients and other servers reach this server according to its configuration: its host name,
// the ports of its client listeners that others can reach, and the smarthost that outbound mail leaves through.
// 'mailserver domain dns' publishes it.
func MailHostFor(cfg config.Config) MailHost {
	return MailHostOn(cfg, ConfiguredListeners(cfg), false)
}

// MailHostOn is MailHostFor with the listeners at addrs: a running server passes the addresses it bound, where a
// configured port 0 has become a real one. With loopbackToo, listeners on loopback only are offered as well, for a
// client on this machine, which reaches them (the dev default listens on loopback only).
func MailHostOn(cfg config.Config, addrs ClientListeners, loopbackToo bool) MailHost {
	port := func(addr string) int { return listenerPort(addr, loopbackToo) }
	return MailHost{Hostname: cfg.Hostname, Submission: port(addrs.Submission), Submissions: port(addrs.Submissions),
		IMAP: port(addrs.IMAP), IMAPS: port(addrs.IMAPS), HTTPS: port(addrs.HTTPS),
		Smarthost: hostOf(cfg.Smarthost.Host)}
}

// listenerPort is the port clients connect to at a listen address, or 0 for none: no listener, or one on loopback
// only when loopbackToo is false, which only this machine reaches.
func listenerPort(addr string, loopbackToo bool) int {
	host, p, err := net.SplitHostPort(addr)
	if err != nil || (!loopbackToo && netaddr.IsLoopbackHost(host)) {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

// hostOf is the host part of a host:port address, or "" when there is none.
func hostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "" // config validation refuses such an address
	}
	return host
}
