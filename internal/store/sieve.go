package store

import (
	"bytes"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// Sieve scripts, per account (RFC 5228; stored and listed as ManageSieve, RFC 5804, sees them). A script is keyed
// by account id + name in sieve_scripts; the active one is named in sieve_active under the account id alone, so an
// account has at most one active script by construction, and delivery finds it with two lookups and no scan.

// SieveScript describes a stored script.
type SieveScript struct {
	Name    string
	Active  bool
	Size    int // bytes
	Updated time.Time
	// Revision changes whenever the script's text does (a store-wide sequence): a caller may keep a compiled script
	// keyed by account and Revision, and know it exact without reading or hashing the text again.
	Revision uint64
}

// SieveLimits bound an account's scripts; zero fields take the defaults.
type SieveLimits struct {
	MaxScripts     int // default 32
	MaxScriptBytes int // default 1 MiB
}

const (
	defaultMaxSieveScripts = 32
	defaultMaxSieveBytes   = 1 << 20
	maxSieveNameRunes      = 128 // RFC 5804 section 1.6 asks servers to allow at least this much
)

func (l SieveLimits) withDefaults() SieveLimits {
	if l.MaxScripts <= 0 {
		l.MaxScripts = defaultMaxSieveScripts
	}
	if l.MaxScriptBytes <= 0 {
		l.MaxScriptBytes = defaultMaxSieveBytes
	}
	return l
}

// CheckSieveName reports whether name may name a script (RFC 5804 section 1.6): valid UTF-8, 1 to 128 characters,
// none of them a control character (U+0000–U+001F, U+007F–U+009F) or a line or paragraph separator
// (U+2028, U+2029). The error wraps ErrSieveName.
func CheckSieveName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrSieveName)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: not valid UTF-8", ErrSieveName)
	case utf8.RuneCountInString(name) > maxSieveNameRunes:
		return fmt.Errorf("%w: longer than %d characters", ErrSieveName, maxSieveNameRunes)
	}
	for _, r := range name {
		if r <= 0x1f || (r >= 0x7f && r <= 0x9f) || r == 0x2028 || r == 0x2029 {
			return fmt.Errorf("%w: control character %U", ErrSieveName, r)
		}
	}
	return nil
}

// sieveKey is account id + name.
func sieveKey(accountID uint64, name string) []byte { return append(u64key(accountID), name...) }

// sieveRecord is a script as stored: version 1, revision, updated (Unix seconds), the text.
type sieveRecord struct {
	revision uint64
	updated  time.Time
	src      []byte // a view into the page when decoded with view: valid within its transaction only
}

func encodeSieve(r sieveRecord) []byte {
	var e encoder
	e.b = append(e.b, 1)
	e.uint(r.revision)
	e.int(r.updated.Unix())
	e.bytes(r.src)
	return e.b
}

// decodeSieve decodes without copying the text.
func decodeSieve(v []byte) (sieveRecord, error) {
	d := decoder{b: v}
	d.version("sieve script", 1)
	r := sieveRecord{revision: d.uint()}
	r.updated = time.Unix(d.int(), 0)
	r.src = d.view()
	return r, d.err
}

// SieveScripts lists the account's scripts by name.
func (s *Store) SieveScripts(accountID uint64) ([]SieveScript, error) {
	var out []SieveScript
	err := s.view(func(tx *bolt.Tx) error {
		out = nil
		if _, err := getAccountByID(tx, accountID); err != nil {
			return err
		}
		active := tx.Bucket(bucketSieveActive).Get(u64key(accountID))
		prefix := u64key(accountID)
		c := tx.Bucket(bucketSieve).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			r, err := decodeSieve(v)
			if err != nil {
				return fmt.Errorf("sieve script %q: %w", k[8:], err)
			}
			name := string(k[8:])
			out = append(out, SieveScript{Name: name, Active: active != nil && string(active) == name,
				Size: len(r.src), Updated: r.updated, Revision: r.revision})
		}
		return nil
	})
	return out, err
}

// SieveScript returns the text of the account's script name; ErrNotFound if there is none.
func (s *Store) SieveScript(accountID uint64, name string) ([]byte, error) {
	var src []byte
	err := s.view(func(tx *bolt.Tx) error {
		r, err := getSieve(tx, accountID, name)
		src = bytes.Clone(r.src)
		return err
	})
	return src, err
}

