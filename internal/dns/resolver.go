// Package dns is the one way the server looks names up: SPF, DKIM and DMARC checks of inbound mail and MX routing of
// outbound mail all go through a Resolver, so that a static override file (closed government networks, tests)
// answers before the system resolver.
//
// The override file ([dns] records) is a zone file in master-file syntax (RFC 1035), read with miekg/dns's zone
// parser, holding MX, TXT, A, AAAA, CNAME, SRV and PTR records, with $ORIGIN, $TTL, $GENERATE and parentheses as
// BIND zone files and DKIM key generators write them.
// A name the file lists is answered from the file alone, so that what the operator wrote is the whole truth about
// it; other names go to the system resolver.
package dns

import (
	"context"
	"errors"
	"net"
)

// Resolver answers the queries mail needs. *net.Resolver satisfies it, and so does blitiri.com.ar/go/spf's
// DNSResolver. A name or record that does not exist is reported as a *net.DNSError with IsNotFound set.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// NotFound is the error for a name or record that does not exist.
func NotFound(name string) error {
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// IsNotFound reports whether err says the name or record does not exist (rather than that the lookup failed).
func IsNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}
