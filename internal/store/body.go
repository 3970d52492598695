package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"
)

// ChunkSize is the size of the pieces a body is stored in (see the package doc for why bodies are split).
const ChunkSize = 64 << 10

// BodyID identifies a stored body: the SHA-256 of its bytes.
type BodyID [sha256.Size]byte

func (id BodyID) String() string { return hex.EncodeToString(id[:8]) }

// bodyRecord is the per-body bookkeeping, in the bodies bucket.
type bodyRecord struct {
	refs uint64
	size int64
	meta []byte // the parse result from internal/message, opaque here
}

func chunkKey(id BodyID, n uint32) []byte { return append(id[:], u32key(n)...) }

// addBodyRef stores the body if it is new, or adds a reference to the stored copy.
func addBodyRef(tx *bolt.Tx, msg *NewMessage) (BodyID, error) {
	id := BodyID(sha256.Sum256(msg.Body))
	bodies := tx.Bucket(bucketBodies)
	if v := bodies.Get(id[:]); v != nil {
		rec, err := decodeBody(v)
		if err != nil {
			return id, fmt.Errorf("body %s: %w", id, err)
		}
		rec.refs++
		return id, bodies.Put(id[:], encodeBody(rec))
	}
	if err := bodies.Put(id[:], encodeBody(bodyRecord{refs: 1, size: int64(len(msg.Body)), meta: msg.Meta})); err != nil {
		return id, err
	}
	// The same bytes may have been released a moment ago and still wait for the sweep (a reader had them pinned):
	// the sweep must not take the chunks this message is about to own. They are rewritten below, same content.
	if err := tx.Bucket(bucketFreed).Delete(id[:]); err != nil {
		return id, fmt.Errorf("body %s: cancel its pending sweep: %w", id, err)
	}
	if len(msg.Text) > 0 {
		if err := tx.Bucket(bucketTexts).Put(id[:], msg.Text); err != nil {
			return id, err
		}
	}
	chunks := tx.Bucket(bucketChunks)
	chunks.FillPercent = 1.0 // appended in key order and never updated in place
	for n, off := uint32(0), 0; off < len(msg.Body); n, off = n+1, off+ChunkSize {
		end := min(off+ChunkSize, len(msg.Body))
		if err := chunks.Put(chunkKey(id, n), msg.Body[off:end]); err != nil {
			return id, fmt.Errorf("store body chunk %d: %w", n, err)
		}
	}
	return id, nil
}

// incBodyRef adds a reference to a stored body (COPY).
func incBodyRef(tx *bolt.Tx, id BodyID) error {
	bodies := tx.Bucket(bucketBodies)
	v := bodies.Get(id[:])
	if v == nil {
		return fmt.Errorf("body %s: %w", id, ErrNotFound)
	}
	rec, err := decodeBody(v)
	if err != nil {
		return err
	}
	rec.refs++
	return bodies.Put(id[:], encodeBody(rec))
}

// releaseBody drops a reference and frees the body with its last one.
func releaseBody(tx *bolt.Tx, id BodyID) error {
	bodies := tx.Bucket(bucketBodies)
	v := bodies.Get(id[:])
	if v == nil {
		return fmt.Errorf("release body %s: %w", id, ErrNotFound)
	}
	rec, err := decodeBody(v)
	if err != nil {
		return err
	}
	if rec.refs > 1 {
		rec.refs--
		return bodies.Put(id[:], encodeBody(rec))
	}
	if err := bodies.Delete(id[:]); err != nil {
		return err
	}
	if err := tx.Bucket(bucketTexts).Delete(id[:]); err != nil {
		return err
	}
	// The chunks go in a later transaction (sweepFreedBodies), once no reader has the body pinned.
	var e encoder
	e.int(rec.size)
	return tx.Bucket(bucketFreed).Put(id[:], e.b)
}

