package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"time"

	bolt "go.etcd.io/bbolt"

	"mailserver/internal/message"
)

// Sort records (schema 3): what SORT and THREAD compare of each body (sent date, base subject, first addresses and
// display names, message ids; internal/message's SortRecord), one per body in body_sorts under the body's
// sequence number like its search text, so that a SORT reads a few hundred bytes a message in one transaction and
// never a body. Written with the body, deleted with its record; a store from before schema 3 gets them from
// backfillSortRecords at open.
var (
	bucketSorts = []byte("body_sorts") // body seq → encoded message.SortRecord
	// keySortBackfill, in meta, marks an unfinished backfill: its value is the last body key done (empty: none).
	keySortBackfill = []byte("sort_backfill")
)

// maxSortHeader bounds how much of a body the backfill reads looking for the end of its header.
const maxSortHeader = 1 << 20

// putSortRecord computes and stores the sort record of the body stored under seq.
func putSortRecord(tx *bolt.Tx, seq uint64, meta, raw []byte) error {
	sorts := tx.Bucket(bucketSorts)
	sorts.FillPercent = 1.0 // appended in key order and never updated in place
	if err := sorts.Put(u64key(seq), message.SortRecordOf(meta, raw)); err != nil {
		return fmt.Errorf("store sort record: %w", err)
	}
	return nil
}

// SortItem is one message as SORT and THREAD see it, with its sort record.
type SortItem struct {
	UID          uint32
	InternalDate time.Time
	Size         int64 // RFC822.SIZE
}

// EachSortRecord calls fn, in one read transaction, for each of uids (ascending) that still exists in the
// mailbox, with its encoded sort record (message.DecodeSortRecord; nil if missing). The record is only valid during
// fn, which must not block. The mailbox is read with one cursor, not a lookup per message: SORT reads them all.
func (s *Store) EachSortRecord(mailboxID uint64, uids []uint32, fn func(SortItem, []byte) error) error {
	return s.view(func(tx *bolt.Tx) error {
		b, err := messagesBucket(tx, mailboxID)
		if err != nil {
			return err
		}
		bodies, sorts := tx.Bucket(bucketBodies), tx.Bucket(bucketSorts)
		c := b.Cursor()
		k, v := c.First()
		for _, uid := range uids {
			for k != nil && uidOf(k) < uid {
				k, v = c.Next()
			}
			if k == nil {
				return nil
			}
			if uidOf(k) != uid {
				continue // expunged meanwhile
			}
			e, err := decodeEntry(v)
			if err != nil {
				return fmt.Errorf("mailbox #%d uid %d: %w", mailboxID, uid, err)
			}
			rec, err := decodeBodyRecord(bodies.Get(e.body[:]), false)
			if err != nil {
				return fmt.Errorf("mailbox #%d uid %d: body %s: %w", mailboxID, uid, e.body, err)
			}
			if err := fn(SortItem{UID: uid, InternalDate: e.date, Size: e.size()}, sorts.Get(u64key(rec.seq))); err != nil {
				return err
			}
		}
		return nil
	})
}

// backfillSortRecords gives every body of a store from before schema 3 its sort record, in bounded transactions
// like moveLegacyBodies. The sort bucket's absence is what marks such a store; keySortBackfill records the
// progress, so that an interrupted backfill resumes at the next open.
func (s *Store) backfillSortRecords() error {
	after, pending, err := s.startSortBackfill()
	if err != nil || !pending {
		return err
	}
	started := time.Now()
	slog.Info("store: computing the sort records of stored messages; interrupting is safe, the next start resumes",
		"file", s.db.Path())
	done := 0
	for {
		n, last, err := s.backfillSortBatch(after, migrateBatchBodies)
		if err != nil {
			return fmt.Errorf("backfill sort records: %w", err)
		}
		if last == nil {
			break
		}
		done += n
		after = last
	}
	err = s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(keySortBackfill) })
	if err != nil {
		return fmt.Errorf("backfill sort records: finish: %w", err)
	}
	slog.Info("store: sort records computed", "bodies", done, "duration", time.Since(started).Round(time.Millisecond))
	return nil
}

