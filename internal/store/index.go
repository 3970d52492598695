package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"

	bolt "go.etcd.io/bbolt"

	"mailserver/internal/message"
)

// The search index (schema 4): per mailbox, per field, the postings of every term (message.EachTerm) of the folded
// texts SEARCH compares needles with, and a dictionary of those terms. See indexsearch.go for how a needle is
// answered exactly from it, and indexer.go for how it is written.
//
//	index_postings  mailbox id + field + term + NUL + first UID of the block → UIDs, ascending, as uvarint deltas
//	                (the first from the block's UID, so it is 0)
//	index_terms     mailbox id + field + chunk number → NUL term NUL term … NUL: every term the mailbox's postings
//	                of that field have a block for, in the order they came, chunks of up to termChunkMax bytes
//	index_state     mailbox id → indexState: every live message with a UID up to IndexedUID is in the postings
var (
	bucketPostings   = []byte("index_postings")
	bucketIndexTerms = []byte("index_terms")
	bucketIndexState = []byte("index_state")
)

// indexField is what a posting list is about. The TEXT key reads both the header and the body postings: a needle
// cannot span the NUL between them in the stored search text, since folding never leaves a NUL in one.
type indexField byte

const (
	fieldHeader indexField = 'h' // folded header text (message.Parsed.HeaderText)
	fieldBody   indexField = 'b' // folded body text
	fieldSubj   indexField = 's' // the envelope's texts, as message.EnvelopeSearchTexts gives them
	fieldFrom   indexField = 'f'
	fieldTo     indexField = 't'
	fieldCc     indexField = 'c'
	fieldBcc    indexField = 'x'
)

// envelopeFields maps the envelope postings to the field names message.EnvelopeSearchTexts takes.
var envelopeFields = []struct {
	field indexField
	name  string
}{{fieldSubj, "Subject"}, {fieldFrom, "From"}, {fieldTo, "To"}, {fieldCc, "Cc"}, {fieldBcc, "Bcc"}}

// Terms longer than maxTerm bytes are indexed as windows of at most maxTerm bytes, starting every windowStep bytes,
// plus one ending at the term's end, each cut at character boundaries (so at least minWindow bytes long). Any
// substring of a long term of at most sureLen bytes then lies whole inside one window, its first minWindow bytes
// inside the first window and its last minWindow bytes inside the last: see indexsearch.go.
const (
	maxTerm    = 32
	windowStep = 16
	minWindow  = maxTerm - utf8MaxExtra
	sureLen    = maxTerm - windowStep - 2 // = 14: window i starts at most 3 bytes after i*windowStep
	// utf8MaxExtra is how many bytes a cut at a character boundary may lose.
	utf8MaxExtra = 3
)

// Sizes of stored values: a posting block grows by appends until blockMax bytes, a dictionary chunk until
// termChunkMax bytes; the indexer rewrites the last of each per batch, so they stay small.
const (
	blockMax     = 1024
	termChunkMax = 32 << 10
)

// indexState is a mailbox's index record.
type indexState struct {
	IndexedUID uint32 // every live message with a UID up to this one is in the postings
	Indexed    uint32 // messages indexed (live when they were): what exceeds the live ones is stale postings
	Dropping   bool   // the postings are being deleted (mailbox deleted, or rebuild): trust none of them
	// Segments counts the recent segments (indexrecent.go). While a merge runs, MergeUpTo is the first UID of the
	// last segment it merges (0: none runs), and it has written the terms of MergeField up to MergeAfter.
	Segments   uint32
	MergeUpTo  uint32
	MergeField indexField
	MergeAfter string
}

func getIndexState(tx *bolt.Tx, mailboxID uint64) (indexState, error) {
	return decodeIndexState(mailboxID, tx.Bucket(bucketIndexState).Get(u64key(mailboxID)))
}

// decodeIndexState decodes v, the stored index record of the mailbox (nil: none, the zero state).
func decodeIndexState(mailboxID uint64, v []byte) (indexState, error) {
	if v == nil {
		return indexState{}, nil
	}
	d := decoder{b: v}
	d.version("index state", 1)
	st := indexState{IndexedUID: uint32(d.uint()), Indexed: uint32(d.uint()), Dropping: d.bool()}
	if d.err == nil && len(d.b) > 0 { // schema 5: the segments
		st.Segments, st.MergeUpTo = uint32(d.uint()), uint32(d.uint())
		st.MergeField, st.MergeAfter = indexField(d.uint()), d.string()
	}
	if d.err != nil {
		return indexState{}, fmt.Errorf("mailbox #%d: %w", mailboxID, d.err)
	}
	return st, nil
}