// sweepFreedBodies deletes the chunks of bodies released by earlier, committed transactions, except those pinned
// by a reader. It runs at the start of every write transaction. Releasing a body (deleting its record) and
// deleting its chunks are separate commits, and PinBodies registers a pin before it checks that the record still
// exists: so a reader either sees the body gone, or its pin is seen here and the chunks stay.
func (s *Store) sweepFreedBodies(tx *bolt.Tx) error {
	freed := tx.Bucket(bucketFreed)
	type victim struct {
		id   BodyID
		size int64
	}
	var victims []victim
	c := freed.Cursor()
	s.pinMu.Lock()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var id BodyID
		copy(id[:], k)
		if s.pins[id] > 0 {
			continue
		}
		d := decoder{b: v}
		victims = append(victims, victim{id, d.int()})
	}
	s.pinMu.Unlock()
	chunks := tx.Bucket(bucketChunks)
	for _, vc := range victims { // never delete while iterating
		for n := uint32(0); int64(n)*ChunkSize < vc.size; n++ {
			if err := chunks.Delete(chunkKey(vc.id, n)); err != nil {
				return err
			}
		}
		if err := freed.Delete(vc.id[:]); err != nil {
			return err
		}
	}
	return nil
}

// PinBodies keeps the given bodies readable until release is called, even if their last message is expunged
// meanwhile, so that a FETCH which reads a body chunk by chunk, outside any transaction, never finds chunks gone.
// present[i] is false for a body already released (its message was expunged): skip that message.
func (s *Store) PinBodies(ids []BodyID) (present []bool, release func()) {
	s.pinMu.Lock()
	for _, id := range ids {
		s.pins[id]++
	}
	s.pinMu.Unlock()
	release = func() {
		s.pinMu.Lock()
		defer s.pinMu.Unlock()
		for _, id := range ids {
			if s.pins[id]--; s.pins[id] <= 0 {
				delete(s.pins, id)
			}
		}
	}
	present = make([]bool, len(ids))
	err := s.view(func(tx *bolt.Tx) error {
		bodies := tx.Bucket(bucketBodies)
		for i, id := range ids {
			present[i] = bodies.Get(id[:]) != nil
		}
		return nil
	})
	if err != nil {
		for i := range present {
			present[i] = true // unreadable now: let the reads themselves report it
		}
	}
	return present, release
}

func encodeBody(r bodyRecord) []byte {
	var e encoder
	e.b = append(e.b, 1)
	e.uint(r.refs)
	e.int(r.size)
	e.bytes(r.meta)
	return e.b
}

func decodeBody(v []byte) (bodyRecord, error) {
	d := decoder{b: v}
	d.version("body", 1)
	r := bodyRecord{refs: d.uint(), size: d.int(), meta: d.bytes()}
	return r, d.err
}

// BodyReader reads a stored body. Each ReadAt opens its own read transaction and touches only the chunks it needs,
// so a partial FETCH of a large attachment reads a few chunks, and no transaction stays open across network writes.
type BodyReader struct {
	s    *Store
	id   BodyID
	size int64
}

// Body returns a reader for a stored body of the given size (Message.BodySize).
func (s *Store) Body(id BodyID, size int64) *BodyReader { return &BodyReader{s: s, id: id, size: size} }

// Size is the body's length in bytes.
func (r *BodyReader) Size() int64 { return r.size }

// ReadAt implements io.ReaderAt.
func (r *BodyReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("body %s: negative offset", r.id)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), r.size-off)
	n := 0
	err := r.s.view(func(tx *bolt.Tx) error {
		chunks := tx.Bucket(bucketChunks)
		for int64(n) < want {
			pos := off + int64(n)
			c := chunks.Get(chunkKey(r.id, uint32(pos/ChunkSize)))
			within := pos % ChunkSize
			if c == nil || within >= int64(len(c)) {
				return fmt.Errorf("body %s: chunk %d missing", r.id, pos/ChunkSize)
			}
			n += copy(p[n:want], c[within:])
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	if int64(n) < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

// bodySize returns the size the record of body id gives.
func bodySize(tx *bolt.Tx, id BodyID) (int64, error) {
	v := tx.Bucket(bucketBodies).Get(id[:])
	if v == nil {
		return 0, fmt.Errorf("body %s: %w", id, ErrNotFound)
	}
	rec, err := decodeBody(v)
	if err != nil {
		return 0, fmt.Errorf("body %s: %w", id, err)
	}
	return rec.size, nil
}
