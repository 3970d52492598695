package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Recent segments (schema 5). The postings are kept term by term (index.go), so a batch appends to the last block
// of each of its terms: in a mailbox of 100,000 messages each term's last block is on a page of its own, and a
// batch of 256 deliveries with 1,000 distinct terms rewrote 1,100 scattered pages (4.3 per message, 20 ms of
// commit that the deliveries sharing it waited for). A batch now writes its postings as one segment per field,
// keyed by the mailbox, the field and the batch's first UID: a few values next to each other, whatever the
// mailbox's size. Once a mailbox has mergeAt segments they are merged into its postings, mergeStepTerms terms a
// transaction, so that each term's last block is rewritten once for mergeAt batches rather than once for each.
// A mailbox's first batch (a new mailbox, or a rebuild) writes its postings directly: its keys are all new and come
// in order.
//
//	index_recent  mailbox id + field + first UID of the batch → the batch's postings of that field (encodeSegment)
//
// Searches read a mailbox's segments beside its postings and take the union of the UIDs they give for each term
// (a merge under way has written some terms to the postings whose segments are not deleted yet: the same UIDs
// twice, which the union keeps once). The index state (indexState) counts the segments and, while a merge runs, says
// which segments it merges (those whose batch starts at or below MergeUpTo) and how far it has come.
var bucketIndexRecent = []byte("index_recent")

const (
	mergeAt        = 16  // segments of a mailbox that start their merge into its postings
	mergeStepTerms = 512 // terms a merge step writes in one transaction, each a page or so
)

// indexFields are the fields in key order: a merge goes through them in this order.
var indexFields = []indexField{fieldBody, fieldCc, fieldFrom, fieldHeader, fieldSubj, fieldTo, fieldBcc}

func segmentKey(mailboxID uint64, f indexField, first uint32) []byte {
	return binary.BigEndian.AppendUint32(fieldPrefix(mailboxID, f), first)
}

// encodeSegment encodes the postings of one field of a batch, terms ascending, every UID above base:
//
//	version 1 | uvarint base | uvarint terms | uvarint len(blob) | blob: NUL t NUL t … NUL
//	| one 4-byte offset per term into lists | lists: per term uvarint count, then its UIDs as deltas from base
//
// The blob is searched like a dictionary chunk (scanTerms); the offsets find a term's UIDs without reading the
// others'.
func encodeSegment(base uint32, terms []string, uids func(i int) []uint32) []byte {
	blobLen := 1
	for _, t := range terms {
		blobLen += len(t) + 1
	}
	var lists []byte
	offsets := make([]byte, 0, 4*len(terms))
	for i := range terms {
		offsets = binary.BigEndian.AppendUint32(offsets, uint32(len(lists)))
		u := uids(i)
		lists = encodeUIDs(binary.AppendUvarint(lists, uint64(len(u))), base, u)
	}
	v := make([]byte, 0, 16+blobLen+len(offsets)+len(lists))
	v = append(v, 1)
	v = binary.AppendUvarint(v, uint64(base))
	v = binary.AppendUvarint(v, uint64(len(terms)))
	v = binary.AppendUvarint(v, uint64(blobLen))
	v = append(v, 0)
	for _, t := range terms {
		v = append(append(v, t...), 0)
	}
	return append(append(v, offsets...), lists...)
}

// segment is a decoded segment value; its slices are views of the value.
type segment struct {
	base    uint32
	terms   int
	blob    []byte
	offsets []byte
	lists   []byte
}

func decodeSegment(v []byte) (segment, error) {
	d := decoder{b: v}
	d.version("index segment", 1)
	sg := segment{base: uint32(d.uint()), terms: int(d.uint())}
	blob := d.uint()
	if d.err != nil || blob > uint64(len(d.b)) || uint64(sg.terms)*4 > uint64(len(d.b))-blob {
		return segment{}, fmt.Errorf("malformed index segment")
	}
	sg.blob, sg.offsets, sg.lists = d.b[:blob], d.b[blob:blob+4*uint64(sg.terms)], d.b[blob+4*uint64(sg.terms):]
	if len(sg.blob) == 0 || sg.blob[0] != 0 || sg.blob[len(sg.blob)-1] != 0 {
		return segment{}, fmt.Errorf("malformed index segment terms")
	}
	return sg, nil
}

