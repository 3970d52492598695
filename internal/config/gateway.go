package config

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
)

// RouteConfig is one [[route]] table: mail for Domain goes to Host instead of the domain's MX, for closed networks
// between agencies and for tests.
type RouteConfig struct {
	Domain string `toml:"domain"` // "other-agency.gov.vn", or "*.gov.vn" for every subdomain of gov.vn
	Host   string `toml:"host"`   // host:port
	TLS    string `toml:"tls"`    // see TLSPolicies; empty means opportunistic
}

// SmarthostConfig is the [smarthost] table: when Host is set, mail without a static route goes there instead of
// to the recipient domain's MX (a provincial relay, say).
type SmarthostConfig struct {
	Host         string `toml:"host"`          // host:port; empty: deliver by MX lookup
	TLS          string `toml:"tls"`           // see TLSPolicies; empty means required
	Username     string `toml:"username"`      // AUTH PLAIN, only ever over TLS; empty: no AUTH
	PasswordFile string `toml:"password_file"` // file holding the password (one line); kept out of the config
}

// QueueConfig is the [queue] table: the outbound queue's retry schedule and limits.
type QueueConfig struct {
	// Retry is the wait before each further attempt; after the last step it repeats.
	Retry     []Duration `toml:"retry"`
	MaxAge    Duration   `toml:"max_age"`    // give up and bounce after this long
	WarnAfter Duration   `toml:"warn_after"` // tell the sender once that the message is delayed; 0: never
	// Concurrency bounds simultaneous deliveries; PerDestination those to one recipient domain, so that one slow
	// agency does not take every slot.
	Concurrency    int `toml:"concurrency"`
	PerDestination int `toml:"per_destination"`
	// MXPort is the port of the servers found by MX lookup: 25 everywhere on the Internet; a closed network or
	// a test may differ.
	MXPort int `toml:"mx_port"`
}

// DNSConfig is the [dns] table.
type DNSConfig struct {
	// Records is a zone file (the lines `mailserver domain dns` prints, and MX, TXT, A, AAAA, CNAME, SRV, PTR
	// records of other agencies) answered before the system resolver; empty: none.
	Records string `toml:"records"`
	// System asks the system resolver about names the records file does not have. Turn it off on a closed
	// network where the file is the whole truth.
	System bool `toml:"system"`
}

// InboundConfig is the [inbound] table: how mail arriving on the MX port is checked.
type InboundConfig struct {
	// Verify checks SPF, DKIM and DMARC and records the results in an Authentication-Results header.
	Verify bool `toml:"verify"`
	// DMARCReject is what happens to a message failing DMARC whose domain asks for rejection: "reject" refuses it
	// at the end of DATA (550 5.7.1), "quarantine" delivers it to the recipients' Junk folders.
	DMARCReject string `toml:"dmarc_reject"`
	// DisplayNameSpoof is what happens to a message from another domain whose From or Sender display name shows
	// an address of a domain served here ("an.nv@vinhyen.gov.vn" <x@elsewhere.example>): "junk" delivers it to
	// the recipients' Junk folders with a warning field, "reject" refuses it (550 5.7.1), "off" lets it through.
	// Checked whether or not Verify is on.
	DisplayNameSpoof string `toml:"display_name_spoof"`
}

// DisplayNameSpoofActions are the values of [inbound] display_name_spoof.
var DisplayNameSpoofActions = []string{"junk", "reject", "off"}

// TLSPolicies are the values a route's or the smarthost's tls key takes: "opportunistic" uses STARTTLS when
// offered without checking the certificate, "required" insists on STARTTLS without checking it (encryption
// against eavesdropping), "verify" insists and checks the certificate against the host name, "none" never uses
// TLS.
var TLSPolicies = []string{"opportunistic", "required", "verify", "none"}

func defaultQueue() QueueConfig {
	retry := []Duration{}
	for _, d := range []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour,
		2 * time.Hour, 4 * time.Hour} {
		retry = append(retry, Duration(d))
	}
	return QueueConfig{Retry: retry, MaxAge: Duration(5 * day), WarnAfter: Duration(4 * time.Hour),
		Concurrency: 20, PerDestination: 4, MXPort: 25}
}

// validateGateway checks the outbound and inbound tables.
func (c Config) validateGateway(add func(key, format string, args ...any)) {
	for i, r := range c.Routes {
		key := fmt.Sprintf("route[%d]", i)
		d := strings.TrimPrefix(r.Domain, "*.")
		if d == "" || strings.ContainsAny(d, "@ */") || checkHostname(d) != nil {
			add(key+".domain", "%q is not a domain or *.suffix", r.Domain)
		}
		if _, _, err := net.SplitHostPort(r.Host); err != nil {
			add(key+".host", "%q is not host:port", r.Host)
		}
		checkTLSPolicy(add, key+".tls", r.TLS)
		for j := range i {
			if strings.EqualFold(c.Routes[j].Domain, r.Domain) {
				add(key+".domain", "%q is routed twice (also route[%d])", r.Domain, j)
			}
		}
	}
	if h := c.Smarthost; h.Host != "" {
		if _, _, err := net.SplitHostPort(h.Host); err != nil {
			add("smarthost.host", "%q is not host:port", h.Host)
		}
		checkTLSPolicy(add, "smarthost.tls", h.TLS)
		if h.Username != "" && h.PasswordFile == "" {
			add("smarthost.password_file", "must name the file holding the password for %q", h.Username)
		}
		if h.Username != "" && strings.EqualFold(h.TLS, "none") {
			add("smarthost.tls", "must not be none when username is set: the password would travel in clear")
		}
	}
	q := c.Queue
	if len(q.Retry) == 0 {
		add("queue.retry", "must list at least one wait, e.g. [\"1m\", \"5m\", \"1h\"]")
	}
	for i, d := range q.Retry {
		if time.Duration(d) < time.Second {
			add(fmt.Sprintf("queue.retry[%d]", i), "must be at least 1s")
		}
	}
	if time.Duration(q.MaxAge) < time.Minute {
		add("queue.max_age", "must be at least 1m")
	}
	if q.WarnAfter < 0 || q.WarnAfter >= q.MaxAge && q.WarnAfter != 0 {
		add("queue.warn_after", "must be 0 (never) or shorter than max_age")
	}
	if q.Concurrency < 1 {
		add("queue.concurrency", "must be at least 1")
	}
	if q.PerDestination < 1 || q.PerDestination > q.Concurrency {
		add("queue.per_destination", "must be from 1 to queue.concurrency")
	}
	if q.MXPort < 1 || q.MXPort > 65535 {
		add("queue.mx_port", "must be a port from 1 to 65535")
	}
	switch c.Inbound.DMARCReject {
	case "reject", "quarantine":
	default:
		add("inbound.dmarc_reject", "%q is not reject or quarantine", c.Inbound.DMARCReject)
	}
	if !slices.Contains(DisplayNameSpoofActions, c.Inbound.DisplayNameSpoof) {
		add("inbound.display_name_spoof", "%q is not junk (deliver into Junk), reject (refuse with 550) or off",
			c.Inbound.DisplayNameSpoof)
	}
}

func checkTLSPolicy(add func(key, format string, args ...any), key, v string) {
	if v == "" {
		return
	}
	for _, p := range TLSPolicies {
		if strings.EqualFold(v, p) {
			return
		}
	}
	add(key, "%q is not one of %s", v, strings.Join(TLSPolicies, ", "))
}
