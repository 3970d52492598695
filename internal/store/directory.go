package store

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"mailserver/internal/address"
)

// Domain is a mail domain served here.
type Domain struct {
	Name    string
	Created time.Time
}

// Account is a person's (or, later, a unit's) mailbox owner.
type Account struct {
	ID           uint64
	Address      string // lower-case local@domain
	Name         string // display name, e.g. "Nguyễn Văn An"
	Unit         string // org unit path, e.g. "vinhyen/ubnd/phong-noi-vu"
	PasswordHash string // PHC string (argon2id)
	Quota        int64  // bytes; 0 means unlimited
	Used         int64  // bytes stored in all of the account's mailboxes
	Disabled     bool
	Created      time.Time
	// Shared marks a shared mailbox (a unit's clerk office, "văn thư"): it receives mail, nobody logs in as it,
	// and granted accounts open it (Grant).
	Shared bool
	// RejectMail, with Disabled, refuses new mail as well (staff who left); a disabled account otherwise still
	// receives.
	RejectMail bool
}

// DefaultMailboxes are created with every account, with their RFC 6154 special-use attributes.
var DefaultMailboxes = []struct{ Name, SpecialUse string }{
	{"INBOX", ""},
	{"Drafts", `\Drafts`},
	{"Sent", `\Sent`},
	{"Trash", `\Trash`},
	{"Junk", `\Junk`},
	{"Archive", `\Archive`},
}

// addressKey is the form an address is stored under (address.Fold): callers may give it in any case, in NFD, or
// with its domain in Unicode, and a key written by an older version that the current rules refuse is still found.
func addressKey(s string) string { return address.Fold(s) }

// normalizeDomain is the form a domain is stored under (address.FoldDomain): lower-case A-labels without a final
// dot, or, for a name that does not parse, trimmed and lower-cased as older versions stored it.
func normalizeDomain(name string) string { return address.FoldDomain(name) }

// AddDomain adds a mail domain, with its DKIM signing keys in the same transaction.
func (s *Store) AddDomain(name string, keys ...DKIMKey) error {
	name = normalizeDomain(name)
	if name == "" || strings.ContainsAny(name, "@ /") {
		return fmt.Errorf("add domain %q: invalid domain name", name)
	}
	return s.update(func(tx *bolt.Tx, _ *changes) error {
		b := tx.Bucket(bucketDomains)
		if b.Get([]byte(name)) != nil {
			return fmt.Errorf("add domain %s: %w", name, ErrExists)
		}
		var e encoder
		e.b = append(e.b, 1)
		e.int(s.now().Unix())
		if err := b.Put([]byte(name), e.b); err != nil {
			return err
		}
		for _, k := range keys {
			k.Domain = name
			if err := s.putDKIMKey(tx, k); err != nil {
				return err
			}
		}
		return nil
	})
}

// Domains lists the domains in name order.
func (s *Store) Domains() ([]Domain, error) {
	var out []Domain
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDomains).ForEach(func(k, v []byte) error {
			d := decoder{b: v}
			d.version("domain", 1)
			created := d.int()
			if d.err != nil {
				return fmt.Errorf("domain %s: %w", k, d.err)
			}
			out = append(out, Domain{Name: string(k), Created: time.Unix(created, 0)})
			return nil
		})
	})
	return out, err
}

// HasDomain reports whether name is a local domain.
func (s *Store) HasDomain(name string) (bool, error) {
	found := false
	err := s.view(func(tx *bolt.Tx) error {
		found = tx.Bucket(bucketDomains).Get([]byte(normalizeDomain(name))) != nil
		return nil
	})
	return found, err
}

// RemoveDomain removes a domain that has no accounts left.
func (s *Store) RemoveDomain(name string) error {
	name = normalizeDomain(name)
	return s.update(func(tx *bolt.Tx, _ *changes) error {
		b := tx.Bucket(bucketDomains)
		if b.Get([]byte(name)) == nil {
			return fmt.Errorf("remove domain %s: %w", name, ErrDomainNotFound)
		}
		suffix := []byte("@" + name)
		c := tx.Bucket(bucketAccounts).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if bytes.HasSuffix(k, suffix) {
				return fmt.Errorf("remove domain %s: %w (first: %s); remove them first", name, ErrDomainInUse, k)
			}
		}
		if err := deleteDKIMKeys(tx, name); err != nil {
			return fmt.Errorf("remove domain %s: %w", name, err)
		}
		return b.Delete([]byte(name))
	})
}