func putIndexState(tx *bolt.Tx, mailboxID uint64, st indexState) error {
	e := encoder{b: []byte{1}}
	e.uint(uint64(st.IndexedUID))
	e.uint(uint64(st.Indexed))
	e.bool(st.Dropping)
	e.uint(uint64(st.Segments))
	e.uint(uint64(st.MergeUpTo))
	e.uint(uint64(st.MergeField))
	e.string(st.MergeAfter)
	return tx.Bucket(bucketIndexState).Put(u64key(mailboxID), e.b)
}

// markIndexDropping marks the index of a mailbox being deleted as to be dropped, in the deletion's transaction:
// one small write, and the postings are left to the indexer, which deletes them in bounded batches. From then on
// every index record names either a mailbox or postings being dropped (check relies on it).
func markIndexDropping(tx *bolt.Tx, mailboxID uint64) error {
	if tx.Bucket(bucketIndexState).Get(u64key(mailboxID)) == nil {
		return nil // never indexed
	}
	return putIndexState(tx, mailboxID, indexState{Dropping: true})
}

// fieldPrefix is the key prefix of one mailbox's postings or dictionary of one field.
func fieldPrefix(mailboxID uint64, f indexField) []byte {
	return append(u64key(mailboxID), byte(f))
}

// termPrefix is the key prefix of the posting blocks of one term.
func termPrefix(mailboxID uint64, f indexField, term []byte) []byte {
	k := make([]byte, 0, 9+len(term)+1+4)
	return append(append(append(k, fieldPrefix(mailboxID, f)...), term...), 0)
}

// eachIndexTerm calls fn with each term under which text is indexed: its runs of word characters, the long ones as
// windows (see maxTerm), as many times as the text has them. t is a slice of text.
func eachIndexTerm(text []byte, fn func(t []byte)) {
	message.EachTerm(text, func(t message.Term) {
		if len(t.Text) <= maxTerm {
			fn(t.Text)
			return
		}
		for _, w := range termWindows(t.Text) {
			fn(w)
		}
	})
}

// addTerm adds t to set. Only a term not in it yet is made a string: a text repeats most of its terms, and a
// lookup by string(t) allocates nothing.
func addTerm(set map[string]struct{}, t []byte) {
	if _, ok := set[string(t)]; !ok {
		set[string(t)] = struct{}{}
	}
}

// termWindows cuts a term longer than maxTerm into the windows indexed for it.
func termWindows(term []byte) [][]byte {
	var out [][]byte
	for i := 0; ; i += windowStep {
		start := runeStartAtOrAfter(term, i)
		if start+maxTerm >= len(term) {
			break
		}
		out = append(out, term[start:runeStartAtOrBefore(term, start+maxTerm)])
	}
	return append(out, term[runeStartAtOrAfter(term, len(term)-maxTerm):])
}

func runeStartAtOrAfter(b []byte, i int) int {
	for i < len(b) && b[i]&0xC0 == 0x80 {
		i++
	}
	return i
}

func runeStartAtOrBefore(b []byte, i int) int {
	for i > 0 && i < len(b) && b[i]&0xC0 == 0x80 {
		i--
	}
	return i
}

// encodeUIDs appends uids (ascending, each above prev) to a block as deltas from prev.
func encodeUIDs(block []byte, prev uint32, uids []uint32) []byte {
	for _, u := range uids {
		block = binary.AppendUvarint(block, uint64(u-prev))
		prev = u
	}
	return block
}

// encodedUIDsLen is how many bytes encodeUIDs appends for uids after prev, so that a block is allocated once, at
// its size.
func encodedUIDsLen(prev uint32, uids []uint32) int {
	n := 0
	for _, u := range uids {
		n += (bits.Len32((u-prev)|1) + 6) / 7
		prev = u
	}
	return n
}

// decodeBlock appends the UIDs of the block whose first UID is first to out.
func decodeBlock(out []uint32, first uint32, v []byte) ([]uint32, error) {
	err := eachBlockUID(first, v, func(uid uint32) { out = append(out, uid) })
	return out, err
}

