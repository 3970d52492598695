package store

import (
	"fmt"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Alias is another address for a local recipient: mail to Address reaches Target, and Target may send as Address.
type Alias struct {
	Address string
	Target  string // an account, group or shared mailbox address (or another alias)
	Created time.Time
}

// AddressKind says what a local address is.
type AddressKind string

const (
	KindNone    AddressKind = ""
	KindAccount AddressKind = "account" // a person's account or a shared mailbox (Account.Shared)
	KindAlias   AddressKind = "alias"
	KindGroup   AddressKind = "group"
)

// Entry is what a local address names; exactly one field matches Kind.
type Entry struct {
	Kind    AddressKind
	Account Account
	Alias   Alias
	Group   Group
}

// addressTaken reports which kind of entry already uses address, or "" if it is free: accounts, aliases and groups
// share one namespace.
func addressTaken(tx *bolt.Tx, address string) AddressKind {
	switch {
	case tx.Bucket(bucketAccounts).Get([]byte(address)) != nil:
		return KindAccount
	case tx.Bucket(bucketAliases).Get([]byte(address)) != nil:
		return KindAlias
	case tx.Bucket(bucketGroups).Get([]byte(address)) != nil:
		return KindGroup
	}
	return KindNone
}

// checkLocalAddress requires address to be local@domain of a served domain.
func checkLocalAddress(tx *bolt.Tx, address string) error {
	at := strings.LastIndexByte(address, '@')
	if at <= 0 || at == len(address)-1 {
		return fmt.Errorf("%q: address must look like name@domain", address)
	}
	if tx.Bucket(bucketDomains).Get([]byte(address[at+1:])) == nil {
		return fmt.Errorf("%s: %w: %s", address, ErrDomainNotFound, address[at+1:])
	}
	return nil
}

// Lookup tells what a local address names: an account (or shared mailbox), an alias or a group; KindNone if
// nothing.
func (s *Store) Lookup(address string) (Entry, error) {
	address = addressKey(address)
	var e Entry
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		e, err = lookupTx(tx, address)
		return err
	})
	return e, err
}

func lookupTx(tx *bolt.Tx, address string) (Entry, error) {
	switch addressTaken(tx, address) {
	case KindAccount:
		a, err := getAccount(tx, address)
		return Entry{Kind: KindAccount, Account: a}, err
	case KindAlias:
		a, err := decodeAlias([]byte(address), tx.Bucket(bucketAliases).Get([]byte(address)))
		return Entry{Kind: KindAlias, Alias: a}, err
	case KindGroup:
		g, err := decodeGroup([]byte(address), tx.Bucket(bucketGroups).Get([]byte(address)))
		return Entry{Kind: KindGroup, Group: g}, err
	}
	return Entry{}, nil
}

// AddAlias makes alias another address of target. The alias must be a free address in a local domain; the target
// must be a local account, group, shared mailbox or alias.
func (s *Store) AddAlias(alias, target string) (Alias, error) {
	a := Alias{Address: addressKey(alias), Target: addressKey(target),
		Created: s.now().Truncate(time.Second)}
	err := s.update(func(tx *bolt.Tx, _ *changes) error {
		if err := checkLocalAddress(tx, a.Address); err != nil {
			return fmt.Errorf("add alias: %w", err)
		}
		if kind := addressTaken(tx, a.Address); kind != KindNone {
			return fmt.Errorf("add alias %s: %w (%s)", a.Address, ErrExists, kind)
		}
		if addressTaken(tx, a.Target) == KindNone {
			return fmt.Errorf("add alias %s: target %s: %w", a.Address, a.Target, ErrNotFound)
		}
		if a.Target == a.Address {
			return fmt.Errorf("add alias %s: %w: an alias cannot point at itself", a.Address, ErrInvalidName)
		}
		var e encoder
		e.b = append(e.b, 1)
		e.string(a.Target)
		e.int(a.Created.Unix())
		if err := tx.Bucket(bucketAliasTargets).Put(indexKey(a.Target, a.Address), nil); err != nil {
			return err
		}
		return tx.Bucket(bucketAliases).Put([]byte(a.Address), e.b)
	})
	return a, err
}

// Aliases lists every alias in address order.
func (s *Store) Aliases() ([]Alias, error) {
	var out []Alias
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAliases).ForEach(func(k, v []byte) error {
			a, err := decodeAlias(k, v)
			out = append(out, a)
			return err
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out, err
}

// RemoveAlias removes an alias.
func (s *Store) RemoveAlias(alias string) error {
	alias = addressKey(alias)
	return s.update(func(tx *bolt.Tx, _ *changes) error {
		v := tx.Bucket(bucketAliases).Get([]byte(alias))
		if v == nil {
			return fmt.Errorf("alias %s: %w", alias, ErrAliasNotFound)
		}
		a, err := decodeAlias([]byte(alias), v)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketAliasTargets).Delete(indexKey(a.Target, a.Address)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketAliases).Delete([]byte(alias)); err != nil {
			return err
		}
		return forgetSender(tx, alias)
	})
}

func decodeAlias(k, v []byte) (Alias, error) {
	d := decoder{b: v}
	d.version("alias", 1)
	a := Alias{Address: string(k), Target: d.string()}
	a.Created = time.Unix(d.int(), 0)
	if d.err != nil {
		return Alias{}, fmt.Errorf("alias %s: %w", k, d.err)
	}
	return a, nil
}
