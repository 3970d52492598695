package store

import (
	"bytes"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Check verifies the store's invariants and returns every violation found, joined: UIDNEXT above the highest UID,
// mailbox counters equal to what the entries say, account usage equal to the sum of its mailboxes, body reference
// counts equal to the entries and queued messages pointing at them, the queue's due index complete and exact, no
// orphan bodies or chunks, and every chunk of every body present.
func (s *Store) Check() error {
	var problems []error
	report := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	err := s.view(func(tx *bolt.Tx) error {
		refs := map[BodyID]uint64{}
		used := map[uint64]int64{}
		c := tx.Bucket(bucketMailboxes).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			m, err := decodeMailbox(v)
			if err != nil {
				report("mailbox key %x: %v", k, err)
				continue
			}
			if !bytes.Equal(tx.Bucket(bucketMboxIDs).Get(u64key(m.ID)), k) {
				report("mailbox %q: id index does not point back", m.Name)
			}
			if _, err := getAccountByID(tx, m.AccountID); err != nil {
				report("mailbox %q: owner: %v", m.Name, err)
			}
			used[m.AccountID] += m.Size
			checkMailboxEntries(tx, m, refs, report)
		}
		checkIndexes(tx, report)
		checkDirectoryIndexes(tx, report)
		checkSenderIndexes(tx, report)
		checkAccounts(tx, used, report)
		checkQueue(tx, refs, report)
		checkBodies(tx, refs, report)
		return nil
	})
	if err != nil {
		return err
	}
	return errors.Join(problems...)
}

func checkMailboxEntries(tx *bolt.Tx, m Mailbox, refs map[BodyID]uint64, report func(string, ...any)) {
	b, err := messagesBucket(tx, m.ID)
	if err != nil {
		report("mailbox %q: %v", m.Name, err)
		return
	}
	var count, unseen, deleted uint32
	var size int64
	var maxUID uint32
	cur := b.Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		uid := uidOf(k)
		e, err := decodeEntry(v)
		if err != nil {
			report("mailbox %q uid %d: %v", m.Name, uid, err)
			continue
		}
		maxUID = uid
		count++
		size += e.size()
		if !e.flags.seen() {
			unseen++
		}
		if e.flags.deleted() {
			deleted++
		}
		if e.modSeq > m.HighestModSeq {
			report("mailbox %q uid %d: modseq %d above HIGHESTMODSEQ %d", m.Name, uid, e.modSeq, m.HighestModSeq)
		}
		refs[e.body]++
	}
	if maxUID >= m.UIDNext {
		report("mailbox %q: UIDNEXT %d not above highest UID %d", m.Name, m.UIDNext, maxUID)
	}
	if count != m.Messages || unseen != m.Unseen || deleted != m.Deleted || size != m.Size {
		report("mailbox %q: counters (messages %d, unseen %d, deleted %d, size %d) but entries say (%d, %d, %d, %d)",
			m.Name, m.Messages, m.Unseen, m.Deleted, m.Size, count, unseen, deleted, size)
	}
}

func checkAccounts(tx *bolt.Tx, used map[uint64]int64, report func(string, ...any)) {
	_ = tx.Bucket(bucketAccounts).ForEach(func(k, v []byte) error {
		a, err := decodeAccount(v)
		if err != nil {
			report("account %s: %v", k, err)
			return nil
		}
		if a.Used != used[a.ID] {
			report("account %s: used %d but its mailboxes hold %d", a.Address, a.Used, used[a.ID])
		}
		if string(tx.Bucket(bucketAcctIDs).Get(u64key(a.ID))) != a.Address {
			report("account %s: id index does not point back", a.Address)
		}
		return nil
	})
}