func getSieve(tx *bolt.Tx, accountID uint64, name string) (sieveRecord, error) {
	v := tx.Bucket(bucketSieve).Get(sieveKey(accountID, name))
	if v == nil {
		if _, err := getAccountByID(tx, accountID); err != nil {
			return sieveRecord{}, err
		}
		return sieveRecord{}, fmt.Errorf("sieve script %q: %w", name, ErrNotFound)
	}
	r, err := decodeSieve(v)
	if err != nil {
		return sieveRecord{}, fmt.Errorf("sieve script %q: %w", name, err)
	}
	return r, nil
}

// PutSieveScript stores src as the account's script name, creating it or replacing its text (an active script stays
// active). Over a limit, the error wraps ErrSieveTooLarge or ErrSieveTooMany (both ErrSieveQuota) and says which.
// The caller checks the script compiles: the store keeps text, whatever it is.
func (s *Store) PutSieveScript(accountID uint64, name string, src []byte, lim SieveLimits) error {
	if err := CheckSieveName(name); err != nil {
		return err
	}
	return s.updateSized(len(src), func(tx *bolt.Tx, _ *changes) error {
		if err := sieveHaveSpaceTx(tx, accountID, name, len(src), lim); err != nil {
			return err
		}
		b := tx.Bucket(bucketSieve)
		rev, err := b.NextSequence()
		if err != nil {
			return err
		}
		rec := sieveRecord{revision: rev, updated: s.now(), src: src}
		return b.Put(sieveKey(accountID, name), encodeSieve(rec))
	})
}

// SieveHaveSpace says what PutSieveScript would about the limits for a script of size bytes, without writing
// (ManageSieve's HAVESPACE, RFC 5804 section 2.5): nil, or an error wrapping ErrSieveQuota or ErrSieveName.
func (s *Store) SieveHaveSpace(accountID uint64, name string, size int, lim SieveLimits) error {
	if err := CheckSieveName(name); err != nil {
		return err
	}
	return s.view(func(tx *bolt.Tx) error { return sieveHaveSpaceTx(tx, accountID, name, size, lim) })
}

func sieveHaveSpaceTx(tx *bolt.Tx, accountID uint64, name string, size int, lim SieveLimits) error {
	lim = lim.withDefaults()
	if _, err := getAccountByID(tx, accountID); err != nil {
		return err
	}
	if size > lim.MaxScriptBytes {
		return fmt.Errorf("sieve script %q: %w: %d bytes, at most %d", name, ErrSieveTooLarge, size, lim.MaxScriptBytes)
	}
	if tx.Bucket(bucketSieve).Get(sieveKey(accountID, name)) != nil {
		return nil // a replacement adds no script
	}
	if n := countSieve(tx, accountID); n >= lim.MaxScripts {
		return fmt.Errorf("sieve script %q: %w: the account has %d, at most %d", name, ErrSieveTooMany, n, lim.MaxScripts)
	}
	return nil
}

func countSieve(tx *bolt.Tx, accountID uint64) int {
	prefix := u64key(accountID)
	n := 0
	c := tx.Bucket(bucketSieve).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}

// ActivateSieveScript makes name the account's active script, the one delivery runs; "" leaves none active.
// ErrNotFound if there is no such script.
func (s *Store) ActivateSieveScript(accountID uint64, name string) error {
	return s.update(func(tx *bolt.Tx, _ *changes) error {
		active := tx.Bucket(bucketSieveActive)
		if name == "" {
			if _, err := getAccountByID(tx, accountID); err != nil {
				return err
			}
			return active.Delete(u64key(accountID))
		}
		if _, err := getSieve(tx, accountID, name); err != nil {
			return fmt.Errorf("activate: %w", err)
		}
		return active.Put(u64key(accountID), []byte(name))
	})
}

// DeleteSieveScript deletes the account's script name: ErrNotFound if there is none, ErrSieveActive if it is the
// active one (RFC 5804 section 2.10: deactivate it first).
func (s *Store) DeleteSieveScript(accountID uint64, name string) error {
	return s.update(func(tx *bolt.Tx, _ *changes) error {
		if _, err := getSieve(tx, accountID, name); err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		if string(tx.Bucket(bucketSieveActive).Get(u64key(accountID))) == name {
			return fmt.Errorf("delete sieve script %q: %w", name, ErrSieveActive)
		}
		return tx.Bucket(bucketSieve).Delete(sieveKey(accountID, name))
	})
}

