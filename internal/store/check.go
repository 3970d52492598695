package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Check verifies the store's invariants and returns every violation found, joined: UIDNEXT above the highest UID,
// mailbox counters equal to what the entries say, account usage equal to the sum of its mailboxes, body reference
// counts equal to the entries and queued messages pointing at them, the queue's due index complete and exact, no
// orphan bodies or chunks, every chunk of every body present, the search index holding every indexed message
// under exactly its terms, and Sieve scripts and vacation memory belonging to existing accounts (sieve.go).
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
		checkExpungeLog(tx, report)
		checkSearchIndex(tx, report)
		checkIndexes(tx, report)
		checkDirectoryIndexes(tx, report)
		checkSenderIndexes(tx, report)
		checkSieve(tx, report)
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
		if e.place.seq != 0 {
			checkBodyPlace(tx, e, func(format string, args ...any) {
				report("mailbox %q uid %d: "+format, append([]any{m.Name, uid}, args...)...)
			})
		}
	}
	if maxUID >= m.UIDNext {
		report("mailbox %q: UIDNEXT %d not above highest UID %d", m.Name, m.UIDNext, maxUID)
	}
	if count != m.Messages || unseen != m.Unseen || deleted != m.Deleted || size != m.Size {
		report("mailbox %q: counters (messages %d, unseen %d, deleted %d, size %d) but entries say (%d, %d, %d, %d)",
			m.Name, m.Messages, m.Unseen, m.Deleted, m.Size, count, unseen, deleted, size)
	}
}

// checkBodyPlace reports an entry whose recorded body place is not what the body record says.
func checkBodyPlace(tx *bolt.Tx, e *entry, report func(string, ...any)) {
	rec, err := bodyRecordView(tx, e.body, true)
	if err != nil {
		return // reported with the body's reference count
	}
	if want := refOf(e.body, rec).place; e.place != want {
		report("body %s recorded at sequence %d, header %v %d-%d, but its record says sequence %d, header %v %d-%d",
			e.body, e.place.seq, e.place.header, e.place.headerStart, e.place.headerEnd,
			want.seq, want.header, want.headerStart, want.headerEnd)
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
	// How many chunks each stored body should have, by what its chunks are keyed by: a sequence number, or, in a
	// file of schema 1 or one whose migration was interrupted, the body id (legacy buckets).
	wanted, legacyWanted := map[uint64]uint32{}, map[BodyID]uint32{}
	live := map[uint64]bool{} // bodies with a record, which alone keep a search text
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
		switch {
		case rec.seq == 0:
			legacyWanted[id] = chunkCount(rec.size)
		case live[rec.seq]:
			report("body %s: sequence number %d is another body's", id, rec.seq)
		default:
			live[rec.seq] = true
			wanted[rec.seq] = chunkCount(rec.size)
		}
		return nil
	})
	for id, n := range refs {
		report("body %s: %d entries point at a missing body", id, n)
	}
	// Released bodies keep their chunks until the background sweep deletes them, the last ones first.
	if freed := tx.Bucket(bucketFreed); freed != nil {
		_ = freed.ForEach(func(k, v []byte) error {
			f, err := decodeFreed(v)
			if err != nil || len(k) != 8 {
				report("freed body %x: %v", k, err)
				return nil
			}
			seq := binary.BigEndian.Uint64(k)
			if _, dup := wanted[seq]; dup {
				report("body %s: released, but its sequence number %d is still in use", f.id, seq)
				return nil
			}
			wanted[seq] = chunkCount(f.size)
			return nil
		})
	}
	if freed := tx.Bucket(legacyFreed); freed != nil {
		_ = freed.ForEach(func(k, v []byte) error {
			var id BodyID
			copy(id[:], k)
			d := decoder{b: v}
			legacyWanted[id] = chunkCount(d.int())
			return nil
		})
	}
	seqOf := func(k []byte) (uint64, bool) {
		if len(k) < 8 {
			return 0, false
		}
		return binary.BigEndian.Uint64(k), true
	}
	idOf := func(k []byte) (id BodyID, ok bool) { return id, copy(id[:], k) == len(id) }
	checkChunks(tx.Bucket(bucketChunks), 12, seqOf, wanted, report)
	checkChunks(tx.Bucket(legacyChunks), len(BodyID{})+4, idOf, legacyWanted, report)
	checkTexts(tx.Bucket(bucketTexts), seqOf, live, report)
	checkTexts(tx.Bucket(legacyTexts), idOf, legacyWanted, report)
	checkSortRecords(tx, live, report)
	checkHeaderCopies(tx, live, report)
}

// checkChunks finds orphan, stray and missing chunks in a chunk bucket (nil: the file has no such bucket) whose
// keys are a body key (read by keyOf) and a big-endian chunk number, keyLen bytes in all.
func checkChunks[K comparable](b *bolt.Bucket, keyLen int, keyOf func([]byte) (K, bool),
	wanted map[K]uint32, report func(string, ...any)) {
	seen := map[K]uint32{}
	if b != nil {
		_ = b.ForEach(func(k, _ []byte) error {
			body, ok := keyOf(k)
			if !ok || len(k) != keyLen {
				report("chunk %x: malformed key", k)
				return nil
			}
			want, ok := wanted[body]
			switch n := binary.BigEndian.Uint32(k[keyLen-4:]); {
			case !ok:
				report("chunk %x: orphan (no body record)", k)
			case n >= want:
				report("chunk %x: beyond the end of its body", k)
			default:
				seen[body]++
			}
			return nil
		})
	}
	for body, want := range wanted {
		if seen[body] != want {
			report("body %v: %d chunks, want %d", body, seen[body], want)
		}
	}
}

// checkTexts finds search texts whose body has no record, and stored texts that do not decode (text.go).
func checkTexts[K comparable, V any](b *bolt.Bucket, keyOf func([]byte) (K, bool), live map[K]V, report func(string, ...any)) {
	if b == nil {
		return
	}
	buf := newTextBuffer()
	defer buf.release()
	_ = b.ForEach(func(k, v []byte) error {
		if body, ok := keyOf(k); !ok {
			report("search text %x: malformed key", k)
		} else if _, ok := live[body]; !ok {
			report("search text %x: orphan (no body record)", k)
		}
		if _, err := buf.decode(v); err != nil {
			report("search text %x: %v", k, err)
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