func checkBodies(tx *bolt.Tx, refs map[BodyID]uint64, report func(string, ...any)) {
	chunksWanted := map[BodyID]int64{}
	_ = tx.Bucket(bucketBodies).ForEach(func(k, v []byte) error {
		var id BodyID
		copy(id[:], k)
		rec, err := decodeBody(v)
		if err != nil {
			report("body %s: %v", id, err)
			return nil
		}
		if rec.refs != refs[id] {
			report("body %s: refcount %d but %d entries point at it", id, rec.refs, refs[id])
		}
		delete(refs, id)
		chunksWanted[id] = (rec.size + ChunkSize - 1) / ChunkSize
		return nil
	})
	for id, n := range refs {
		report("body %s: %d entries point at a missing body", id, n)
	}
	// Released bodies keep their chunks until the next write transaction sweeps them.
	_ = tx.Bucket(bucketFreed).ForEach(func(k, v []byte) error {
		var id BodyID
		copy(id[:], k)
		if _, live := chunksWanted[id]; live {
			report("body %s: released but still referenced", id)
			return nil
		}
		d := decoder{b: v}
		chunksWanted[id] = (d.int() + ChunkSize - 1) / ChunkSize
		return nil
	})
	chunksSeen := map[BodyID]int64{}
	_ = tx.Bucket(bucketChunks).ForEach(func(k, _ []byte) error {
		var id BodyID
		copy(id[:], k)
		if _, ok := chunksWanted[id]; !ok {
			report("chunk %x: orphan (no body record)", k)
			return nil
		}
		chunksSeen[id]++
		return nil
	})
	for id, want := range chunksWanted {
		if chunksSeen[id] != want {
			report("body %s: %d chunks, want %d", id, chunksSeen[id], want)
		}
	}
	_ = tx.Bucket(bucketTexts).ForEach(func(k, _ []byte) error {
		var id BodyID
		copy(id[:], k)
		if _, ok := chunksWanted[id]; !ok {
			report("search text %x: orphan (no body record)", k[:8])
		}
		return nil
	})
}

// checkIndexes finds mailbox-id entries and message buckets left behind by a mailbox that no longer exists.
func checkIndexes(tx *bolt.Tx, report func(string, ...any)) {
	boxes := tx.Bucket(bucketMailboxes)
	_ = tx.Bucket(bucketMboxIDs).ForEach(func(k, v []byte) error {
		if boxes.Get(v) == nil {
			report("mailbox id %x: points at a missing mailbox %x", k, v)
		}
		return nil
	})
	ids := tx.Bucket(bucketMboxIDs)
	_ = tx.Bucket(bucketMessages).ForEach(func(k, _ []byte) error {
		if ids.Get(k) == nil {
			report("message bucket %x: its mailbox no longer exists", k)
		}
		return nil
	})
}

// checkDirectoryIndexes checks the accounts-by-unit index against the accounts, and the two grant indexes
// against each other.
func checkDirectoryIndexes(tx *bolt.Tx, report func(string, ...any)) {
	units, members := tx.Bucket(bucketUnits), tx.Bucket(bucketUnitMembers)
	_ = tx.Bucket(bucketAccounts).ForEach(func(k, v []byte) error {
		a, err := decodeAccount(v)
		if err != nil || a.Unit == "" {
			return nil // decoding problems are reported by checkAccounts
		}
		if units.Get([]byte(a.Unit)) == nil {
			report("account %s: unit %s does not exist", a.Address, a.Unit)
		}
		if members.Get(append(append([]byte(a.Unit), 0), a.Address...)) == nil {
			report("account %s: missing from the index of unit %s", a.Address, a.Unit)
		}
		return nil
	})
	_ = members.ForEach(func(k, _ []byte) error {
		unit, addr, _ := bytes.Cut(k, []byte{0})
		a, err := getAccount(tx, string(addr))
		if err != nil || a.Unit != string(unit) {
			report("unit index: %s listed in %s, but the account is not there", addr, unit)
		}
		return nil
	})
	byGrantee := tx.Bucket(bucketGrantsBy)
	_ = tx.Bucket(bucketGrants).ForEach(func(k, v []byte) error {
		if len(k) != 16 {
			report("grant %x: malformed key", k)
			return nil
		}
		rev := append(append([]byte(nil), k[8:]...), k[:8]...)
		if !bytes.Equal(byGrantee.Get(rev), v) {
			report("grant %x: the grantee index disagrees", k)
		}
		return nil
	})
	if n, m := tx.Bucket(bucketGrants).Stats().KeyN, byGrantee.Stats().KeyN; n != m {
		report("grants: %d entries, but %d in the grantee index", n, m)
	}
}