// RenameSieveScript renames the account's script from to to, which stays active if it was (RFC 5804 section
// 2.11.1): ErrNotFound if from does not exist, ErrExists if to does, an error wrapping ErrSieveName if to is not a
// valid name. The text and its Revision are kept.
func (s *Store) RenameSieveScript(accountID uint64, from, to string) error {
	if err := CheckSieveName(to); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx, _ *changes) error {
		b := tx.Bucket(bucketSieve)
		old := b.Get(sieveKey(accountID, from))
		if old == nil {
			_, err := getSieve(tx, accountID, from) // the account's error, or ErrNotFound
			return fmt.Errorf("rename: %w", err)
		}
		if b.Get(sieveKey(accountID, to)) != nil {
			return fmt.Errorf("rename sieve script %q to %q: %w", from, to, ErrExists)
		}
		if err := b.Put(sieveKey(accountID, to), bytes.Clone(old)); err != nil {
			return err
		}
		if err := b.Delete(sieveKey(accountID, from)); err != nil {
			return err
		}
		active := tx.Bucket(bucketSieveActive)
		if string(active.Get(u64key(accountID))) == from {
			return active.Put(u64key(accountID), []byte(to))
		}
		return nil
	})
}

// ActiveSieveScript returns the account's active script: "", nil, nil if none is.
func (s *Store) ActiveSieveScript(accountID uint64) (name string, src []byte, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		a, err := activeSieveTx(tx, accountID)
		name, src = a.Name, bytes.Clone(a.src)
		return err
	})
	return name, src, err
}

// activeSieve is the active script as read inside a transaction.
type activeSieve struct {
	Name     string
	Revision uint64
	src      []byte // valid until the transaction ends
}

// ActiveScriptOf reads the account's active filter script with its revision (a zero ActiveScript if none is
// active): a delivery runs it before its transaction, and the transaction checks that it is still the one in force.
func (s *Store) ActiveScriptOf(accountID uint64) (ActiveScript, error) {
	var out ActiveScript
	err := s.view(func(tx *bolt.Tx) error {
		a, err := activeSieveTx(tx, accountID)
		out = ActiveScript{Name: a.Name, Revision: a.Revision, Src: bytes.Clone(a.src)}
		return err
	})
	return out, err
}

// ActiveScript is a recipient's active filter script as DeliverMessage hands it to Delivery.Filter.
type ActiveScript struct {
	Name     string
	Revision uint64 // changes whenever the text does: key a compiled script by account and Revision
	Src      []byte // valid only during the call
}

// activeSieveTx reads the account's active script inside tx (a delivery's), without copying its text: two lookups,
// cheap enough per recipient that no cache is needed, and a caller keeps what it compiled keyed by Revision. A
// zero value if none is active.
func activeSieveTx(tx *bolt.Tx, accountID uint64) (activeSieve, error) {
	name := tx.Bucket(bucketSieveActive).Get(u64key(accountID))
	if name == nil {
		return activeSieve{}, nil
	}
	r, err := getSieve(tx, accountID, string(name))
	if err != nil {
		return activeSieve{}, fmt.Errorf("active %w", err)
	}
	return activeSieve{Name: string(name), Revision: r.revision, src: r.src}, nil
}

// deleteSieveOf deletes the account's scripts, its active mark and its vacation memory (RemoveAccount).
func deleteSieveOf(tx *bolt.Tx, accountID uint64) error {
	prefix := u64key(accountID)
	for _, name := range [][]byte{bucketSieve, bucketVacation} {
		if err := deletePrefix(tx.Bucket(name), prefix); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketSieveActive).Delete(prefix)
}

// deletePrefix deletes every key of b starting with prefix: collected first, never deleted while iterating.
func deletePrefix(b *bolt.Bucket, prefix []byte) error {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, slices.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// checkSieve reports scripts, active marks and vacation records of accounts that do not exist, active marks naming
// a missing script, and vacation memory over its bound or out of step with its count.
func checkSieve(tx *bolt.Tx, report func(string, ...any)) {
	if tx.Bucket(bucketSieve) == nil || tx.Bucket(bucketSieveActive) == nil || tx.Bucket(bucketVacation) == nil {
		return // a backup made before them: opening it creates them empty
	}
	ids := tx.Bucket(bucketAcctIDs)
	_ = tx.Bucket(bucketSieve).ForEach(func(k, v []byte) error {
		if len(k) <= 8 || ids.Get(k[:8]) == nil {
			report("sieve script key %x: no such account", k)
		} else if _, err := decodeSieve(v); err != nil {
			report("sieve script key %x: %v", k, err)
		}
		return nil
	})
	_ = tx.Bucket(bucketSieveActive).ForEach(func(k, v []byte) error {
		if len(k) != 8 || ids.Get(k) == nil {
			report("active sieve script key %x: no such account", k)
		} else if tx.Bucket(bucketSieve).Get(append(slices.Clone(k), v...)) == nil {
			report("account #%x: active sieve script %q does not exist", k, v)
		}
		return nil
	})
	checkVacation(tx, report)
}