// AddAccount creates an account with its default mailboxes. a.Address must be lower-case local@domain of a local
// domain; ID, Used and Created are assigned here.
func (s *Store) AddAccount(a Account) (Account, error) {
	a.Address = addressKey(a.Address)
	at := strings.LastIndexByte(a.Address, '@')
	if at <= 0 || at == len(a.Address)-1 {
		return Account{}, fmt.Errorf("add account %q: address must look like name@domain", a.Address)
	}
	err := s.update(func(tx *bolt.Tx, _ *changes) error {
		if tx.Bucket(bucketDomains).Get([]byte(a.Address[at+1:])) == nil {
			return fmt.Errorf("add account %s: %w: %s (add it with 'mailserver domain add %s')",
				a.Address, ErrDomainNotFound, a.Address[at+1:], a.Address[at+1:])
		}
		accounts := tx.Bucket(bucketAccounts)
		if kind := addressTaken(tx, a.Address); kind != "" {
			return fmt.Errorf("add account %s: %w (%s)", a.Address, ErrExists, kind)
		}
		if err := checkUnitExists(tx, a.Unit); err != nil {
			return fmt.Errorf("add account %s: %w", a.Address, err)
		}
		id, err := accounts.NextSequence()
		if err != nil {
			return err
		}
		a.ID, a.Used, a.Created = id, 0, s.now().Truncate(time.Second)
		if err := putAccount(tx, a); err != nil {
			return err
		}
		if err := tx.Bucket(bucketAcctIDs).Put(u64key(id), []byte(a.Address)); err != nil {
			return err
		}
		if err := indexUnitMember(tx, a.Unit, a.Address, true); err != nil {
			return err
		}
		for _, m := range DefaultMailboxes {
			if _, err := s.createMailboxTx(tx, id, m.Name, m.SpecialUse, true); err != nil {
				return fmt.Errorf("add account %s: mailbox %s: %w", a.Address, m.Name, err)
			}
		}
		return nil
	})
	return a, err
}

// Account returns the account with the given address.
func (s *Store) Account(address string) (Account, error) {
	var a Account
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		a, err = getAccount(tx, addressKey(address))
		return err
	})
	return a, err
}

// AccountByID returns the account with the given id.
func (s *Store) AccountByID(id uint64) (Account, error) {
	var a Account
	err := s.view(func(tx *bolt.Tx) error {
		addr := tx.Bucket(bucketAcctIDs).Get(u64key(id))
		if addr == nil {
			return fmt.Errorf("account #%d: %w", id, ErrAccountNotFound)
		}
		var err error
		a, err = getAccount(tx, string(addr))
		return err
	})
	return a, err
}

