package store

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"mailserver/internal/message"
)

// The header copier gives bodies their header copy (headers.go) in the background, in body sequence order from a
// watermark kept in meta: every body stored under a sequence number up to it has been given its copy or found to
// get none. A store written before copies existed has no watermark, which reads as 0, so its bodies are copied
// oldest first after it opens. The background indexer runs the batches (indexer.go), each read in a read
// transaction and written in one write transaction (updateBackground, which may share the commit of deliveries).
//
// The chunks are what is stored in sequence order, so a batch walks them. A body's record is found by its id: for
// bodies of messages appended since the indexer started, from their entries (appendHints, which the indexer notes
// from the changes it is told of), and for the others (a backfill) as the SHA-256 of its bytes, which costs a
// read of the whole body and about 4% of a delivery's CPU for a 20 KiB one. The write transaction gives a body its copy only if its record is still there
// under the same sequence number: releaseBody deletes a record and its copy in one transaction, so a body released
// after the read gets none, and a copy never outlives its body. The sweep deletes only chunks, of bodies already
// released.
var keyHeaderCopies = []byte("header_copies_upto") // in meta: the watermark, a big-endian sequence number

const (
	copyBatchBodies = 256     // copies one batch writes at most
	copyBatchBytes  = 1 << 20 // and their bytes
	copyBatchLooks  = 4096    // bodies one batch looks at (those with a copy already cost a lookup)
	copyBatchRead   = 8 << 20 // body bytes one batch hashes; at least one body is hashed whole
)

// appendHint is messages appended to a mailbox, whose entries tell the ids of the bodies stored with them.
type appendHint struct {
	mailboxID uint64
	uids      []uint32
}

// maxKnownBodies bounds how many body ids the indexer keeps from hints for the copier; the others are hashed.
const maxKnownBodies = 16 << 10

// knownBodies maps a body's sequence number to its id: a number is given once, so what it maps to never changes.
type knownBodies map[uint64]BodyID

// learn adds the bodies of the hinted messages still in their mailbox, up to maxKnownBodies.
func (known knownBodies) learn(tx *bolt.Tx, hints []appendHint) {
	var e entry
	for _, h := range hints {
		msgs, err := messagesBucket(tx, h.mailboxID)
		if err != nil {
			continue // deleted: its bodies are released or have other messages
		}
		for _, uid := range h.uids {
			if len(known) >= maxKnownBodies {
				return
			}
			if v := msgs.Get(u32key(uid)); v != nil && decodeEntryView(v, &e) == nil && e.place.seq != 0 {
				known[e.place.seq] = e.body
			}
		}
	}
}

// forget drops what is known of the bodies up to the watermark.
func (known knownBodies) forget(upTo uint64) {
	for seq := range known {
		if seq <= upTo {
			delete(known, seq)
		}
	}
}

// headerCopyJob is a copy computed for the body id stored under seq.
type headerCopyJob struct {
	seq uint64
	id  BodyID
	v   []byte
}

// headerCopyBatch is one batch of copies, computed in a read transaction.
type headerCopyBatch struct {
	from, upTo uint64 // the watermark it was read at, and where it moves it
	last       bool   // the batch reaches the last body stored
	jobs       []headerCopyJob
}

