package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Schema 1 kept a body's chunks and search text under its id, a SHA-256: every new body landed at a random place
// among the others, and each delivery rewrote the neighbouring pages of both buckets (hundreds of kilobytes for a
// 20 KiB message, more the larger the store). Schema 2 keys them by a sequence number given when the body is
// stored, so new bodies are appended. These are the schema 1 buckets, emptied and removed by the migration.
var (
	legacyTexts  = []byte("texts")        // body id → folded search text
	legacyChunks = []byte("chunks")       // body id + chunk no → up to ChunkSize bytes
	legacyFreed  = []byte("freed_bodies") // body id → size
)

// Bounds of one migration transaction: a crash loses at most this much work, and the dirty pages of one commit
// stay in memory until it is written.
const (
	migrateBatchBodies = 4096
	migrateBatchBytes  = 64 << 20
)

// migrate brings the file to SchemaVersion. The cheap steps run in the opening transaction. Moving the bodies out
// of the schema 1 layout runs in bounded transactions of its own (a province's store holds gigabytes of them),
// each leaving the file consistent: a body is either wholly in the old layout or wholly in the new one, and
// Check accepts both. The file says schema 2 from the first of them, so that an older program refuses it rather
// than misreading it; the legacy buckets' presence is what says the move is unfinished, and the next open
// resumes it.
func (s *Store) migrate() error {
	moveBodies, err := s.upgradeSchema()
	if err != nil {
		return err
	}
	if moveBodies {
		if err := s.moveLegacyBodies(); err != nil {
			return fmt.Errorf("migrate the bodies to schema 2: %w", err)
		}
	}
	return s.backfillSortRecords()
}

// upgradeSchema runs the steps that fit in one transaction and says whether bodies remain to be moved.
func (s *Store) upgradeSchema() (moveBodies bool, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		meta := tx.Bucket(bucketMeta)
		version := 0
		if v := meta.Get(keySchema); v != nil {
			d := decoder{b: v}
			version = int(d.uint())
		}
		if version > SchemaVersion {
			return fmt.Errorf("store schema version %d is newer than this program's %d: upgrade mailserver", version, SchemaVersion)
		}
		// Files made before the sender indexes existed have aliases and groups but empty indexes.
		if err := rebuildSenderIndexes(tx); err != nil {
			return fmt.Errorf("rebuild sender indexes: %w", err)
		}
		if version < 3 {
			if err := startExpungeLogs(tx); err != nil {
				return fmt.Errorf("start the expunge logs: %w", err)
			}
		}
		// Schema 4 adds the search index (index.go). A file without one reads as every mailbox unindexed: searches
		// scan, and the background indexer builds the postings after the open.
		moveBodies = tx.Bucket(legacyChunks) != nil
		if err := markEntriesWalkedIfEmpty(tx); err != nil {
			return err
		}
		var e encoder
		e.uint(SchemaVersion)
		return meta.Put(keySchema, e.b)
	})
	return moveBodies, err
}

