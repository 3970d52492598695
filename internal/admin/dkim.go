package admin

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"mailserver/internal/mailauth"
	"mailserver/internal/store"
)

// DKIMAlgorithms are the key types a domain can have: RSA (2048 bits), which every receiver verifies, and Ed25519
// (RFC 8463), short and fast, which newer ones do. A domain that has both signs with both.
var DKIMAlgorithms = []string{"rsa", "ed25519"}

// DKIMKey is the public half of a domain's signing key: what to publish in DNS.
type DKIMKey struct {
	Domain    string    `json:"domain"`
	Selector  string    `json:"selector"`
	Algorithm string    `json:"algorithm"`
	Record    string    `json:"record"` // the TXT value for <selector>._domainkey.<domain>
	Created   time.Time `json:"created"`
}

// newDKIMKey makes a key for domain whose selector is not among taken: dated (rsa-202611), with a letter added
// when a key of that algorithm was already made this month (rsa-202611b).
func (s *Service) newDKIMKey(domain, algorithm string, taken []string) (store.DKIMKey, error) {
	if !slices.Contains(DKIMAlgorithms, algorithm) {
		return store.DKIMKey{}, failf(ErrInvalid, "unknown DKIM algorithm %q: use rsa or ed25519", algorithm)
	}
	base := mailauth.SelectorFor(algorithm, s.now())
	selector := base
	for c := 'b'; slices.Contains(taken, selector); c++ {
		if c > 'z' {
			return store.DKIMKey{}, failf(ErrInUse, "domain %s has too many %s keys made this month", domain, algorithm)
		}
		selector = base + string(c)
	}
	k, err := s.keygen(algorithm, selector)
	if err != nil {
		return store.DKIMKey{}, fmt.Errorf("DKIM key for %s: %w", domain, err)
	}
	return store.DKIMKey{Domain: domain, Selector: k.Selector, Algorithm: k.Algorithm, Private: k.Private}, nil
}

// AddDKIMKey makes a new signing key for a domain (an Ed25519 key next to the RSA one, or a new key to rotate
// to). Messages are signed with every key the domain has, so publish its record before the next message leaves:
// see 'mailserver domain dns'.
func (s *Service) AddDKIMKey(domain, algorithm string) (DKIMKey, error) {
	d, err := cleanDomain(domain)
	if err != nil {
		return DKIMKey{}, err
	}
	keys, err := s.st.DKIMKeys(d)
	if err != nil {
		return DKIMKey{}, err
	}
	var taken []string
	for _, k := range keys {
		taken = append(taken, k.Selector)
	}
	k, err := s.newDKIMKey(d, algorithm, taken)
	if err != nil {
		return DKIMKey{}, err
	}
	err = s.audited("domain.dkim", d, k.Selector).AddDKIMKey(k)
	if errors.Is(err, store.ErrDomainNotFound) {
		return DKIMKey{}, failf(ErrNotFound, "domain %s does not exist: see 'mailserver domain list'", d)
	}
	if err != nil {
		return DKIMKey{}, err
	}
	return publicKey(k)
}

// DKIMKeys lists the public halves of a domain's signing keys.
func (s *Service) DKIMKeys(domain string) ([]DKIMKey, error) {
	d, err := cleanDomain(domain)
	if err != nil {
		return nil, err
	}
	if ok, err := s.st.HasDomain(d); err != nil {
		return nil, err
	} else if !ok {
		return nil, failf(ErrNotFound, "domain %s does not exist: see 'mailserver domain list'", d)
	}
	keys, err := s.st.DKIMKeys(d)
	if err != nil {
		return nil, err
	}
	out := make([]DKIMKey, 0, len(keys))
	for _, k := range keys {
		pk, err := publicKey(k)
		if err != nil {
			return nil, err
		}
		out = append(out, pk)
	}
	return out, nil
}

// EnsureDKIMKeys gives an RSA key to every domain that has none (domains made before keys were), so that all
// outbound mail is signed. It returns the domains that got one.
func (s *Service) EnsureDKIMKeys() ([]string, error) {
	domains, err := s.st.Domains()
	if err != nil {
		return nil, err
	}
	var added []string
	for _, d := range domains {
		keys, err := s.st.DKIMKeys(d.Name)
		if err != nil {
			return added, err
		}
		if len(keys) > 0 {
			continue
		}
		if _, err := s.AddDKIMKey(d.Name, "rsa"); err != nil {
			return added, err
		}
		added = append(added, d.Name)
	}
	return added, nil
}

func publicKey(k store.DKIMKey) (DKIMKey, error) {
	record, err := mailauth.Key{Selector: k.Selector, Algorithm: k.Algorithm, Private: k.Private}.PublicRecord()
	if err != nil {
		return DKIMKey{}, fmt.Errorf("DKIM key %s of %s: %w", k.Selector, k.Domain, err)
	}
	return DKIMKey{Domain: k.Domain, Selector: k.Selector, Algorithm: k.Algorithm, Record: record, Created: k.Created}, nil
}
