package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"slices"

	bolt "go.etcd.io/bbolt"

	"mailserver/internal/message"
)

// Header copies: the root header of each body, without its trace and signature fields (message.AppendShortHeader),
// in body_headers under the body's sequence number like its search text and sort record. A FETCH of header fields
// over a whole mailbox reads them side by side, a few to a page, instead of the first page of each body's first
// chunk, one page per message scattered over the whole file. Deleted with the body's record. A body without one (not
// reached by the copier yet, or whose short header is longer than maxHeaderCopy) is read from its chunks as before.
//
// They are written in the background (headercopy.go), not in a delivery's transaction, where the extra bucket
// cost deliveries 13–15% at 8 writers.
var bucketHeaders = []byte("body_headers") // body seq → version byte + short root header

// headerCopyVersion is the first byte of a header copy.
const headerCopyVersion = 1

// maxHeaderCopy bounds a header copy: longer ones would take as many pages as the chunk they come from.
const maxHeaderCopy = 8 << 10

// headerCopyOf is the header copy of a body whose parse result is meta, from raw, which holds the body's bytes
// from its start to at least the end of its root header; ok is false when the body gets none.
func headerCopyOf(meta, raw []byte) (v []byte, ok bool) {
	start, end, err := message.RootHeaderRange(meta)
	if err != nil {
		return nil, false
	}
	// Clamped as the FETCH path clamps the range (a stale parse result reads nothing outside the body).
	start = min(max(start, 0), int64(len(raw)))
	end = min(max(end, start), int64(len(raw)))
	v = message.AppendShortHeader([]byte{headerCopyVersion}, raw[start:end])
	return v, len(v)-1 <= maxHeaderCopy
}

// headerCopyAt is the short root header of the body stored under seq, nil if it has none, through a cursor that
// mostly steps to the next key (a mailbox read in UID order reads bodies in storage order). It points into the
// transaction's pages.
func headerCopyAt(headers *bolt.Cursor, seq uint64) []byte {
	v := nextOrSeekGet(headers, u64key(seq))
	if len(v) == 0 || v[0] != headerCopyVersion {
		return nil // none, or of a later version this program cannot read: the chunks serve it
	}
	return v[1:]
}

// checkHeaderCopies reports header copies of no body, and copies that differ from what the body's bytes give.
// Bodies are compared in storage order, so that their first chunks are read front to back through the file.
func checkHeaderCopies(tx *bolt.Tx, live map[uint64]bool, report func(string, ...any)) {
	headers := tx.Bucket(bucketHeaders)
	if headers == nil {
		return // opened only by a program from before them
	}
	_ = headers.ForEach(func(k, _ []byte) error {
		if len(k) != 8 || !live[binary.BigEndian.Uint64(k)] {
			report("header copy %x: orphan (no body record)", k)
		}
		return nil
	})
	chunks := tx.Bucket(bucketChunks).Cursor()
	for _, b := range bodiesWithHeaderCopies(tx, headers) {
		rec, err := bodyRecordView(tx, b.id, true)
		if err != nil {
			continue // reported by checkBodies
		}
		got := headers.Get(u64key(b.seq))
		if want, err := expectedHeaderCopy(chunks, b.id, rec); err != nil {
			report("body %s: header copy: %v", b.id, err)
		} else if !bytes.Equal(got, want) {
			report("body %s: header copy of %d bytes differs from its body's header (%d bytes)", b.id, len(got), len(want))
		}
	}
}

// bodyAt is a body and the sequence number it is stored under.
type bodyAt struct {
	seq uint64
	id  BodyID
}

// bodiesWithHeaderCopies lists the bodies that have a header copy, in storage order.
func bodiesWithHeaderCopies(tx *bolt.Tx, headers *bolt.Bucket) []bodyAt {
	var list []bodyAt
	_ = tx.Bucket(bucketBodies).ForEach(func(k, v []byte) error {
		rec, err := decodeBodyRecordView(v, false)
		if err == nil && rec.seq != 0 && headers.Get(u64key(rec.seq)) != nil {
			b := bodyAt{seq: rec.seq}
			copy(b.id[:], k)
			list = append(list, b)
		}
		return nil
	})
	slices.SortFunc(list, func(a, b bodyAt) int { return cmp.Compare(a.seq, b.seq) })
	return list
}

// expectedHeaderCopy is the header copy the body of rec should have (nil: none), from its chunks.
func expectedHeaderCopy(chunks *bolt.Cursor, id BodyID, rec bodyRecord) ([]byte, error) {
	_, end, err := message.RootHeaderRange(rec.meta)
	if err != nil {
		return nil, nil
	}
	raw := make([]byte, min(max(end, 0), rec.size))
	if _, err := readChunks(chunks, id, rec.seq, rec.size, raw, 0); err != nil {
		return nil, err
	}
	v, ok := headerCopyOf(rec.meta, raw)
	if !ok {
		return nil, nil
	}
	return v, nil
}
