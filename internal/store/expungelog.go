package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// bucketExpunged is the expunge log (schema 3): mailbox id + modseq + uid → nothing, one key per expunged message.
// Keyed so that "expunged since modseq M" is one seek and a range scan (QRESYNC, RFC 7162 3.2.5).
var bucketExpunged = []byte("expunged")

// maxExpungeLog bounds a mailbox's expunge log. Once a mailbox has more entries, the oldest go in batches of an
// eighth, and ExpungeLogFloor moves up past them. The log only saves transfer: a client asking from below the
// floor gets the answer computed from the current UIDs instead (every UID of its known range that no longer
// exists), which is always correct, only longer. A count rather than an age bounds the space whatever the mail
// traffic (about 40 bytes per entry, so at most ~1 MB per mailbox), and keeps a quiet mailbox's log however old:
// a phone that syncs once a month still gets the short answer. Dovecot and Stalwart likewise keep logs bounded by
// size, not time.
var maxExpungeLog uint32 = 25000 // a variable for tests

// expungeKeyLen is mailbox id + modseq + uid.
const expungeKeyLen = 8 + 8 + 4

func expungeKey(mailboxID, modSeq uint64, uid uint32) []byte {
	k := make([]byte, 0, expungeKeyLen)
	k = binary.BigEndian.AppendUint64(k, mailboxID)
	k = binary.BigEndian.AppendUint64(k, modSeq)
	return binary.BigEndian.AppendUint32(k, uid)
}

// splitExpungeKey returns the modseq and uid of a key of mailbox prefix's log.
func splitExpungeKey(k []byte) (modSeq uint64, uid uint32) {
	return binary.BigEndian.Uint64(k[8:16]), binary.BigEndian.Uint32(k[16:20])
}

// logExpunge gives the expunge of uid from mb a new modseq and records it in the log (the caller saves mb).
func logExpunge(tx *bolt.Tx, mb *Mailbox, uid uint32) error {
	mb.HighestModSeq++
	log := tx.Bucket(bucketExpunged)
	log.FillPercent = 0.9 // modseqs only grow: keys are appended per mailbox
	if err := log.Put(expungeKey(mb.ID, mb.HighestModSeq, uid), nil); err != nil {
		return fmt.Errorf("expunge log of %q: %w", mb.Name, err)
	}
	mb.expungeLogLen++
	if mb.expungeLogLen > maxExpungeLog {
		return trimExpungeLog(tx, mb, mb.expungeLogLen-maxExpungeLog+maxExpungeLog/8)
	}
	return nil
}

// trimExpungeLog drops the n oldest entries of mb's log and raises its floor past them (the caller saves mb).
func trimExpungeLog(tx *bolt.Tx, mb *Mailbox, n uint32) error {
	log := tx.Bucket(bucketExpunged)
	prefix := u64key(mb.ID)
	var victims [][]byte
	c := log.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && uint32(len(victims)) < n; k, _ = c.Next() {
		victims = append(victims, bytes.Clone(k))
	}
	for _, k := range victims { // never change a bucket while a cursor walks it
		if err := log.Delete(k); err != nil {
			return fmt.Errorf("trim the expunge log of %q: %w", mb.Name, err)
		}
		mb.ExpungeLogFloor, _ = splitExpungeKey(k)
	}
	mb.expungeLogLen -= uint32(len(victims))
	return nil
}

// dropExpungeLog empties mb's log: what it said is meaningless from now on (a new UIDVALIDITY, a deleted mailbox).
// The floor becomes the current HIGHESTMODSEQ (the caller saves mb).
func dropExpungeLog(tx *bolt.Tx, mb *Mailbox) error {
	if err := trimExpungeLog(tx, mb, mb.expungeLogLen); err != nil {
		return err
	}
	mb.ExpungeLogFloor = mb.HighestModSeq
	return nil
}

