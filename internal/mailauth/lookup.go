package mailauth

import (
	"context"
	"errors"
	"net"
	"strings"

	"mailserver/internal/dns"
)

// bounded is the Resolver as the SPF, DKIM and DMARC libraries see it. Each lookup ends when ctx does, even if the
// Resolver ignores ctx, and each failure comes back as the *net.DNSError the libraries classify by type assertion:
// IsNotFound for a name or record that does not exist, temporary for anything else, because RFC 7208 4.4 and
// RFC 7489 6.6.3 make every other DNS failure a temperror (the libraries would call an unknown error permanent).
//
// A name that cannot exist (built from a hostile selector or SPF macro) is not asked about. It does not exist, and
// a resolver's complaint about it must not pass for an outage: a temperror is accepted where a fail may not be.
//
// The lookups driven by the client's reverse DNS run on their own budget, ptr (nil: none).
type bounded struct {
	r   dns.Resolver
	ptr *ptrBudget
}

func (b bounded) LookupTXT(ctx context.Context, name string) ([]string, error) {
	return bound(ctx, name, askable(name), func() ([]string, error) { return b.r.LookupTXT(ctx, name) })
}

func (b bounded) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	return bound(ctx, name, askable(name), func() ([]*net.MX, error) { return b.r.LookupMX(ctx, name) })
}

// LookupIPAddr looks host up within the reverse-DNS budget when it is the forward check of a name the client's
// reverse lookup returned (RFC 7208 5.5), and within ctx otherwise.
func (b bounded) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	if b.ptr.isForwardCheck(host) {
		var cancel context.CancelFunc
		ctx, cancel = b.ptr.within(ctx)
		defer cancel()
	}
	return bound(ctx, host, askable(host), func() ([]net.IPAddr, error) { return b.r.LookupIPAddr(ctx, host) })
}

// LookupAddr looks up the names of the client's address within the reverse-DNS budget.
func (b bounded) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	ctx, cancel := b.ptr.within(ctx)
	defer cancel()
	names, err := bound(ctx, addr, net.ParseIP(addr) != nil, func() ([]string, error) { return b.r.LookupAddr(ctx, addr) })
	b.ptr.expectForwardChecks(names)
	return names, err
}

func askable(name string) bool { return isDNSName(strings.TrimSuffix(name, ".")) }

// bound runs lookup if the name is valid, and gives up on it when ctx ends.
func bound[T any](ctx context.Context, name string, valid bool, lookup func() (T, error)) (T, error) {
	var zero T
	if !valid {
		return zero, dns.NotFound(name)
	}
	if err := ctx.Err(); err != nil {
		return zero, abandoned(name, err)
	}
	type answer struct {
		v   T
		err error
	}
	done := make(chan answer, 1) // buffered: a lookup that outlives ctx finishes without a reader
	go func() {
		v, err := lookup()
		done <- answer{v, err}
	}()
	select {
	case a := <-done:
		if a.err == nil {
			return a.v, nil
		}
		if dns.IsNotFound(a.err) {
			return zero, dns.NotFound(name)
		}
		msg := a.err.Error()
		if de, ok := errors.AsType[*net.DNSError](a.err); ok {
			msg = de.Err
		}
		return zero, &net.DNSError{Err: msg, Name: name, IsTemporary: true}
	case <-ctx.Done():
		return zero, abandoned(name, ctx.Err())
	}
}

func abandoned(name string, err error) error {
	return &net.DNSError{Err: "lookup abandoned: " + err.Error(), Name: name, IsTimeout: true}
}
