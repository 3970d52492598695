package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"

	"mailserver/internal/message"
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

// bodyRef is a stored body as a new entry points at it.
type bodyRef struct {
	id    BodyID
	size  int64
	place bodyPlace
}

// refOf is the ref of body id with record rec.
func refOf(id BodyID, rec bodyRecord) bodyRef {
	ref := bodyRef{id: id, size: rec.size, place: bodyPlace{seq: rec.seq}}
	if start, end, err := message.RootHeaderRange(rec.meta); err == nil {
		ref.place.header, ref.place.headerStart, ref.place.headerEnd = true, start, end
	}
	return ref
}

// addBodyRef stores the body if it is new, or adds a reference to the stored copy.
func addBodyRef(tx *bolt.Tx, msg *NewMessage) (bodyRef, error) {
	*msg = msg.prepared() // done before the transaction by every caller that stores many: then a no-op
	id := msg.id
	bodies := tx.Bucket(bucketBodies)
	if v := bodies.Get(id[:]); v != nil {
		return addRef(bodies, id, v)
	}
	// The same bytes may have been released a moment ago and still wait for the sweep (a reader had them pinned):
	// they are stored again under a new sequence number, and the sweep takes the old copy as planned.
	seq, err := bodies.NextSequence()
	if err != nil {
		return bodyRef{}, fmt.Errorf("body %s: number it: %w", id, err)
	}
	rec := bodyRecord{refs: 1, size: int64(len(msg.Body)), seq: seq, meta: msg.Meta}
	if err := bodies.Put(id[:], encodeBody(rec)); err != nil {
		return bodyRef{}, err
	}
	if err := putBodyData(tx, seq, msg.Body, msg.storedText); err != nil {
		return bodyRef{}, fmt.Errorf("body %s: %w", id, err)
	}
	if err := putSortRecord(tx, seq, msg.Meta, msg.Body); err != nil {
		return bodyRef{}, fmt.Errorf("body %s: %w", id, err)
	}
	return refOf(id, rec), nil
}

// addRef adds a reference to body id, whose record is v.
func addRef(bodies *bolt.Bucket, id BodyID, v []byte) (bodyRef, error) {
	rec, err := decodeBody(v)
	if err != nil {
		return bodyRef{}, fmt.Errorf("body %s: %w", id, err)
	}
	rec.refs++
	return refOf(id, rec), bodies.Put(id[:], encodeBody(rec))
}