// startSortBackfill creates the sort bucket if the file has none, marking a backfill as pending if the file holds
// bodies, and returns where a pending backfill goes on from.
func (s *Store) startSortBackfill() (after []byte, pending bool, err error) {
	done := false // the usual open: the bucket is there and nothing is pending, which a read transaction tells
	err = s.db.View(func(tx *bolt.Tx) error {
		done = tx.Bucket(bucketSorts) != nil && tx.Bucket(bucketMeta).Get(keySortBackfill) == nil
		return nil
	})
	if err != nil || done {
		return nil, false, err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if tx.Bucket(bucketSorts) == nil {
			if _, err := tx.CreateBucket(bucketSorts); err != nil {
				return fmt.Errorf("create bucket %s: %w", bucketSorts, err)
			}
			if k, _ := tx.Bucket(bucketBodies).Cursor().First(); k == nil {
				return nil // a new file: nothing to backfill
			}
			if err := meta.Put(keySortBackfill, []byte{}); err != nil {
				return err
			}
		}
		v := meta.Get(keySortBackfill)
		pending = v != nil
		if len(v) > 0 {
			after = bytes.Clone(v)
		}
		return nil
	})
	return after, pending, err
}

// backfillSortBatch computes the missing sort records of the next bodies (at most limit) after the body key
// after, in one transaction, and returns how many it wrote and the last key it looked at (nil once there is none).
func (s *Store) backfillSortBatch(after []byte, limit int) (written int, last []byte, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		type missing struct {
			seq  uint64
			size int64
			meta []byte
		}
		var batch []missing
		sorts := tx.Bucket(bucketSorts)
		c := tx.Bucket(bucketBodies).Cursor()
		for k, v := firstAfter(c, after); k != nil && len(batch) < limit; k, v = c.Next() {
			last = bytes.Clone(k)
			rec, err := decodeBody(v)
			if err != nil {
				return fmt.Errorf("body %x: %w", k[:8], err)
			}
			if rec.seq != 0 && sorts.Get(u64key(rec.seq)) == nil {
				batch = append(batch, missing{rec.seq, rec.size, bytes.Clone(rec.meta)})
			}
		}
		for _, m := range batch { // never change a bucket while a cursor walks it
			if err := putSortRecord(tx, m.seq, m.meta, bodyHeader(tx, m.seq, m.size)); err != nil {
				return err
			}
		}
		written = len(batch)
		if last == nil {
			return nil
		}
		return tx.Bucket(bucketMeta).Put(keySortBackfill, last)
	})
	return written, last, err
}

// bodyHeader returns the start of the body stored under seq, chunk by chunk until it holds the blank line that
// ends the header, the whole body, or maxSortHeader bytes.
func bodyHeader(tx *bolt.Tx, seq uint64, size int64) []byte {
	chunks := tx.Bucket(bucketChunks)
	var raw []byte
	for n := range chunkCount(size) {
		chunk := chunks.Get(chunkKey(seq, n))
		if chunk == nil {
			break // damaged: the record is made of what there is, for `mailserver check` to report the rest
		}
		raw = append(raw, chunk...)
		if bytes.Contains(raw, []byte("\n\n")) || bytes.Contains(raw, []byte("\n\r\n")) || len(raw) >= maxSortHeader {
			break
		}
	}
	return raw
}

// firstAfter positions c on the first key after after (nil: the first key).
func firstAfter(c *bolt.Cursor, after []byte) (k, v []byte) {
	if after == nil {
		return c.First()
	}
	if k, v = c.Seek(after); bytes.Equal(k, after) {
		return c.Next()
	}
	return k, v
}

// checkSortRecords reports sort records of no body, and, once no backfill is pending, bodies without one.
func checkSortRecords(tx *bolt.Tx, live map[uint64]bool, report func(string, ...any)) {
	sorts := tx.Bucket(bucketSorts)
	if sorts == nil {
		return // a file from before schema 3: the next open backfills
	}
	_ = sorts.ForEach(func(k, _ []byte) error {
		if len(k) != 8 || !live[binary.BigEndian.Uint64(k)] {
			report("sort record %x: orphan (no body record)", k)
		}
		return nil
	})
	if tx.Bucket(bucketMeta).Get(keySortBackfill) != nil {
		return
	}
	for seq := range live {
		if sorts.Get(u64key(seq)) == nil {
			report("body #%d: no sort record", seq)
		}
	}
}
