package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Vacation memory (RFC 5230 section 4.2): a reply goes to a sender once per period (:days) for each vacation of a
// script (its :handle). In sieve_vacation, under account id + SHA-256(handle NUL lower-cased sender), a record says
// when the last reply went and until when no other is due; under the account id alone, how many records the
// account has, so that keeping the bound costs no scan per delivery.

// maxVacationRecords bounds an account's vacation memory: a flood of distinct forged senders must not grow the
// store without end. Reaching it drops the expired records first, then the oldest, down to vacationPruneTo, so
// that the scan this takes comes once per thousand new senders rather than at each.
const (
	maxVacationRecords = 10000
	vacationPruneTo    = maxVacationRecords - maxVacationRecords/10
)

const vacationKeyLen = 8 + sha256.Size

func vacationKey(accountID uint64, handle, sender string) []byte {
	h := sha256.New()
	h.Write([]byte(handle))
	h.Write([]byte{0})
	h.Write([]byte(strings.ToLower(sender)))
	return h.Sum(u64key(accountID))
}

type vacationRecord struct {
	sent, until time.Time
}

func encodeVacation(r vacationRecord) []byte {
	var e encoder
	e.b = append(e.b, 1)
	e.int(r.sent.UnixNano())
	e.int(r.until.UnixNano())
	return e.b
}

func decodeVacation(v []byte) (vacationRecord, error) {
	d := decoder{b: v}
	d.version("vacation", 1)
	r := vacationRecord{sent: time.Unix(0, d.int())}
	r.until = time.Unix(0, d.int())
	return r, d.err
}

// VacationDue is vacationDue in a transaction of its own, for an account that must exist. Delivery calls
// vacationDue inside the transaction that stores the recipient's copy instead, so that the reply is remembered
// exactly when the copy is.
func (s *Store) VacationDue(accountID uint64, handle, sender string, now time.Time, period time.Duration) (bool, error) {
	var due bool
	err := s.update(func(tx *bolt.Tx, _ *changes) error {
		due = false
		if _, err := getAccountByID(tx, accountID); err != nil {
			return err
		}
		var err error
		due, err = vacationDue(tx, accountID, handle, sender, now, period)
		return err
	})
	return due, err
}

// vacationDue reports whether a vacation reply to sender (for the script's handle) is due, and if so records it as
// sent at now, to be due again after period. A period of zero or less means every message gets a reply (":days 0"
// of RFC 6131), and nothing is remembered. An expired record met here is replaced.
func vacationDue(tx *bolt.Tx, accountID uint64, handle, sender string, now time.Time, period time.Duration) (bool, error) {
	if period <= 0 {
		return true, nil
	}
	b := tx.Bucket(bucketVacation)
	key := vacationKey(accountID, handle, sender)
	rec := encodeVacation(vacationRecord{sent: now, until: now.Add(period)})
	if v := b.Get(key); v != nil {
		if r, err := decodeVacation(v); err == nil && now.Before(r.until) {
			return false, nil
		}
		return true, b.Put(key, rec) // expired (or unreadable): replaced, the count unchanged
	}
	n := vacationCount(b, accountID)
	if n >= maxVacationRecords {
		var err error
		if n, err = pruneVacation(b, accountID, now, vacationPruneTo); err != nil {
			return false, fmt.Errorf("vacation memory: %w", err)
		}
	}
	if err := b.Put(key, rec); err != nil {
		return false, err
	}
	return true, b.Put(u64key(accountID), u64key(uint64(n+1)))
}

func vacationCount(b *bolt.Bucket, accountID uint64) int {
	v := b.Get(u64key(accountID))
	if len(v) != 8 {
		return 0
	}
	return int(binary.BigEndian.Uint64(v))
}

// pruneVacation deletes the account's expired records, then the oldest sent, until at most keep are left, and
// returns how many are left (recounted, so a count gone wrong mends here).
func pruneVacation(b *bolt.Bucket, accountID uint64, now time.Time, keep int) (int, error) {
	type held struct {
		key  []byte
		sent time.Time
	}
	var live []held
	var drop [][]byte
	prefix := u64key(accountID)
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) != vacationKeyLen {
			continue // the count
		}
		r, err := decodeVacation(v)
		if err != nil || !now.Before(r.until) {
			drop = append(drop, slices.Clone(k))
			continue
		}
		live = append(live, held{slices.Clone(k), r.sent})
	}
	if len(live) > keep {
		slices.SortFunc(live, func(a, b held) int { return a.sent.Compare(b.sent) })
		for _, h := range live[:len(live)-keep] {
			drop = append(drop, h.key)
		}
		live = live[len(live)-keep:]
	}
	for _, k := range drop { // never delete while iterating
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(live), b.Put(prefix, u64key(uint64(len(live))))
}

// checkVacation reports vacation records of unknown accounts, malformed ones, and counts that are not what the
// records say or over the bound.
func checkVacation(tx *bolt.Tx, report func(string, ...any)) {
	ids := tx.Bucket(bucketAcctIDs)
	counted, found := map[uint64]int{}, map[uint64]int{}
	_ = tx.Bucket(bucketVacation).ForEach(func(k, v []byte) error {
		if len(k) < 8 || ids.Get(k[:8]) == nil {
			report("vacation key %x: no such account", k)
			return nil
		}
		id := binary.BigEndian.Uint64(k)
		switch {
		case len(k) == 8 && len(v) == 8:
			counted[id] = int(binary.BigEndian.Uint64(v))
		case len(k) == vacationKeyLen:
			found[id]++
			if _, err := decodeVacation(v); err != nil {
				report("vacation key %x: %v", k, err)
			}
		default:
			report("vacation key %x: malformed", k)
		}
		return nil
	})
	for id, n := range found {
		if counted[id] != n || n > maxVacationRecords {
			report("account #%d: %d vacation records, counted %d (at most %d)", id, n, counted[id], maxVacationRecords)
		}
	}
}
