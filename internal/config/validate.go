package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Limits that Validate enforces.
const (
	minMessageSize = KB
	// maxMessageSize keeps an upload within IMAP's hard-coded 5-minute
	// literal deadline on ordinary links and bounds per-message memory.
	maxMessageSize = GB
	// maxShutdownTimeout keeps a stop bounded: a service manager kills what takes longer than its own limit anyway.
	maxShutdownTimeout = 10 * time.Minute
	// maxSocketPath is sun_path's size on BSD/macOS (108 on Linux) minus
	// the terminating NUL, the tighter of the two.
	maxSocketPath = 103
)

// Validate checks c and reports every problem found on one line, separated
// by "; ", each starting with the TOML key it concerns, e.g.
// `smtp.max_message_size: must be at least 1KB`.
func (c Config) Validate() error {
	var problems []string
	add := func(key, format string, args ...any) {
		problems = append(problems, key+": "+fmt.Sprintf(format, args...))
	}

	if c.DataDir == "" {
		add("data_dir", "must not be empty")
	} else if p := c.SocketPath(); len(p) > maxSocketPath {
		add("data_dir", "control socket path %q is %d bytes, longer than the %d a Unix socket allows: choose a shorter folder", p, len(p), maxSocketPath)
	}
	if err := checkHostname(c.Hostname); err != nil {
		add("hostname", "%v", err)
	}
	switch strings.ToLower(c.LogFormat) {
	case "text", "json":
	default:
		add("log_format", "%q is not text or json", c.LogFormat)
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		add("log_level", "%q is not debug, info, warn or error", c.LogLevel)
	}

	c.validateListeners(add)

	if c.SMTP.MaxMessageSize < minMessageSize {
		add("smtp.max_message_size", "must be at least %v", minMessageSize)
	} else if c.SMTP.MaxMessageSize > maxMessageSize {
		add("smtp.max_message_size", "must be at most %v", maxMessageSize)
	}
	if c.MessageMemory < c.SMTP.MaxMessageSize {
		add("message_memory", "must be at least smtp.max_message_size (%v), or no message that large could be received", c.SMTP.MaxMessageSize)
	}
	if c.SMTP.MaxRecipients < 1 {
		add("smtp.max_recipients", "must be at least 1")
	}
	if c.SMTP.MaxConnectionsPerIP < 1 {
		add("smtp.max_connections_per_ip", "must be at least 1")
	}
	if c.Sieve.MaxScriptSize < KB || c.Sieve.MaxScriptSize > 16*MB {
		add("sieve.max_script_size", "must be from 1KB to 16MB")
	}
	if c.Sieve.MaxScripts < 1 || c.Sieve.MaxScripts > 1000 {
		add("sieve.max_scripts", "must be from 1 to 1000")
	}
	for _, d := range c.Sieve.ForwardDomains {
		if name := strings.TrimPrefix(d, "*."); name == "" || strings.ContainsAny(name, "*@ ") || !strings.Contains(name, ".") {
			add("sieve.forward_domains", "%q is not a domain or *.domain", d)
		}
	}
	if c.IMAP.MaxConnectionsPerIP < 1 {
		add("imap.max_connections_per_ip", "must be at least 1")
	}
	if time.Duration(c.SMTP.ReadTimeout) < time.Second {
		add("smtp.read_timeout", "must be at least 1s")
	}
	if time.Duration(c.SMTP.WriteTimeout) < time.Second {
		add("smtp.write_timeout", "must be at least 1s")
	}
	if d := time.Duration(c.ShutdownTimeout); d < time.Second || d > maxShutdownTimeout {
		add("shutdown_timeout", "must be from 1s to %v", Duration(maxShutdownTimeout))
	}
	c.validateGateway(add)
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		add("tls", "set both cert and key, or neither for a self-signed certificate")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// validateListeners checks each listen address and that no two listeners
// share one, which would otherwise only fail at bind time.
func (c Config) validateListeners(add func(key, format string, args ...any)) {
	listeners := []struct{ key, addr string }{
		{"smtp.mx", c.SMTP.MX},
		{"smtp.submission", c.SMTP.Submission},
		{"smtp.submissions", c.SMTP.Submissions},
		{"imap.listen", c.IMAP.Listen},
		{"imap.listen_tls", c.IMAP.ListenTLS},
		{"http.listen", c.HTTP.Listen},
		{"http.listen_tls", c.HTTP.ListenTLS},
		{"metrics.listen", c.Metrics.Listen},
		{"sieve.managesieve", c.Sieve.ManageSieve},
	}
	type bound struct{ key, host, port string }
	var bounds []bound
	for _, l := range listeners {
		if l.addr == "" {
			continue // disabled
		}
		host, port, err := net.SplitHostPort(l.addr)
		if err != nil {
			add(l.key, "%q is not host:port", l.addr)
			continue
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil {
			add(l.key, "%q: port must be a number from 0 to 65535", l.addr)
			continue
		} else if n == 0 {
			continue // an ephemeral port (tests) never collides
		}
		for _, b := range bounds {
			if b.port == port && (b.host == host || wildcard(b.host) || wildcard(host)) {
				add(l.key, "%q collides with %s", l.addr, b.key)
			}
		}
		bounds = append(bounds, bound{l.key, host, port})
	}
}

// Warnings lists what is allowed but probably unintended, one line each starting with the TOML key it concerns, for
// the server to log at start.
func (c Config) Warnings() []string {
	var warnings []string
	if c.Metrics.Listen != "" && c.Metrics.BearerTokenFile == "" && !loopbackListen(c.Metrics.Listen) {
		warnings = append(warnings, fmt.Sprintf("metrics.listen: %q is not a loopback address and no "+
			"metrics.bearer_token_file is set: anyone who can reach it reads the server's metrics", c.Metrics.Listen))
	}
	return warnings
}

// loopbackListen reports whether a listen address binds only the loopback interface.
func loopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// wildcard reports whether a listen host means every interface.
func wildcard(host string) bool { return host == "" || host == "0.0.0.0" || host == "::" }

// checkHostname accepts a DNS name such as mail.example.gov.vn or localhost.
func checkHostname(h string) error {
	if h == "" {
		return errors.New("must not be empty")
	}
	if len(h) > 253 {
		return fmt.Errorf("%q is longer than 253 characters", h)
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if !validLabel(label) {
			return fmt.Errorf("%q is not a valid host name", h)
		}
	}
	return nil
}

// validLabel reports whether s is an LDH label (RFC 1123 section 2.1).
func validLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