// moveLegacyBodies moves every body of the schema 1 layout to sequence-numbered keys, then removes the legacy
// buckets. It runs at open, before any reader can pin a body.
func (s *Store) moveLegacyBodies() error {
	started := time.Now()
	var total int
	if err := s.db.View(func(tx *bolt.Tx) error { total = tx.Bucket(bucketBodies).Stats().KeyN; return nil }); err != nil {
		return err
	}
	slog.Info("store: moving message bodies to the schema 2 layout; interrupting is safe, the next start resumes",
		"file", s.db.Path(), "bodies", total)
	// Bodies released before the upgrade: no reader can hold them now, so their chunks go at once.
	for done := false; !done; {
		err := s.db.Update(func(tx *bolt.Tx) error {
			freed, chunks := tx.Bucket(legacyFreed), tx.Bucket(legacyChunks)
			if freed == nil {
				done = true
				return nil
			}
			type victim struct {
				key  []byte
				size int64
			}
			var victims []victim
			c := freed.Cursor()
			for k, v := c.First(); k != nil && len(victims) < migrateBatchBodies; k, v = c.Next() {
				d := decoder{b: v}
				victims = append(victims, victim{bytes.Clone(k), d.int()})
			}
			done = len(victims) == 0
			for _, vc := range victims {
				for n := range chunkCount(vc.size) {
					if err := chunks.Delete(append(bytes.Clone(vc.key), u32key(n)...)); err != nil {
						return err
					}
				}
				if err := freed.Delete(vc.key); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("delete released bodies: %w", err)
		}
	}
	var after []byte // the last body key looked at: the next transaction goes on from there
	moved, lastReport := 0, time.Now()
	for {
		n, last, err := s.moveLegacyBatch(after, migrateBatchBodies)
		if err != nil {
			return err
		}
		if last == nil {
			break
		}
		moved += n
		after = last
		if time.Since(lastReport) > 10*time.Second {
			slog.Info("store: moving message bodies", "moved", moved, "bodies", total)
			lastReport = time.Now()
		}
	}
	if err := s.rekeyLegacyImportKeys(); err != nil {
		return fmt.Errorf("import index: %w", err)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{legacyChunks, legacyTexts, legacyFreed} {
			if tx.Bucket(name) == nil {
				continue
			}
			// Anything left is an orphan of schema 1 (no body record points at it): Check reported it there.
			if err := tx.DeleteBucket(name); err != nil {
				return fmt.Errorf("remove bucket %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	slog.Info("store: message bodies moved to the schema 2 layout", "moved", moved,
		"duration", time.Since(started).Round(time.Millisecond))
	return nil
}

// moveLegacyBatch moves the next bodies (at most limit) after the key after that are still in the schema 1
// layout, in one transaction, and returns how many it moved and the last key it looked at (nil once there is none).
func (s *Store) moveLegacyBatch(after []byte, limit int) (moved int, last []byte, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		bodies := tx.Bucket(bucketBodies)
		type legacyBody struct {
			key []byte
			rec bodyRecord
		}
		var batch []legacyBody
		var bytesInBatch int64
		c := bodies.Cursor()
		k, v := c.First()
		if after != nil {
			if k, v = c.Seek(after); bytes.Equal(k, after) {
				k, v = c.Next()
			}
		}
		for ; k != nil && len(batch) < limit && bytesInBatch < migrateBatchBytes; k, v = c.Next() {
			last = bytes.Clone(k)
			rec, err := decodeBody(v)
			if err != nil {
				return fmt.Errorf("body %x: %w", k[:8], err)
			}
			if rec.seq != 0 {
				continue // moved by an earlier, interrupted run
			}
			batch = append(batch, legacyBody{last, rec})
			bytesInBatch += rec.size
		}
		oldChunks, oldTexts := tx.Bucket(legacyChunks), tx.Bucket(legacyTexts)
		for _, b := range batch { // never change a bucket while a cursor walks it
			seq, err := bodies.NextSequence()
			if err != nil {
				return err
			}
			chunks := tx.Bucket(bucketChunks)
			chunks.FillPercent = 1.0 // appended in key order
			for n := range chunkCount(b.rec.size) {
				key := append(bytes.Clone(b.key), u32key(n)...)
				chunk := oldChunks.Get(key)
				if chunk == nil {
					// Damaged before the upgrade: moved as it is, for `mailserver check` to report as before.
					slog.Warn("store: a body chunk is missing", "body", fmt.Sprintf("%x", b.key[:8]), "chunk", n)
					continue
				}
				if err := chunks.Put(chunkKey(seq, n), bytes.Clone(chunk)); err != nil {
					return err
				}
				if err := oldChunks.Delete(key); err != nil {
					return err
				}
			}
			if text := oldTexts.Get(b.key); text != nil {
				texts := tx.Bucket(bucketTexts)
				texts.FillPercent = 1.0
				if err := texts.Put(u64key(seq), bytes.Clone(text)); err != nil {
					return err
				}
				if err := oldTexts.Delete(b.key); err != nil {
					return err
				}
			}
			b.rec.seq = seq
			if err := bodies.Put(b.key, encodeBody(b.rec)); err != nil {
				return err
			}
		}
		moved = len(batch)
		return nil
	})
	return moved, last, err
}

// rekeyLegacyImportKeys gives the import index keys of schema 1 (folder id + hash) the date of the message each
// points at (importKey), in bounded transactions; a key whose message is gone is dropped, as it matched nothing
// any more. The message's date is the one its import gave, unless the source gave none: such a message is not
// recognised by a later re-run of its import.
func (s *Store) rekeyLegacyImportKeys() error {
	var after []byte
	for {
		var last []byte
		err := s.db.Update(func(tx *bolt.Tx) error {
			keys := tx.Bucket(bucketImportKeys)
			type legacyKey struct{ key, uid []byte }
			var batch []legacyKey
			c := keys.Cursor()
			k, v := c.First()
			if after != nil {
				if k, v = c.Seek(after); bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(batch) < migrateBatchBodies; k, v = c.Next() {
				last = bytes.Clone(k)
				if len(k) == importKeyLen-8 {
					batch = append(batch, legacyKey{last, bytes.Clone(v)})
				}
			}
			for _, lk := range batch { // never change a bucket while a cursor walks it
				if err := keys.Delete(lk.key); err != nil {
					return err
				}
				mailboxID := binary.BigEndian.Uint64(lk.key[:8])
				msgs, err := messagesBucket(tx, mailboxID)
				if err != nil {
					continue // the folder is gone
				}
				raw := msgs.Get(lk.uid)
				if raw == nil {
					continue // the message is gone
				}
				e, err := decodeEntry(raw)
				if err != nil {
					return fmt.Errorf("mailbox #%d uid %x: %w", mailboxID, lk.uid, err)
				}
				key := binary.BigEndian.AppendUint64(bytes.Clone(lk.key[:8]), uint64(e.date.Unix()))
				if err := keys.Put(append(key, lk.key[8:]...), lk.uid); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil || last == nil {
			return err
		}
		after = last
	}
}