// Accounts lists all accounts in address order.
func (s *Store) Accounts() ([]Account, error) {
	var out []Account
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAccounts).ForEach(func(k, v []byte) error {
			a, err := decodeAccount(v)
			if err != nil {
				return fmt.Errorf("account %s: %w", k, err)
			}
			out = append(out, a)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out, err
}

// UpdateAccount applies fn to the stored account and saves the result. fn may change Name, PasswordHash, Quota,
// Disabled and RejectMail; the other fields are kept (MoveAccount changes the unit).
func (s *Store) UpdateAccount(address string, fn func(*Account) error) (Account, error) {
	var out Account
	err := s.update(func(tx *bolt.Tx, ch *changes) error {
		a, err := getAccount(tx, addressKey(address))
		if err != nil {
			return err
		}
		keep := a
		if err := fn(&a); err != nil {
			return err
		}
		a.ID, a.Address, a.Used, a.Created, a.Unit, a.Shared = keep.ID, keep.Address, keep.Used, keep.Created, keep.Unit, keep.Shared
		out = a
		if a.Disabled && !keep.Disabled {
			ch.add(Change{AccountID: a.ID, AccountRevoked: true})
		}
		if a.Disabled && !keep.Disabled || a.PasswordHash != keep.PasswordHash {
			// A new password must shut out whoever knew the old one, in the webmail too.
			if err := deleteWebSessionsOf(tx, a.ID); err != nil {
				return err
			}
		}
		return putAccount(tx, a)
	})
	return out, err
}

// RemoveAccount deletes an account, all its mailboxes and messages, freeing bodies whose last reference goes, and
// its Sieve scripts and vacation memory.
func (s *Store) RemoveAccount(address string) error {
	address = addressKey(address)
	return s.update(func(tx *bolt.Tx, ch *changes) error {
		a, err := getAccount(tx, address)
		if err != nil {
			return err
		}
		boxes, err := listMailboxesTx(tx, a.ID)
		if err != nil {
			return err
		}
		for _, m := range boxes {
			if err := deleteMailboxTx(tx, ch, &a, m); err != nil {
				return err
			}
		}
		if err := deleteSubscriptions(tx, a.ID); err != nil {
			return err
		}
		if err := indexUnitMember(tx, a.Unit, a.Address, false); err != nil {
			return err
		}
		if err := deleteGrantsOf(tx, a.ID); err != nil {
			return err
		}
		if err := forgetSender(tx, a.Address); err != nil {
			return err
		}
		if err := deleteSourceMarks(tx, a.ID); err != nil {
			return err
		}
		if err := deleteSieveOf(tx, a.ID); err != nil {
			return err
		}
		if err := deleteWebSessionsOf(tx, a.ID); err != nil {
			return err
		}
		ch.add(Change{AccountID: a.ID, AccountRevoked: true})
		if err := tx.Bucket(bucketAcctIDs).Delete(u64key(a.ID)); err != nil {
			return err
		}
		return tx.Bucket(bucketAccounts).Delete([]byte(address))
	})
}

func getAccount(tx *bolt.Tx, address string) (Account, error) {
	v := tx.Bucket(bucketAccounts).Get([]byte(address))
	if v == nil {
		return Account{}, fmt.Errorf("account %s: %w", address, ErrAccountNotFound)
	}
	a, err := decodeAccount(v)
	if err != nil {
		return Account{}, fmt.Errorf("account %s: %w", address, err)
	}
	return a, nil
}

func getAccountByID(tx *bolt.Tx, id uint64) (Account, error) {
	addr := tx.Bucket(bucketAcctIDs).Get(u64key(id))
	if addr == nil {
		return Account{}, fmt.Errorf("account #%d: %w", id, ErrAccountNotFound)
	}
	return getAccount(tx, string(addr))
}

func putAccount(tx *bolt.Tx, a Account) error {
	var e encoder
	e.b = append(e.b, 1)
	e.uint(a.ID)
	e.string(a.Address)
	e.string(a.Name)
	e.string(a.Unit)
	e.string(a.PasswordHash)
	e.int(a.Quota)
	e.int(a.Used)
	e.bool(a.Disabled)
	e.int(a.Created.Unix())
	e.bool(a.Shared)
	e.bool(a.RejectMail)
	return tx.Bucket(bucketAccounts).Put([]byte(a.Address), e.b)
}

func decodeAccount(v []byte) (Account, error) {
	d := decoder{b: v}
	d.version("account", 1)
	a := Account{ID: d.uint(), Address: d.string(), Name: d.string(), Unit: d.string(), PasswordHash: d.string(),
		Quota: d.int(), Used: d.int(), Disabled: d.bool()}
	a.Created = time.Unix(d.int(), 0)
	a.Shared = d.optionalBool()
	a.RejectMail = d.optionalBool()
	return a, d.err
}

func deleteSubscriptions(tx *bolt.Tx, accountID uint64) error {
	prefix := u64key(accountID)
	subs := tx.Bucket(bucketSubscriptions)
	var keys [][]byte
	c := subs.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys { // never delete while iterating
		if err := subs.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
