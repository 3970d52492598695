package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
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
	// seq is the body's place in storage order: its chunks and search text are keyed by it, so that a new body
	// is appended at the end of those buckets instead of landing among older ones (see "Layout" in doc.go).
	// Zero only in a record written before schema 2, whose chunks and text the migration still has to move.
	seq  uint64
	meta []byte // the parse result from internal/message, opaque here
}

// chunkKey is the key of chunk n of the body stored under seq: in storage order, then chunk order.
func chunkKey(seq uint64, n uint32) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(make([]byte, 0, 12), seq), n)
}

// chunkCount is how many chunks hold a body of size bytes.
func chunkCount(size int64) uint32 { return uint32((size + ChunkSize - 1) / ChunkSize) }

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
	// The same bytes may have been released a moment ago and still wait for the sweep (a reader had them pinned):
	// they are stored again under a new sequence number, and the sweep takes the old copy as planned.
	seq, err := bodies.NextSequence()
	if err != nil {
		return id, fmt.Errorf("body %s: number it: %w", id, err)
	}
	if err := bodies.Put(id[:], encodeBody(bodyRecord{refs: 1, size: int64(len(msg.Body)), seq: seq, meta: msg.Meta})); err != nil {
		return id, err
	}
	if err := putBodyData(tx, seq, msg.Body, msg.Text); err != nil {
		return id, fmt.Errorf("body %s: %w", id, err)
	}
	if err := putSortRecord(tx, seq, msg.Meta, msg.Body); err != nil {
		return id, fmt.Errorf("body %s: %w", id, err)
	}
	return id, nil
}

// putBodyData writes a body's chunks and search text under its sequence number.
func putBodyData(tx *bolt.Tx, seq uint64, body, text []byte) error {
	if len(text) > 0 {
		texts := tx.Bucket(bucketTexts)
		texts.FillPercent = 1.0 // appended in key order and never updated in place
		if err := texts.Put(u64key(seq), text); err != nil {
			return fmt.Errorf("store search text: %w", err)
		}
	}
	chunks := tx.Bucket(bucketChunks)
	chunks.FillPercent = 1.0
	for n, off := uint32(0), 0; off < len(body); n, off = n+1, off+ChunkSize {
		end := min(off+ChunkSize, len(body))
		if err := chunks.Put(chunkKey(seq, n), body[off:end]); err != nil {
			return fmt.Errorf("store body chunk %d: %w", n, err)
		}
	}
	return nil
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
	if err := tx.Bucket(bucketTexts).Delete(u64key(rec.seq)); err != nil {
		return err
	}
	if err := tx.Bucket(bucketSorts).Delete(u64key(rec.seq)); err != nil {
		return err
	}
	// The chunks go in a later transaction of the background sweep (sweep.go), once no reader has the body pinned.
	return tx.Bucket(bucketFreed).Put(u64key(rec.seq), encodeFreed(freedBody{id: id, size: rec.size}))
}

// freedBody is a released body whose chunks wait for the sweep, in the freed bucket under its sequence number.
type freedBody struct {
	id   BodyID // what readers pin
	size int64
}

func encodeFreed(f freedBody) []byte {
	var e encoder
	e.b = append(e.b, 1)
	e.bytes(f.id[:])
	e.int(f.size)
	return e.b
}

func decodeFreed(v []byte) (freedBody, error) {
	d := decoder{b: v}
	d.version("freed body", 1)
	var f freedBody
	if id := d.bytes(); d.err == nil && copy(f.id[:], id) != len(f.id) {
		d.fail()
	}
	f.size = d.int()
	return f, d.err
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

// encodeBody writes version 2; version 1 (schema 1) had no sequence number.
func encodeBody(r bodyRecord) []byte {
	var e encoder
	e.b = append(e.b, 2)
	e.uint(r.refs)
	e.int(r.size)
	e.uint(r.seq)
	e.bytes(r.meta)
	return e.b
}

func decodeBody(v []byte) (bodyRecord, error) { return decodeBodyRecord(v, true) }

// decodeBodyRecord decodes a body record, with its parse result only when withMeta says so: finding a body's
// chunks or search text, as SEARCH does for every message, needs no copy of it.
func decodeBodyRecord(v []byte, withMeta bool) (bodyRecord, error) {
	var r bodyRecord
	d := decoder{b: v}
	if len(v) > 0 && v[0] == 1 {
		d.b = v[1:]
		r.refs, r.size = d.uint(), d.int()
	} else {
		d.version("body", 2)
		r.refs, r.size, r.seq = d.uint(), d.int(), d.uint()
	}
	if withMeta {
		r.meta = d.bytes()
	}
	return r, d.err
}

// bodyRecordOf reads the record of body id, its parse result only when withMeta says so.
func bodyRecordOf(tx *bolt.Tx, id BodyID, withMeta bool) (bodyRecord, error) {
	v := tx.Bucket(bucketBodies).Get(id[:])
	if v == nil {
		return bodyRecord{}, fmt.Errorf("body %s: %w", id, ErrNotFound)
	}
	rec, err := decodeBodyRecord(v, withMeta)
	if err != nil {
		return rec, fmt.Errorf("body %s: %w", id, err)
	}
	if rec.seq == 0 {
		return rec, fmt.Errorf("body %s: stored in the layout before schema 2; reopen the store to migrate it", id)
	}
	return rec, nil
}

// locateBody finds the sequence number body id is stored under: from its record, or, for a body released while
// a reader had it pinned, from its entry in the freed bucket (the background sweep keeps it short; only a
// body expunged while being read comes here).
func locateBody(tx *bolt.Tx, id BodyID) (uint64, error) {
	rec, err := bodyRecordOf(tx, id, false)
	if !errors.Is(err, ErrNotFound) {
		return rec.seq, err
	}
	c := tx.Bucket(bucketFreed).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if f, ferr := decodeFreed(v); ferr == nil && f.id == id {
			return binary.BigEndian.Uint64(k), nil
		}
	}
	return 0, err
}

// BodyReader reads a stored body. Each ReadAt opens its own read transaction and touches only the chunks it needs,
// so a partial FETCH of a large attachment reads a few chunks, and no transaction stays open across network writes.
type BodyReader struct {
	s    *Store
	id   BodyID
	size int64
	seq  uint64 // found on the first read; a body keeps its sequence number for as long as it is pinned
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
		if r.seq == 0 {
			seq, err := locateBody(tx, r.id)
			if err != nil {
				return err
			}
			r.seq = seq
		}
		chunks := tx.Bucket(bucketChunks)
		for int64(n) < want {
			pos := off + int64(n)
			c := chunks.Get(chunkKey(r.seq, uint32(pos/ChunkSize)))
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
