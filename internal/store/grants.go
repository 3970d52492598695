package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Rights are what a grant lets an account do with a shared mailbox.
type Rights uint8

const (
	RightRead  Rights = 1 << iota // see its folders: LIST, SELECT, FETCH, SEARCH
	RightWrite                    // change them: STORE, MOVE, EXPUNGE, APPEND
	RightSend                     // send as its address
)

// ParseRights reads "read", "write" or "send"; write implies read.
func ParseRights(s string) (Rights, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "read":
		return RightRead, nil
	case "write":
		return RightRead | RightWrite, nil
	case "send":
		return RightSend, nil
	}
	return 0, fmt.Errorf("unknown right %q: use read, write or send", s)
}

func (r Rights) String() string {
	var names []string
	for _, n := range []struct {
		bit  Rights
		name string
	}{{RightRead, "read"}, {RightWrite, "write"}, {RightSend, "send"}} {
		if r&n.bit != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ",")
}

// Grant is one account's rights on one shared mailbox.
type Grant struct {
	Shared  string // the shared mailbox's address
	Account string // the grantee's address
	Rights  Rights
}

// AddShared creates a shared mailbox: an account nobody logs in as, with the default folders.
func (s *Store) AddShared(a Account) (Account, error) {
	a.Shared, a.PasswordHash = true, ""
	return s.AddAccount(a)
}

// SetGrant adds rights for account on the shared mailbox (keeping the rights it had), or with rights 0 removes
// the grant.
func (s *Store) SetGrant(shared, account string, rights Rights) error {
	shared, account = addressKey(shared), addressKey(account)
	return s.update(func(tx *bolt.Tx, ch *changes) error {
		sh, err := getAccount(tx, shared)
		if err != nil {
			return err
		}
		if !sh.Shared {
			return fmt.Errorf("%s: %w", shared, ErrNotShared)
		}
		grantee, err := getAccount(tx, account)
		if err != nil {
			return err
		}
		if grantee.Shared {
			return fmt.Errorf("%s is a shared mailbox: grant rights to people's accounts", account)
		}
		key, rev := grantKeys(sh.ID, grantee.ID)
		if rights == 0 {
			if tx.Bucket(bucketGrants).Get(key) == nil {
				return fmt.Errorf("%s has no rights on %s: %w", account, shared, ErrNotFound)
			}
			if err := tx.Bucket(bucketGrants).Delete(key); err != nil {
				return err
			}
			ch.add(Change{AccountID: grantee.ID, SharedRevoked: sh.ID})
			return tx.Bucket(bucketGrantsBy).Delete(rev)
		}
		if v := tx.Bucket(bucketGrants).Get(key); len(v) == 1 {
			rights |= Rights(v[0])
		}
		if err := tx.Bucket(bucketGrants).Put(key, []byte{byte(rights)}); err != nil {
			return err
		}
		return tx.Bucket(bucketGrantsBy).Put(rev, []byte{byte(rights)})
	})
}

// Grants lists the grants on a shared mailbox.
func (s *Store) Grants(shared string) ([]Grant, error) {
	shared = addressKey(shared)
	var out []Grant
	err := s.view(func(tx *bolt.Tx) error {
		sh, err := getAccount(tx, shared)
		if err != nil {
			return err
		}
		return scanGrants(tx, bucketGrants, sh.ID, func(otherID uint64, r Rights) error {
			other, err := getAccountByID(tx, otherID)
			if err != nil {
				return err
			}
			out = append(out, Grant{Shared: sh.Address, Account: other.Address, Rights: r})
			return nil
		})
	})
	return out, err
}

// GrantsTo lists the shared mailboxes an account may open, with its rights on each.
func (s *Store) GrantsTo(accountID uint64) ([]Grant, error) {
	var out []Grant
	err := s.view(func(tx *bolt.Tx) error {
		me, err := getAccountByID(tx, accountID)
		if err != nil {
			return err
		}
		return scanGrants(tx, bucketGrantsBy, accountID, func(sharedID uint64, r Rights) error {
			sh, err := getAccountByID(tx, sharedID)
			if err != nil {
				return err
			}
			out = append(out, Grant{Shared: sh.Address, Account: me.Address, Rights: r})
			return nil
		})
	})
	return out, err
}

func grantKeys(sharedID, accountID uint64) (key, reverse []byte) {
	return append(u64key(sharedID), u64key(accountID)...), append(u64key(accountID), u64key(sharedID)...)
}

func scanGrants(tx *bolt.Tx, bucket []byte, id uint64, fn func(other uint64, r Rights) error) error {
	prefix := u64key(id)
	c := tx.Bucket(bucket).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) != 16 || len(v) != 1 {
			return fmt.Errorf("grant %x: malformed", k)
		}
		if err := fn(binary.BigEndian.Uint64(k[8:]), Rights(v[0])); err != nil {
			return err
		}
	}
	return nil
}

// deleteGrantsOf removes every grant on or to the account (it is being removed).
func deleteGrantsOf(tx *bolt.Tx, id uint64) error {
	var keys [][2][]byte
	for _, pair := range [][2][]byte{{bucketGrants, bucketGrantsBy}, {bucketGrantsBy, bucketGrants}} {
		err := scanGrants(tx, pair[0], id, func(other uint64, _ Rights) error {
			k := append(u64key(id), u64key(other)...)
			rev := append(u64key(other), u64key(id)...)
			keys = append(keys, [2][]byte{k, rev})
			return nil
		})
		if err != nil {
			return err
		}
		for _, kv := range keys {
			if err := tx.Bucket(pair[0]).Delete(kv[0]); err != nil {
				return err
			}
			if err := tx.Bucket(pair[1]).Delete(kv[1]); err != nil {
				return err
			}
		}
		keys = keys[:0]
	}
	return nil
}