// headerCopiesUpTo is the copier's watermark (0 if the store has none).
func headerCopiesUpTo(tx *bolt.Tx) uint64 {
	if v := tx.Bucket(bucketMeta).Get(keyHeaderCopies); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// headerCopiesPending reports whether bodies were stored after the copier's watermark.
func headerCopiesPending(tx *bolt.Tx) bool {
	return headerCopiesUpTo(tx) < tx.Bucket(bucketBodies).Sequence()
}

// CopyHeadersPending gives every body stored so far its header copy, now, and returns how many batches it wrote.
// The background indexer does the same over time; this is for tests and benchmarks.
func (s *Store) CopyHeadersPending() (int, error) {
	batches := 0
	for {
		done, wrote, err := s.copyHeaderBatch(knownBodies{}, nil)
		if wrote {
			batches++
		}
		if err != nil || done {
			return batches, err
		}
	}
}

// copyHeaderBatch writes the copies of the next bodies after the watermark and moves it on, finding the bodies
// the hints or known tell without hashing them. done says the watermark has reached the last body stored; wrote,
// that a transaction was committed.
func (s *Store) copyHeaderBatch(known knownBodies, hints []appendHint) (done, wrote bool, err error) {
	b, err := s.readHeaderCopyBatch(known, hints)
	if err != nil {
		return true, false, fmt.Errorf("header copies: %w", err)
	}
	if b.upTo == b.from {
		return true, false, nil
	}
	applied, err := s.writeHeaderCopyBatch(b)
	if err != nil {
		return true, false, fmt.Errorf("header copies: %w", err)
	}
	known.forget(b.upTo)
	return applied && b.last, true, nil
}

// readHeaderCopyBatch computes the copies of the next bodies after the watermark, up to the batch bounds.
func (s *Store) readHeaderCopyBatch(known knownBodies, hints []appendHint) (headerCopyBatch, error) {
	var b headerCopyBatch
	err := s.view(func(tx *bolt.Tx) error {
		known.learn(tx, hints)
		b = headerCopyBatch{from: headerCopiesUpTo(tx)}
		b.upTo = b.from
		return b.read(tx, known)
	})
	return b, err
}

func (b *headerCopyBatch) read(tx *bolt.Tx, known knownBodies) error {
	bodies, headers := tx.Bucket(bucketBodies), tx.Bucket(bucketHeaders)
	lastSeq := bodies.Sequence()
	c := tx.Bucket(bucketChunks).Cursor()
	looks, read, written := 0, 0, 0
	k, _ := c.Seek(chunkKey(b.from+1, 0))
	for ; k != nil; k, _ = c.Seek(chunkKey(b.upTo+1, 0)) {
		if len(b.jobs) >= copyBatchBodies || looks >= copyBatchLooks || read >= copyBatchRead || written >= copyBatchBytes {
			return nil
		}
		if len(k) != 12 {
			return fmt.Errorf("chunk key %x: not a sequence number and chunk number", k)
		}
		seq := binary.BigEndian.Uint64(k)
		if seq > lastSeq {
			break
		}
		looks++
		b.upTo = seq
		if binary.BigEndian.Uint32(k[8:]) != 0 || headers.Get(u64key(seq)) != nil {
			continue // a released body half swept, or one with its copy
		}
		chunks := bodyChunks(c, seq)
		id, isKnown := known[seq]
		if !isKnown {
			id = sha256Of(chunks)
			for _, ch := range chunks {
				read += len(ch)
			}
		}
		if job, ok := headerCopyJobOf(bodies, seq, id, chunks); ok {
			b.jobs = append(b.jobs, job)
			written += len(job.v)
		}
	}
	// Every body stored is looked at; those after the last chunk are empty or released and swept.
	b.last = true
	b.upTo = max(b.upTo, lastSeq)
	return nil
}

// bodyChunks are the chunks stored under seq, pointing into the transaction's pages (only those read are read
// from the file).
func bodyChunks(c *bolt.Cursor, seq uint64) [][]byte {
	var chunks [][]byte
	for k, v := c.Seek(chunkKey(seq, 0)); len(k) == 12 && binary.BigEndian.Uint64(k) == seq; k, v = c.Next() {
		chunks = append(chunks, v)
	}
	return chunks
}

// sha256Of is the id of the body made of chunks.
func sha256Of(chunks [][]byte) BodyID {
	h := sha256.New()
	for _, ch := range chunks {
		h.Write(ch)
	}
	var id BodyID
	h.Sum(id[:0])
	return id
}

// headerCopyJobOf is the copy of body id, whose chunks stored under seq begin with these, if that body is stored
// under seq and gets one: a released body's chunks may wait for the sweep, and the same bytes stored again have
// another number.
func headerCopyJobOf(bodies *bolt.Bucket, seq uint64, id BodyID, chunks [][]byte) (headerCopyJob, bool) {
	job := headerCopyJob{seq: seq, id: id}
	rec, err := decodeBodyRecordView(bodies.Get(job.id[:]), true)
	if err != nil || rec.seq != seq {
		return job, false
	}
	_, end, err := message.RootHeaderRange(rec.meta)
	if err != nil {
		return job, false
	}
	job.v = headerCopyFrom(rec.meta, chunks, end)
	return job, job.v != nil
}

// headerCopyFrom is the header copy (nil: none) of a body with parse result meta and these chunks, whose root
// header ends at end.
func headerCopyFrom(meta []byte, chunks [][]byte, end int64) []byte {
	raw := chunks[0]
	if end > int64(len(raw)) && len(chunks) > 1 { // a header longer than a chunk: gather its bytes
		raw = nil
		for _, ch := range chunks {
			if raw = append(raw, ch...); int64(len(raw)) >= end {
				break
			}
		}
	}
	if v, ok := headerCopyOf(meta, raw); ok {
		return v
	}
	return nil
}

// writeHeaderCopyBatch stores the batch's copies of bodies still stored and moves the watermark on, if no other
// batch moved it since the read; applied says it did.
func (s *Store) writeHeaderCopyBatch(b headerCopyBatch) (applied bool, err error) {
	err = s.updateBackground(func(tx *bolt.Tx, _ *changes) error {
		applied = false
		if headerCopiesUpTo(tx) != b.from {
			return nil // moved meanwhile: read again
		}
		bodies, headers := tx.Bucket(bucketBodies), tx.Bucket(bucketHeaders)
		headers.FillPercent = 1.0 // appended in key order and never updated in place
		for _, j := range b.jobs {
			// Checked here, in the transaction that writes: the body may have been released since the read.
			rec, err := decodeBodyRecordView(bodies.Get(j.id[:]), false)
			if err != nil || rec.seq != j.seq || headers.Get(u64key(j.seq)) != nil {
				continue
			}
			if err := headers.Put(u64key(j.seq), j.v); err != nil {
				return fmt.Errorf("body %s: store header copy: %w", j.id, err)
			}
		}
		applied = true
		return tx.Bucket(bucketMeta).Put(keyHeaderCopies, u64key(b.upTo))
	})
	return applied, err
}
