package admin

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
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

// newDKIMKey makes a key for domain whose selector is not among taken: dated, with a random suffix
// (rsa-202611-3f9c). RFC 6376 3.1: signers should not reuse a selector for a new key, since the old key's record
// may still be published or cached; the suffix keeps a domain removed and added again (whose old selectors nobody
// remembers) from getting its old selector back.
func (s *Service) newDKIMKey(domain, algorithm string, taken []string) (store.DKIMKey, error) {
	if !slices.Contains(DKIMAlgorithms, algorithm) {
		return store.DKIMKey{}, failf(ErrInvalid, "unknown DKIM algorithm %q: use rsa or ed25519", algorithm)
	}
	base := mailauth.SelectorFor(algorithm, s.now())
	selector, ok := freeSelector(base, taken)
	if !ok {
		return store.DKIMKey{}, failf(ErrInUse, "no free DKIM selector %s-xxxx for %s after %d random draws: try again",
			base, domain, selectorTries)
	}
	k, err := s.keygen(algorithm, selector)
	if err != nil {
		return store.DKIMKey{}, fmt.Errorf("DKIM key for %s: %w", domain, err)
	}
	return store.DKIMKey{Domain: domain, Selector: k.Selector, Algorithm: k.Algorithm, Private: k.Private}, nil
}

// selectorTries bounds the draws of freeSelector: with 65536 suffixes a month, a domain's few keys make even a
// second draw rare.
const selectorTries = 16

// freeSelector is base with a random suffix of 4 hex digits, one not among taken; false if every draw was taken.
func freeSelector(base string, taken []string) (string, bool) {
	for range selectorTries {
		var b [2]byte
		rand.Read(b[:]) // never fails (crypto/rand, Go 1.24)
		if selector := base + "-" + hex.EncodeToString(b[:]); !slices.Contains(taken, selector) {
			return selector, true
		}
	}
	return "", false
}

// AddDKIMKey makes a new signing key for a domain (an Ed25519 key next to the RSA one, or a new key to rotate
// to). Messages are signed with every key the domain has, newest first, so publish its record before the next
// message leaves: see 'mailserver domain dns'. A rotation ends with RemoveDKIMKey of the old key.
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
	d, err := s.existingDomain(domain)
	if err != nil {
		return nil, err
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

// RemoveDKIMKey retires a signing key, the last step of a rotation: mail is no longer signed with it, and
// 'mailserver domain dns' no longer prints its record. The last key of a domain stays: make its successor first.
func (s *Service) RemoveDKIMKey(domain, selector string) error {
	d, err := s.existingDomain(domain)
	if err != nil {
		return err
	}
	sel := strings.ToLower(strings.TrimSpace(selector)) // as selectors are made; DNS names ignore case
	err = s.audited("domain.dkim.remove", d, sel).RemoveDKIMKey(d, sel)
	switch {
	case errors.Is(err, store.ErrLastDKIMKey):
		return failf(ErrInUse, "%s is the last DKIM key of %s: make its successor first with 'mailserver domain dkim %s', "+
			"publish its record, then remove this one", sel, d, d)
	case errors.Is(err, store.ErrNotFound):
		return failf(ErrNotFound, "domain %s has no DKIM key %q: its keys are the selectors in 'mailserver domain dns %s'",
			d, sel, d)
	}
	return err
}

// existingDomain is domain cleaned, or an error telling that it does not exist.
func (s *Service) existingDomain(domain string) (string, error) {
	d, err := cleanDomain(domain)
	if err != nil {
		return "", err
	}
	if ok, err := s.st.HasDomain(d); err != nil {
		return "", err
	} else if !ok {
		return "", failf(ErrNotFound, "domain %s does not exist: see 'mailserver domain list'", d)
	}
	return d, nil
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