// putBodyData writes a body's chunks and search text (in its stored form, encodeText) under its sequence number.
func putBodyData(tx *bolt.Tx, seq uint64, body, storedText []byte) error {
	if len(storedText) > 0 {
		texts := tx.Bucket(bucketTexts)
		texts.FillPercent = 1.0 // appended in key order and never updated in place
		if err := texts.Put(u64key(seq), storedText); err != nil {
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
func incBodyRef(tx *bolt.Tx, id BodyID) (bodyRef, error) {
	bodies := tx.Bucket(bucketBodies)
	v := bodies.Get(id[:])
	if v == nil {
		return bodyRef{}, fmt.Errorf("body %s: %w", id, ErrNotFound)
	}
	return addRef(bodies, id, v)
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
	if err := tx.Bucket(bucketHeaders).Delete(u64key(rec.seq)); err != nil {
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
	r, err := decodeBodyRecordView(v, withMeta)
	r.meta = append([]byte(nil), r.meta...)
	return r, err
}

// decodeBodyRecordView is decodeBodyRecord with meta pointing into v.
func decodeBodyRecordView(v []byte, withMeta bool) (bodyRecord, error) {
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
		r.meta = d.view()
	}
	return r, d.err
}

// bodyRecordOf reads the record of body id, its parse result only when withMeta says so.
func bodyRecordOf(tx *bolt.Tx, id BodyID, withMeta bool) (bodyRecord, error) {
	rec, err := bodyRecordView(tx, id, withMeta)
	rec.meta = append([]byte(nil), rec.meta...)
	return rec, err
}

// bodyRecordView is bodyRecordOf with the parse result pointing into the transaction's pages.
func bodyRecordView(tx *bolt.Tx, id BodyID, withMeta bool) (bodyRecord, error) {
	return bodyRecordAt(tx.Bucket(bucketBodies).Get(id[:]), id, withMeta)
}

// bodyRecordAt decodes v, the stored record of body id (nil: none), as bodyRecordView does.
func bodyRecordAt(v []byte, id BodyID, withMeta bool) (bodyRecord, error) {
	if v == nil {
		return bodyRecord{}, fmt.Errorf("body %s: %w", id, ErrNotFound)
	}
	rec, err := decodeBodyRecordView(v, withMeta)
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
	n := 0
	err := r.s.view(func(tx *bolt.Tx) error {
		if r.seq == 0 {
			seq, err := locateBody(tx, r.id)
			if err != nil {
				return err
			}
			r.seq = seq
		}
		var err error
		n, err = readChunks(tx.Bucket(bucketChunks).Cursor(), r.id, r.seq, r.size, p, off)
		return err
	})
	return eofAfter(n, len(p), err)
}

// readChunks copies bytes [off, off+len(p)) of the body stored under seq into p, as far as the body goes.
func readChunks(chunks *bolt.Cursor, id BodyID, seq uint64, size int64, p []byte, off int64) (int, error) {
	want := min(int64(len(p)), size-off)
	n := 0
	for int64(n) < want {
		c, err := chunkAt(chunks, id, seq, off+int64(n))
		if err != nil {
			return n, err
		}
		n += copy(p[n:want], c)
	}
	return n, nil
}

// chunkAt is the rest of the chunk that holds byte pos of the body stored under seq, from pos on.
func chunkAt(chunks *bolt.Cursor, id BodyID, seq uint64, pos int64) ([]byte, error) {
	c := nextOrSeekGet(chunks, chunkKey(seq, uint32(pos/ChunkSize)))
	within := pos % ChunkSize
	if c == nil || within >= int64(len(c)) {
		return nil, fmt.Errorf("body %s: chunk %d missing", id, pos/ChunkSize)
	}
	return c[within:], nil
}

// seekGet is Bucket.Get through a cursor, which a reader doing many lookups in one transaction reuses instead of
// allocating a new one for each.
func seekGet(c *bolt.Cursor, key []byte) []byte {
	k, v := c.Seek(key)
	if !bytes.Equal(k, key) {
		return nil
	}
	return v
}

// nextOrSeekGet is seekGet for lookups that mostly go forward one key at a time: the chunks of a body in order,
// then the first chunk of the next message's body, whose sequence number is usually the next one (mail is stored
// in the order it comes, and a mailbox is read in UID order). One step of the cursor is tried before a search from
// the root, which cost a FETCH of the headers of 100,000 messages nearly half its time. A cursor not positioned
// yet, or one whose next key is another, falls back to the search.
func nextOrSeekGet(c *bolt.Cursor, key []byte) []byte {
	if k, v := c.Next(); bytes.Equal(k, key) {
		return v
	}
	return seekGet(c, key)
}

// eofAfter is io.ReaderAt's result for a read of want bytes that got n.
func eofAfter(n, want int, err error) (int, error) {
	if err == nil && n < want {
		err = io.EOF
	}
	return n, err
}

// BodyView reads a stored body inside the read transaction of Store.ViewMessages, which handed it out; it must not
// be used after that callback returns.
type BodyView struct {
	bodies *bolt.Cursor
	chunks *bolt.Cursor
	id     BodyID
	seq    uint64 // 0 until the body record has been read
	size   int64
}

// Size is the body's length in bytes.
func (v *BodyView) Size() int64 { return v.size }

// ReadAt implements io.ReaderAt.
func (v *BodyView) ReadAt(p []byte, off int64) (int, error) {
	if off >= v.size && off >= 0 {
		return 0, io.EOF
	}
	if err := v.locate(off); err != nil {
		return 0, err
	}
	n, err := readChunks(v.chunks, v.id, v.seq, v.size, p, off)
	return eofAfter(n, len(p), err)
}

// Slice returns bytes [off, off+n) of the body without copying when they lie within one chunk, and nil when they
// do not (read them with ReadAt). The slice points into the store's memory map: valid until the callback returns.
func (v *BodyView) Slice(off, n int64) ([]byte, error) {
	if n < 0 || off+n > v.size {
		return nil, fmt.Errorf("body %s: range %d+%d outside %d bytes", v.id, off, n, v.size)
	}
	if n == 0 {
		return []byte{}, nil
	}
	if err := v.locate(off); err != nil {
		return nil, err
	}
	c, err := chunkAt(v.chunks, v.id, v.seq, off)
	if err != nil || int64(len(c)) < n {
		return nil, err
	}
	return c[:n:n], nil
}

// locate checks off and finds the body's sequence number on the first read.
func (v *BodyView) locate(off int64) error {
	if off < 0 {
		return fmt.Errorf("body %s: negative offset", v.id)
	}
	if v.seq != 0 {
		return nil
	}
	rec, err := bodyRecordAt(seekGet(v.bodies, v.id[:]), v.id, false)
	v.seq = rec.seq
	return err
}