// uids appends the UIDs of term number i to out.
func (sg segment) uids(i int, out []uint32) ([]uint32, error) {
	if i < 0 || i >= sg.terms {
		return out, fmt.Errorf("index segment: no term %d", i)
	}
	off := binary.BigEndian.Uint32(sg.offsets[4*i:])
	if uint64(off) >= uint64(len(sg.lists)) {
		return out, fmt.Errorf("index segment: term %d: offset out of range", i)
	}
	v := sg.lists[off:]
	n, k := binary.Uvarint(v)
	if k <= 0 || n > uint64(len(v)) {
		return out, fmt.Errorf("index segment: term %d: malformed count", i)
	}
	v, uid := v[k:], sg.base
	for range n {
		d, k := binary.Uvarint(v)
		if k <= 0 || d == 0 || d > uint64(^uint32(0)-uid) {
			return out, fmt.Errorf("index segment: term %d: malformed list", i)
		}
		uid += uint32(d)
		out = append(out, uid)
		v = v[k:]
	}
	return out, nil
}

// each calls fn with every term of the segment and its number, in order.
func (sg segment) each(fn func(term []byte, i int) error) error {
	i := 0
	for rest := sg.blob[1:]; len(rest) > 0; i++ {
		end := bytes.IndexByte(rest, 0)
		if err := fn(rest[:end], i); err != nil {
			return err
		}
		rest = rest[end+1:]
	}
	if i != sg.terms {
		return fmt.Errorf("index segment: %d terms listed, %d counted", i, sg.terms)
	}
	return nil
}

// scan calls fn with every term of the segment that meets c, and its number.
func (sg segment) scan(c termCond, fn func(term []byte, i int) error) error {
	counted, at := 0, 0 // terms that start before blob[at]: the NULs before it, less the blob's last
	return scanTerms(sg.blob, c, func(term []byte, start int) error {
		counted += bytes.Count(sg.blob[at:start], []byte{0})
		at = start
		return fn(term, counted-1)
	})
}

// fieldSegments decodes the segments of one field of a mailbox, in UID order, those of batches starting at or
// below upTo (0: all).
func fieldSegments(tx *bolt.Tx, mailboxID uint64, f indexField, upTo uint32) ([]segment, error) {
	var out []segment
	prefix := fieldPrefix(mailboxID, f)
	c := tx.Bucket(bucketIndexRecent).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) != len(prefix)+4 {
			return nil, fmt.Errorf("index segment key %x: malformed", k)
		}
		if upTo != 0 && binary.BigEndian.Uint32(k[len(prefix):]) > upTo {
			break
		}
		sg, err := decodeSegment(v)
		if err != nil {
			return nil, fmt.Errorf("index segment %x: %w", k, err)
		}
		out = append(out, sg)
	}
	return out, nil
}

// segmentStarts lists the first UIDs of the mailbox's segments, ascending, each once.
func segmentStarts(tx *bolt.Tx, mailboxID uint64) []uint32 {
	var starts []uint32
	prefix := u64key(mailboxID)
	c := tx.Bucket(bucketIndexRecent).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) == len(prefix)+1+4 {
			starts = append(starts, binary.BigEndian.Uint32(k[len(prefix)+1:]))
		}
	}
	return sortedSet(starts)
}

// writeSegments puts the batch's postings as one segment per field.
func (b *indexBatchData) writeSegments(tx *bolt.Tx, mailboxID uint64) error {
	recent := tx.Bucket(bucketIndexRecent)
	recent.FillPercent = 1.0 // appended in key order within the mailbox's field, deleted together
	first := b.from.IndexedUID + 1
	var uids []uint32
	for _, f := range slices.Sorted(maps.Keys(b.postings)) {
		terms := b.postings[f]
		sorted := slices.Sorted(maps.Keys(terms))
		v := encodeSegment(b.from.IndexedUID, sorted, func(i int) []uint32 {
			uids = b.listUIDs(uids[:0], terms[sorted[i]])
			return uids
		})
		if err := recent.Put(segmentKey(mailboxID, f, first), v); err != nil {
			return fmt.Errorf("index segment: %w", err)
		}
	}
	return nil
}

// mergeStepData is one merge step, read before its transaction: the terms it writes to the postings, and the
// index state after it.
type mergeStepData struct {
	from, to indexState
	field    indexField
	terms    []string
	lists    [][]uint32
	finished bool // the last step: it deletes the merged segments
}

