package autoconfig

import (
	"net"
	"strconv"

	"mailserver/internal/admin"
	"mailserver/internal/carddav"
)

// endpoint is one way to reach a service.
type endpoint struct {
	Host        string
	Port        int
	ImplicitTLS bool // TLS from the first byte; otherwise STARTTLS
}

// settings are what a mail client needs, each service's endpoints in order of preference: implicit TLS first, as
// RFC 8314 section 3 recommends, then STARTTLS. Services not offered to the client are left out.
type settings struct {
	Host       string
	IMAP, SMTP []endpoint
	HTTPS      int // port of the HTTPS listener (address book, Autodiscover); 0: not offered
}

func settingsFor(h admin.MailHost) settings {
	return settings{Host: h.Hostname,
		IMAP:  endpoints(h.Hostname, h.IMAPS, h.IMAP),
		SMTP:  endpoints(h.Hostname, h.Submissions, h.Submission),
		HTTPS: h.HTTPS}
}

// endpoints lists the implicit-TLS port, then the STARTTLS one, skipping either when it is 0 (not offered).
func endpoints(host string, implicitTLS, startTLS int) []endpoint {
	var out []endpoint
	if implicitTLS > 0 {
		out = append(out, endpoint{Host: host, Port: implicitTLS, ImplicitTLS: true})
	}
	if startTLS > 0 {
		out = append(out, endpoint{Host: host, Port: startTLS})
	}
	return out
}

// httpsURL is the URL of path on the HTTPS listener, or "" when it is not offered.
func (s settings) httpsURL(path string) string {
	if s.HTTPS <= 0 {
		return ""
	}
	host := s.Host
	if s.HTTPS != 443 {
		host = net.JoinHostPort(s.Host, strconv.Itoa(s.HTTPS))
	}
	return "https://" + host + path
}

// addressBookURL is where the CardDAV address book is, or "" when the HTTPS listener is not offered.
func (s settings) addressBookURL() string { return s.httpsURL(carddav.ContextPath) }
