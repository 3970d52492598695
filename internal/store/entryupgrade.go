package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Entries of version 1 (written before entries recorded where their body is) make every read of their message
// look the body's record up by its hash: one random page of a file that may be far larger than memory per message
// (a FETCH of the header fields of 100,000 such messages in a million-message store spent most of its time in
// page faults). The entry upgrader rewrites them as version 2 in the background, once: every entry written since
// is of version 2, copies included (addCopy), so a store walked to its end has none left.
//
// The walk goes through the mailboxes in ID order and their entries in UID order from a watermark kept in meta
// (keyEntriesUpTo: the mailbox ID and UID of the last entry looked at, or entriesWalked once done). A batch looks
// entries up in a read transaction, where the record lookups fault their pages in, and writes what it changes (re-read there)
// and the watermark in a write transaction that may share the commit of deliveries (updateBackground). The rewrite changes no flag and no
// modification sequence: nothing a client sees.
var keyEntriesUpTo = []byte("entries_v2_upto")

// entriesWalked is the watermark of a finished walk.
var entriesWalked = bytes.Repeat([]byte{0xff}, 12)

// markEntriesWalkedIfEmpty finishes the walk of a store with no mailbox yet (a new one): every entry it will hold is
// of version 2.
func markEntriesWalkedIfEmpty(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta.Get(keyEntriesUpTo) != nil {
		return nil
	}
	if k, _ := tx.Bucket(bucketMessages).Cursor().First(); k != nil {
		return nil
	}
	return meta.Put(keyEntriesUpTo, entriesWalked)
}

const (
	upgradeBatchLooks  = 4096 // entries one batch looks at
	upgradeBatchWrites = 512  // of which it rewrites at most
	upgradeYield       = 50 * time.Millisecond
)

// upgradeJob is the place found for the body of a version-1 entry.
type upgradeJob struct {
	mailboxID uint64
	uid       uint32
	body      BodyID
	place     bodyPlace
}

type entryUpgradeBatch struct {
	upTo []byte // the watermark after the batch
	jobs []upgradeJob
}

// entryUpgrader is the background goroutine's state.
type entryUpgrader struct {
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// startEntryUpgrader starts the walk unless it is done already.
func (s *Store) startEntryUpgrader() {
	u := &entryUpgrader{stop: make(chan struct{}), done: make(chan struct{})}
	s.upgrader = u
	go func() {
		defer close(u.done)
		if err := s.upgradeEntriesUntil(u.stop); err != nil {
			slog.Error("store: recording where the bodies of old entries are", "err", err)
		}
	}()
}

func (s *Store) stopEntryUpgrader() {
	if u := s.upgrader; u != nil {
		u.once.Do(func() { close(u.stop) })
		<-u.done
	}
}

// UpgradeEntries rewrites every entry of version 1 now and returns how many. The background upgrader does the same
// over time; this is for tests.
func (s *Store) UpgradeEntries() (int, error) {
	n := 0
	for {
		b, err := s.readEntryUpgradeBatch()
		if err != nil || b == nil {
			return n, err
		}
		wrote, err := s.writeEntryUpgradeBatch(b)
		n += wrote
		if err != nil {
			return n, err
		}
	}
}

// upgradeEntriesUntil walks batch after batch, each after the deliveries in flight, until done or stop is closed.
// A walk that rewrites entries says so when it ends.
func (s *Store) upgradeEntriesUntil(stop <-chan struct{}) error {
	began, rewritten := time.Now(), 0
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		s.YieldToWriters(upgradeYield)
		b, err := s.readEntryUpgradeBatch()
		if err != nil {
			return err
		}
		if b == nil {
			if rewritten > 0 {
				slog.Info("store: old entries record where their body is", "entries", rewritten,
					"duration", time.Since(began).Round(time.Millisecond))
			}
			return nil
		}
		n, err := s.writeEntryUpgradeBatch(b)
		if err != nil {
			return err
		}
		rewritten += n
	}
}

// readEntryUpgradeBatch looks at the entries after the watermark; nil when the walk is done.
func (s *Store) readEntryUpgradeBatch() (*entryUpgradeBatch, error) {
	var b *entryUpgradeBatch
	err := s.view(func(tx *bolt.Tx) error {
		from := tx.Bucket(bucketMeta).Get(keyEntriesUpTo)
		if bytes.Equal(from, entriesWalked) {
			return nil
		}
		b = &entryUpgradeBatch{upTo: entriesWalked}
		var afterBox uint64
		var afterUID uint32
		if len(from) == 12 {
			afterBox, afterUID = binary.BigEndian.Uint64(from), binary.BigEndian.Uint32(from[8:])
		}
		bodies := tx.Bucket(bucketBodies).Cursor()
		looked := 0
		boxes := tx.Bucket(bucketMessages).Cursor()
		for k, _ := boxes.Seek(u64key(afterBox)); k != nil; k, _ = boxes.Next() {
			mailboxID := binary.BigEndian.Uint64(k)
			msgs := tx.Bucket(bucketMessages).Bucket(k)
			if msgs == nil {
				continue
			}
			c := msgs.Cursor()
			uk, v := c.First()
			if mailboxID == afterBox {
				if uk, v = c.Seek(u32key(afterUID)); uk != nil && uidOf(uk) == afterUID {
					uk, v = c.Next()
				}
			}
			var e entry
			for ; uk != nil; uk, v = c.Next() {
				if looked == upgradeBatchLooks || len(b.jobs) == upgradeBatchWrites {
					b.upTo = binary.BigEndian.AppendUint32(u64key(mailboxID), uidOf(uk)-1)
					return nil
				}
				looked++
				if err := decodeEntryView(v, &e); err != nil {
					return fmt.Errorf("mailbox #%d uid %d: %w", mailboxID, uidOf(uk), err)
				}
				if e.place.seq != 0 {
					continue
				}
				rec, err := bodyRecordAt(seekGet(bodies, e.body[:]), e.body, true)
				if err != nil {
					return fmt.Errorf("mailbox #%d uid %d: %w", mailboxID, uidOf(uk), err)
				}
				b.jobs = append(b.jobs, upgradeJob{mailboxID: mailboxID, uid: uidOf(uk), body: e.body,
					place: refOf(e.body, rec).place})
			}
		}
		return nil
	})
	return b, err
}

// writeEntryUpgradeBatch rewrites the batch's entries that are still there and still of version 1, and moves the
// watermark on. It returns how many it rewrote.
func (s *Store) writeEntryUpgradeBatch(b *entryUpgradeBatch) (int, error) {
	var wrote int
	err := s.updateBackground(func(tx *bolt.Tx, _ *changes) error {
		wrote = 0
		for _, j := range b.jobs {
			msgs, err := messagesBucket(tx, j.mailboxID)
			if err != nil {
				continue // deleted since
			}
			v := msgs.Get(u32key(j.uid))
			if v == nil {
				continue // expunged since
			}
			e, err := decodeEntry(v)
			if err != nil {
				return fmt.Errorf("mailbox #%d uid %d: %w", j.mailboxID, j.uid, err)
			}
			if e.place.seq != 0 || e.body != j.body {
				continue
			}
			e.place = j.place
			if err := msgs.Put(u32key(j.uid), encodeEntry(e)); err != nil {
				return err
			}
			wrote++
		}
		return tx.Bucket(bucketMeta).Put(keyEntriesUpTo, b.upTo)
	})
	return wrote, err
}
