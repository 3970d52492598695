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
	chunks := tx.Bucket(bucketChunks)
	for n := uint32(0); int64(n)*ChunkSize < rec.size; n++ {
		if err := chunks.Delete(chunkKey(id, n)); err != nil {
			return err
		}
	}
	return nil
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
