package outbound

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// TLSPolicy says how a connection to a target must be protected.
type TLSPolicy int

const (
	// TLSOpportunistic uses STARTTLS when the server offers it, without checking the certificate, and sends in
	// plain text when it is not offered or the handshake fails (then on a new connection to the same host), like
	// Postfix's "may" level.
	TLSOpportunistic TLSPolicy = iota
	// TLSNone never starts TLS.
	TLSNone
	// TLSRequired needs STARTTLS to succeed but does not check the certificate (Postfix's "encrypt").
	TLSRequired
	// TLSVerify needs STARTTLS to succeed with a certificate that verifies for the target's host name.
	TLSVerify
)

var tlsPolicyNames = [...]string{
	TLSOpportunistic: "opportunistic",
	TLSNone:          "none",
	TLSRequired:      "required",
	TLSVerify:        "verify",
}

// ParseTLSPolicy parses a policy name as String gives it; "" is TLSOpportunistic.
func ParseTLSPolicy(s string) (TLSPolicy, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return TLSOpportunistic, nil
	}
	for p, name := range tlsPolicyNames {
		if s == name {
			return TLSPolicy(p), nil
		}
	}
	return 0, fmt.Errorf("unknown TLS policy %q (want opportunistic, none, required or verify)", s)
}

func (p TLSPolicy) String() string {
	if p >= 0 && int(p) < len(tlsPolicyNames) {
		return tlsPolicyNames[p]
	}
	return fmt.Sprintf("TLSPolicy(%d)", int(p))
}

// policy is the TLS policy in force for t: credentials never travel in plain text, so a target that has them
// requires TLS whatever its policy says.
func (t Target) policy() TLSPolicy {
	if t.Username != "" && (t.TLS == TLSOpportunistic || t.TLS == TLSNone) {
		return TLSRequired
	}
	return t.TLS
}

// tlsConfig is the client configuration for STARTTLS to t under policy p.
func (c *Client) tlsConfig(t Target, p TLSPolicy) *tls.Config {
	cfg := &tls.Config{ServerName: t.Host}
	if p == TLSVerify {
		cfg.RootCAs = c.RootCAs
		return cfg
	}
	// Unverified TLS only defends against passive eavesdropping (RFC 7435), and against that even the TLS 1.0 of
	// an old agency server beats the plain text the handshake failure would otherwise fall back to.
	cfg.InsecureSkipVerify = true
	cfg.MinVersion = tls.VersionTLS10
	return cfg
}