// Expunged returns the UIDs expunged from the mailbox with a modseq above since, ascending. complete is false when
// the log no longer reaches back that far (since is below ExpungeLogFloor): the list may then miss UIDs, and the
// caller must work out what vanished from the UIDs that still exist (RFC 7162 3.2.5.2).
func (s *Store) Expunged(mailboxID, since uint64) (uids []uint32, complete bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		mb, err := getMailboxByID(tx, mailboxID)
		if err != nil {
			return err
		}
		complete = since >= mb.ExpungeLogFloor
		prefix := u64key(mailboxID)
		c := tx.Bucket(bucketExpunged).Cursor()
		for k, _ := c.Seek(expungeKey(mailboxID, since+1, 0)); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			_, uid := splitExpungeKey(k)
			uids = append(uids, uid)
		}
		return nil
	})
	slices.Sort(uids)
	return uids, complete, err
}

// startExpungeLogs is the schema 3 step for files of schema 2 or older: their mailboxes get the new record, with
// an empty log whose floor is the current HIGHESTMODSEQ (nothing says what was expunged before), and at least 1
// as HIGHESTMODSEQ, as RFC 7162 3.1.1 wants a positive value even for a mailbox never written to.
func startExpungeLogs(tx *bolt.Tx) error {
	boxes, err := allMailboxesTx(tx)
	if err != nil {
		return err
	}
	for _, m := range boxes {
		m.HighestModSeq = max(m.HighestModSeq, 1)
		m.ExpungeLogFloor = m.HighestModSeq
		if err := putMailbox(tx, m); err != nil {
			return fmt.Errorf("mailbox %q: %w", m.Name, err)
		}
	}
	return nil
}

// checkExpungeLog verifies every mailbox's log: its mailbox exists, each entry lies between the floor and
// HIGHESTMODSEQ, names a UID below UIDNEXT that no longer exists, and the count kept in the mailbox is right.
// A file of an older schema (a backup being verified) has no log to check.
func checkExpungeLog(tx *bolt.Tx, report func(string, ...any)) {
	if tx.Bucket(bucketExpunged) == nil {
		return
	}
	counts := map[uint64]uint32{}
	boxes := map[uint64]Mailbox{}
	c := tx.Bucket(bucketExpunged).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(k) != expungeKeyLen {
			report("expunge log: malformed key %x", k)
			continue
		}
		id := binary.BigEndian.Uint64(k[:8])
		mb, ok := boxes[id]
		if !ok {
			var err error
			if mb, err = getMailboxByID(tx, id); err != nil {
				report("expunge log: entry %x of a missing mailbox: %v", k, err)
				continue
			}
			boxes[id] = mb
		}
		counts[id]++
		modSeq, uid := splitExpungeKey(k)
		if modSeq <= mb.ExpungeLogFloor || modSeq > mb.HighestModSeq {
			report("mailbox %q: expunge of uid %d at modseq %d outside (%d, %d]", mb.Name, uid, modSeq,
				mb.ExpungeLogFloor, mb.HighestModSeq)
		}
		if uid == 0 || uid >= mb.UIDNext {
			report("mailbox %q: expunge log names uid %d, UIDNEXT is %d", mb.Name, uid, mb.UIDNext)
		}
		if msgs, err := messagesBucket(tx, id); err == nil && msgs.Get(u32key(uid)) != nil {
			report("mailbox %q: expunge log names uid %d, which exists", mb.Name, uid)
		}
	}
	_ = tx.Bucket(bucketMailboxes).ForEach(func(k, v []byte) error {
		m, err := decodeMailbox(v)
		if err != nil {
			return nil // reported by Check's walk of the mailboxes
		}
		if m.expungeLogLen != counts[m.ID] {
			report("mailbox %q: expunge log of %d entries, the mailbox counts %d", m.Name, counts[m.ID], m.expungeLogLen)
		}
		if m.HighestModSeq == 0 || m.ExpungeLogFloor > m.HighestModSeq {
			report("mailbox %q: HIGHESTMODSEQ %d, expunge log floor %d", m.Name, m.HighestModSeq, m.ExpungeLogFloor)
		}
		return nil
	})
}
