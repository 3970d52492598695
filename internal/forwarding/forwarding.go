// Package forwarding decides where a user's filters may forward mail automatically (a Sieve redirect). Official
// documents must not leak to private mailboxes: by default a filter may forward only to the organisation's own
// domains; an administrator allows more by domain (other agencies) or by unit (a unit whose staff may forward
// anywhere), in the [sieve] table of the configuration. The check runs when a script is stored (for targets
// written as constants) and again when a message is redirected.
package forwarding

import (
	"errors"
	"fmt"
	"strings"

	"mailserver/internal/address"
)

// ErrNotAllowed is the kind of every refusal.
var ErrNotAllowed = errors.New("automatic forwarding not allowed")

// Policy is the organisation's forwarding rule.
type Policy struct {
	// IsLocalDomain says whether a domain is one of the organisation's (the store's domains).
	IsLocalDomain func(domain string) (bool, error)
	// Domains are outside domains that may receive forwarded mail; "*.gov.vn" matches every subdomain of gov.vn.
	Domains []string
	// Units are units whose members, and the members of the units below them, may forward anywhere.
	Units []string
}

// For is the check of one user's redirects, for a user of unit (a path such as "tinh/so-01"; "" for none). It
// fits sieve.Options.Redirect.
func (p Policy) For(unit string) func(target string) error {
	anywhere := p.unitAllowed(unit)
	return func(target string) error {
		if anywhere {
			return nil
		}
		return p.check(target)
	}
}

func (p Policy) check(target string) error {
	a, err := address.Parse(target)
	if err != nil {
		return fmt.Errorf("forward to %q: %w", target, err)
	}
	if p.IsLocalDomain != nil {
		local, err := p.IsLocalDomain(a.Domain)
		if err != nil {
			return fmt.Errorf("forward to %s: %w", target, err)
		}
		if local {
			return nil
		}
	}
	if p.domainAllowed(a.Domain) {
		return nil
	}
	return fmt.Errorf("forward to %s: %w: mail may be forwarded automatically only within the organisation's domains "+
		"or to those the administrator allows ([sieve] forward_domains)", target, ErrNotAllowed)
}

// domainAllowed reports whether domain (lower-case) is one of Domains or below a "*." one.
func (p Policy) domainAllowed(domain string) bool {
	for _, d := range p.Domains {
		d = address.FoldDomain(strings.TrimSuffix(d, "."))
		if d == domain {
			return true
		}
		if suffix, ok := strings.CutPrefix(d, "*."); ok && strings.HasSuffix(domain, "."+suffix) {
			return true
		}
	}
	return false
}

// unitAllowed reports whether unit is one of Units or below one.
func (p Policy) unitAllowed(unit string) bool {
	if unit == "" {
		return false
	}
	for _, u := range p.Units {
		u = strings.Trim(u, "/")
		if unit == u || strings.HasPrefix(unit, u+"/") {
			return true
		}
	}
	return false
}