// lastUID is the last UID of the block whose first UID is first.
func lastUID(first uint32, v []byte) (uint32, error) {
	last := first
	err := eachBlockUID(first, v, func(uid uint32) { last = uid })
	return last, err
}

// eachBlockUID calls fn with each UID of the block whose first UID is first, in order.
func eachBlockUID(first uint32, v []byte, fn func(uint32)) error {
	uid := first
	for len(v) > 0 {
		d, n := binary.Uvarint(v)
		if n <= 0 || d > uint64(^uint32(0)-uid) {
			return fmt.Errorf("malformed posting block")
		}
		uid += uint32(d)
		fn(uid)
		v = v[n:]
	}
	return nil
}

// termPostings appends the UIDs the postings of one term hold.
func termPostings(postings *bolt.Bucket, prefix []byte, out []uint32) ([]uint32, error) {
	c := postings.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) != len(prefix)+4 {
			continue // a longer term that starts with this one and a NUL cannot exist; be safe
		}
		var err error
		if out, err = decodeBlock(out, binary.BigEndian.Uint32(k[len(prefix):]), v); err != nil {
			return out, fmt.Errorf("posting %x: %w", k, err)
		}
	}
	return out, nil
}

// appendPostings adds uids (ascending, all above the term's last) to the postings of one term, in its last block
// while that is small, and says whether the term is new.
func appendPostings(postings *bolt.Bucket, prefix []byte, uids []uint32) (isNew bool, err error) {
	k, v := lastBlock(postings, prefix)
	if k != nil && len(v) < blockMax {
		first := binary.BigEndian.Uint32(k[len(prefix):])
		last, err := lastUID(first, v)
		if err != nil {
			return false, fmt.Errorf("posting %x: %w", k, err)
		}
		block := encodeUIDs(append(make([]byte, 0, len(v)+encodedUIDsLen(last, uids)), v...), last, uids)
		return false, postings.Put(slices.Clone(k), block)
	}
	isNew = k == nil
	key := binary.BigEndian.AppendUint32(withRoomFor(prefix, 4), uids[0])
	return isNew, postings.Put(key, encodeUIDs(make([]byte, 0, encodedUIDsLen(uids[0], uids)), uids[0], uids))
}

// withRoomFor is a copy of b with room to append n bytes without another allocation.
func withRoomFor(b []byte, n int) []byte {
	return append(make([]byte, 0, len(b)+n), b...)
}

// lastBlock is the key and value of the last block (prefix + 4-byte number) under prefix; nil if there is none.
func lastBlock(b *bolt.Bucket, prefix []byte) (k, v []byte) {
	c := b.Cursor()
	if k, v = c.Seek(append(withRoomFor(prefix, 4), 0xff, 0xff, 0xff, 0xff)); k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, prefix) || len(k) != len(prefix)+4 {
		return nil, nil
	}
	return k, v
}

// addDictionaryTerms appends new terms to the mailbox's dictionary of field f.
func addDictionaryTerms(tx *bolt.Tx, mailboxID uint64, f indexField, terms []string) error {
	if len(terms) == 0 {
		return nil
	}
	dict := tx.Bucket(bucketIndexTerms)
	prefix := fieldPrefix(mailboxID, f)
	k, v := lastBlock(dict, prefix)
	var chunkNo uint32
	var chunk []byte
	if k != nil {
		chunkNo, chunk = binary.BigEndian.Uint32(k[len(prefix):]), slices.Clone(v)
	}
	for _, t := range terms {
		if len(chunk) > 0 && len(chunk)+len(t)+1 > termChunkMax {
			if err := dict.Put(binary.BigEndian.AppendUint32(slices.Clone(prefix), chunkNo), chunk); err != nil {
				return err
			}
			chunkNo, chunk = chunkNo+1, nil
		}
		if len(chunk) == 0 {
			chunk = append(chunk, 0)
		}
		chunk = append(append(chunk, t...), 0)
	}
	return dict.Put(binary.BigEndian.AppendUint32(slices.Clone(prefix), chunkNo), chunk)
}

// deleteRange deletes up to limit keys with prefix from b and says how many it deleted.
func deleteRange(b *bolt.Bucket, prefix []byte, limit int) (int, error) {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(keys) < limit; k, _ = c.Next() {
		keys = append(keys, slices.Clone(k))
	}
	for _, k := range keys { // never delete while a cursor walks the bucket
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}