// readMergeStep plans the mailbox's next merge step; nil if there is nothing to merge.
func (s *Store) readMergeStep(mailboxID uint64) (*mergeStepData, error) {
	var m *mergeStepData
	err := s.view(func(tx *bolt.Tx) error {
		st, err := getIndexState(tx, mailboxID)
		if err != nil || st.Dropping {
			return err
		}
		to := st
		if to.MergeUpTo == 0 {
			starts := segmentStarts(tx, mailboxID)
			if len(starts) < mergeAt {
				return nil
			}
			to.MergeUpTo, to.MergeField, to.MergeAfter = starts[len(starts)-1], indexFields[0], ""
		}
		for fi := slices.Index(indexFields, to.MergeField); fi >= 0 && fi < len(indexFields); fi++ {
			f := indexFields[fi]
			after := ""
			if f == to.MergeField {
				after = to.MergeAfter
			}
			terms, lists, err := nextMergeTerms(tx, mailboxID, f, to.MergeUpTo, after)
			if err != nil {
				return err
			}
			if len(terms) > 0 {
				to.MergeField, to.MergeAfter = f, terms[len(terms)-1]
				m = &mergeStepData{from: st, to: to, field: f, terms: terms, lists: lists}
				return nil
			}
		}
		to.MergeUpTo, to.MergeField, to.MergeAfter = 0, 0, ""
		m = &mergeStepData{from: st, to: to, finished: true}
		return nil
	})
	return m, err
}

// nextMergeTerms is the first mergeStepTerms terms after after (all, if after is empty) of the field's segments
// up to upTo, with their UIDs from every one of those segments, ascending.
func nextMergeTerms(tx *bolt.Tx, mailboxID uint64, f indexField, upTo uint32, after string) ([]string, [][]uint32, error) {
	segs, err := fieldSegments(tx, mailboxID, f, upTo)
	if err != nil {
		return nil, nil, err
	}
	pending := map[string]bool{}
	for _, sg := range segs {
		if err := sg.each(func(term []byte, _ int) error {
			if string(term) > after || after == "" {
				pending[string(term)] = true
			}
			return nil
		}); err != nil {
			return nil, nil, err
		}
	}
	terms := slices.Sorted(maps.Keys(pending))
	terms = terms[:min(len(terms), mergeStepTerms)]
	if len(terms) == 0 {
		return nil, nil, nil
	}
	last := terms[len(terms)-1]
	at := make(map[string]int, len(terms))
	for i, t := range terms {
		at[t] = i
	}
	lists := make([][]uint32, len(terms))
	for _, sg := range segs { // in UID order, so each list stays ascending
		if err := sg.each(func(term []byte, i int) error {
			if (after != "" && string(term) <= after) || string(term) > last {
				return nil
			}
			n := at[string(term)]
			var err error
			lists[n], err = sg.uids(i, lists[n])
			return err
		}); err != nil {
			return nil, nil, err
		}
	}
	return terms, lists, nil
}

// mergeStep runs the mailbox's next merge step in one transaction, and says whether the merge is done (or there
// was none to do).
func (s *Store) mergeStep(mailboxID uint64) (done bool, err error) {
	m, err := s.readMergeStep(mailboxID)
	if err != nil || m == nil {
		return true, err
	}
	applied := false
	err = s.updateBackground(func(tx *bolt.Tx, _ *changes) error {
		applied = false
		st, err := getIndexState(tx, mailboxID)
		if err != nil {
			return err
		}
		if st != m.from || tx.Bucket(bucketMboxIDs).Get(u64key(mailboxID)) == nil {
			return nil // changed meanwhile: plan again
		}
		if err := m.write(tx, mailboxID); err != nil {
			return err
		}
		applied = true
		return putIndexState(tx, mailboxID, m.to)
	})
	if err != nil {
		return true, fmt.Errorf("merge the index segments of mailbox #%d: %w", mailboxID, err)
	}
	return applied && m.finished, nil
}

// write appends the step's terms to the postings, or, for the last step, deletes the merged segments.
func (m *mergeStepData) write(tx *bolt.Tx, mailboxID uint64) error {
	if m.finished {
		recent := tx.Bucket(bucketIndexRecent)
		var keys [][]byte
		for _, f := range indexFields {
			prefix := fieldPrefix(mailboxID, f)
			c := recent.Cursor()
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				if len(k) == len(prefix)+4 && binary.BigEndian.Uint32(k[len(prefix):]) <= m.from.MergeUpTo {
					keys = append(keys, slices.Clone(k))
				}
			}
		}
		for _, k := range keys { // never delete while a cursor walks the bucket
			if err := recent.Delete(k); err != nil {
				return err
			}
		}
		m.to.Segments = uint32(len(segmentStarts(tx, mailboxID)))
		return nil
	}
	postings := tx.Bucket(bucketPostings)
	postings.FillPercent = postingsFill
	var fresh []string
	for i, t := range m.terms {
		isNew, err := appendPostings(postings, termPrefix(mailboxID, m.field, []byte(t)), m.lists[i])
		if err != nil {
			return err
		}
		if isNew {
			fresh = append(fresh, t)
		}
	}
	return addDictionaryTerms(tx, mailboxID, m.field, fresh)
}
