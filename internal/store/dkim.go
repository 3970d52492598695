package store

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketDKIM holds the domains' DKIM signing keys: domain NUL selector → key record. They live in the store so that
// one file (and one backup) holds everything a server needs to take over.
var bucketDKIM = []byte("dkim_keys")

// DKIMKey is a domain's signing key. The store keeps it opaque: internal/mailauth makes and uses it.
type DKIMKey struct {
	Domain    string
	Selector  string
	Algorithm string // "rsa" or "ed25519"
	Private   []byte // PKCS#8 DER
	Created   time.Time
}

// ErrLastDKIMKey refuses to remove the only key of a domain: its mail would leave unsigned, and DMARC would then
// rest on SPF alone, which forwarding breaks.
var ErrLastDKIMKey = errors.New("the domain's last DKIM key")

func dkimKey(domain, selector string) []byte { return []byte(domain + "\x00" + selector) }

// AddDKIMKey stores a key for a local domain. A selector is used once per domain.
func (s *Store) AddDKIMKey(k DKIMKey) error {
	return s.update(func(tx *bolt.Tx, _ *changes) error { return s.putDKIMKey(tx, k) })
}

func (s *Store) putDKIMKey(tx *bolt.Tx, k DKIMKey) error {
	k.Domain = normalizeDomain(k.Domain)
	if k.Selector == "" || bytes.IndexByte([]byte(k.Selector), 0) >= 0 {
		return fmt.Errorf("add DKIM key for %s: invalid selector %q", k.Domain, k.Selector)
	}
	if tx.Bucket(bucketDomains).Get([]byte(k.Domain)) == nil {
		return fmt.Errorf("add DKIM key for %s: %w", k.Domain, ErrDomainNotFound)
	}
	b := tx.Bucket(bucketDKIM)
	key := dkimKey(k.Domain, k.Selector)
	if b.Get(key) != nil {
		return fmt.Errorf("DKIM selector %s for %s: %w", k.Selector, k.Domain, ErrExists)
	}
	if k.Created.IsZero() {
		k.Created = s.now()
	}
	var e encoder
	e.b = append(e.b, 1)
	e.string(k.Algorithm)
	e.bytes(k.Private)
	e.int(k.Created.Unix())
	return b.Put(key, e.b)
}

// DKIMKeys returns a domain's keys in selector order.
func (s *Store) DKIMKeys(domain string) ([]DKIMKey, error) {
	domain = normalizeDomain(domain)
	var out []DKIMKey
	err := s.view(func(tx *bolt.Tx) error {
		prefix := []byte(domain + "\x00")
		c := tx.Bucket(bucketDKIM).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			d := decoder{b: v}
			d.version("dkim key", 1)
			key := DKIMKey{Domain: domain, Selector: string(k[len(prefix):]), Algorithm: d.string(), Private: d.bytes()}
			key.Created = time.Unix(d.int(), 0)
			if d.err != nil {
				return fmt.Errorf("DKIM key %s for %s: %w", key.Selector, domain, d.err)
			}
			out = append(out, key)
		}
		return nil
	})
	return out, err
}

// RemoveDKIMKey deletes one key of a domain (a rotation retires the old key): ErrNotFound when the domain has no
// key with that selector, ErrLastDKIMKey when it is the only one. The count is taken in the same transaction as the
// deletion, so two removals at once cannot leave the domain without a key.
func (s *Store) RemoveDKIMKey(domain, selector string) error {
	domain = normalizeDomain(domain)
	return s.update(func(tx *bolt.Tx, _ *changes) error {
		b := tx.Bucket(bucketDKIM)
		key := dkimKey(domain, selector)
		if b.Get(key) == nil {
			return fmt.Errorf("remove DKIM key %s of %s: %w", selector, domain, ErrNotFound)
		}
		if len(dkimKeyNames(b, domain)) == 1 {
			return fmt.Errorf("remove DKIM key %s of %s: %w", selector, domain, ErrLastDKIMKey)
		}
		return b.Delete(key)
	})
}

// deleteDKIMKeys removes a domain's keys (the domain is being removed).
func deleteDKIMKeys(tx *bolt.Tx, domain string) error {
	b := tx.Bucket(bucketDKIM)
	for _, k := range dkimKeyNames(b, domain) { // collected first: never delete while iterating
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// dkimKeyNames returns the bucket keys of a domain's DKIM keys, copied so that they outlive the cursor.
func dkimKeyNames(b *bolt.Bucket, domain string) [][]byte {
	prefix := []byte(domain + "\x00")
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	return keys
}
