package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Reindex rebuilds the search index of the account's mailboxes, or of every mailbox if accountID is 0: their
// postings are dropped and every message indexed again, in bounded transactions. Searches stay exact meanwhile:
// a mailbox whose index is gone is searched by reading its texts.
func (s *Store) Reindex(accountID uint64) error {
	var ids []uint64
	err := s.view(func(tx *bolt.Tx) error {
		boxes, err := allMailboxesTx(tx)
		for _, m := range boxes {
			if accountID == 0 || m.AccountID == accountID {
				ids = append(ids, m.ID)
			}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("reindex: %w", err)
	}
	for _, id := range ids {
		if err := s.dropIndex(id); err != nil {
			return fmt.Errorf("reindex: %w", err)
		}
		if _, err := untilDone(s.indexBatch, id); err != nil {
			return fmt.Errorf("reindex: %w", err)
		}
	}
	return nil
}

// IndexSize is how big the search index is.
type IndexSize struct {
	Bytes     int64 // keys and values of the postings, dictionaries and index records
	Messages  int64 // messages indexed
	Unindexed int64 // live messages not indexed yet: the mailboxes' tails, the indexer's lag
}

// SearchIndexSize measures the search index.
func (s *Store) SearchIndexSize() (IndexSize, error) {
	var size IndexSize
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		if size.Unindexed, err = countUnindexed(tx); err != nil {
			return err
		}
		for _, name := range [][]byte{bucketPostings, bucketIndexTerms, bucketIndexRecent} {
			_ = tx.Bucket(name).ForEach(func(k, v []byte) error {
				size.Bytes += int64(len(k) + len(v))
				return nil
			})
		}
		return tx.Bucket(bucketIndexState).ForEach(func(k, v []byte) error {
			size.Bytes += int64(len(k) + len(v))
			st, err := decodeIndexState(binary.BigEndian.Uint64(k), v)
			size.Messages += int64(st.Indexed)
			return err
		})
	})
	return size, err
}

// countUnindexed counts the live messages above their mailbox's IndexedUID: one seek per mailbox, then its tail.
func countUnindexed(tx *bolt.Tx) (int64, error) {
	var n int64
	err := eachMailboxTx(tx, func(m Mailbox) error {
		st, err := getIndexState(tx, m.ID)
		if err != nil {
			return err
		}
		msgs, err := messagesBucket(tx, m.ID)
		if err != nil {
			return err
		}
		if st.Dropping {
			st.IndexedUID = 0
		}
		n += int64(countUnindexedIn(msgs, st))
		return nil
	})
	return n, err
}

// countUnindexedIn counts the messages of msgs, a mailbox's entries, above the IndexedUID of its index state st.
func countUnindexedIn(msgs *bolt.Bucket, st indexState) int {
	n := 0
	c := msgs.Cursor()
	for k, _ := c.Seek(u32key(st.IndexedUID + 1)); k != nil; k, _ = c.Next() {
		n++
	}
	return n
}

// checkSearchIndex recomputes the postings every indexed live message should have and compares them with the
// stored ones (which may also hold expunged messages), and the dictionaries with the postings.
func checkSearchIndex(tx *bolt.Tx, report func(string, ...any)) {
	if tx.Bucket(bucketIndexState) == nil {
		return // a file (a backup, say) from before schema 4
	}
	_ = tx.Bucket(bucketIndexState).ForEach(func(k, v []byte) error {
		id := binary.BigEndian.Uint64(k)
		st, err := decodeIndexState(id, v)
		if err != nil {
			report("search index: %v", err)
			return nil
		}
		if st.Dropping {
			return nil // its postings are being dropped
		}
		mb, err := getMailboxByID(tx, id)
		if err != nil {
			report("search index: stray index record of mailbox #%d, which does not exist and is not being dropped", id)
			return nil
		}
		checkMailboxIndex(tx, mb, st, report)
		return nil
	})
	for _, name := range [][]byte{bucketPostings, bucketIndexTerms, bucketIndexRecent} {
		checkStrayIndexKeys(tx, name, report)
	}
}

// checkStrayIndexKeys reports the keys of an index bucket whose mailbox has no index record: nothing trusts, drops
// or extends them correctly (an indexer starting that mailbox afresh would append to them). It seeks from one
// mailbox's keys to the next, so it costs the number of mailboxes, not of keys.
func checkStrayIndexKeys(tx *bolt.Tx, name []byte, report func(string, ...any)) {
	states := tx.Bucket(bucketIndexState)
	c := tx.Bucket(name).Cursor()
	for k, _ := c.First(); k != nil; {
		if len(k) < 8 {
			report("search index: malformed key %x in %s", k, name)
			k, _ = c.Next()
			continue
		}
		id := binary.BigEndian.Uint64(k)
		if states.Get(k[:8]) == nil {
			report("search index: stray keys in %s of mailbox #%d, which has no index record", name, id)
		}
		if id == ^uint64(0) {
			break
		}
		k, _ = c.Seek(u64key(id + 1))
	}
}

// fieldTermKey is a field and a term, as one map key.
func fieldTermKey(f indexField, term []byte) string { return string(append([]byte{byte(f)}, term...)) }

func checkMailboxIndex(tx *bolt.Tx, mb Mailbox, st indexState, report func(string, ...any)) {
	msgs, err := messagesBucket(tx, mb.ID)
	if err != nil {
		return // reported by checkMailboxEntries
	}
	want := map[string][]uint32{}
	live := map[uint32]bool{}
	texts := storedTexts{b: tx.Bucket(bucketTexts), buf: newTextBuffer()}
	defer texts.buf.release()
	c := msgs.Cursor()
	for k, v := c.First(); k != nil && uidOf(k) <= st.IndexedUID; k, v = c.Next() {
		uid := uidOf(k)
		e, err := decodeEntry(v)
		if err != nil {
			continue
		}
		rec, err := bodyRecordOf(tx, e.body, true)
		if err != nil {
			continue
		}
		text, err := texts.get(rec.seq)
		if err != nil {
			continue // reported by checkTexts
		}
		live[uid] = true
		for f, terms := range messageTerms(text, rec.meta) {
			for t := range terms {
				key := fieldTermKey(f, []byte(t))
				want[key] = append(want[key], uid)
			}
		}
	}
	problems := 0
	problem := func(format string, args ...any) {
		if problems++; problems <= 10 {
			report("mailbox %q: search index: "+format, append([]any{mb.Name}, args...)...)
		}
	}
	recent := segmentPostings(tx, mb, st, problem)
	postingTerms := map[string]bool{}
	got, key := []uint32(nil), ""
	flush := func() {
		if key == "" {
			return
		}
		got = sortedSet(append(got, recent[key]...)) // a term under merge is in both
		delete(recent, key)
		got = slices.DeleteFunc(got, func(u uint32) bool { return !live[u] })
		if !slices.Equal(got, want[key]) {
			problem("term %q of field %c holds %d live messages, %d expected", key[1:], key[0], len(got), len(want[key]))
		}
		delete(want, key)
		got = got[:0]
	}
	prefix := u64key(mb.ID)
	pc := tx.Bucket(bucketPostings).Cursor()
	for k, v := pc.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = pc.Next() {
		rest := k[len(prefix):]
		if len(rest) < 1+1+4 || rest[len(rest)-5] != 0 {
			problem("malformed posting key %x", k)
			continue
		}
		if next := string(rest[:len(rest)-5]); next != key {
			flush()
			key = next
			postingTerms[key] = true
		}
		first := binary.BigEndian.Uint32(rest[len(rest)-4:])
		if got, err = decodeBlock(got, first, v); err != nil || !slices.IsSorted(got) || len(got) > 0 && got[len(got)-1] > st.IndexedUID {
			problem("posting %x: malformed block", k)
		}
	}
	flush()
	for key, uids := range recent { // terms no merge has reached
		got = slices.DeleteFunc(uids, func(u uint32) bool { return !live[u] })
		if !slices.Equal(got, want[key]) {
			problem("term %q of field %c holds %d live messages, %d expected", key[1:], key[0], len(got), len(want[key]))
		}
		delete(want, key)
	}
	for key, uids := range want {
		problem("term %q of field %c: no postings, %d messages expected", key[1:], key[0], len(uids))
	}
	checkDictionary(tx, mb, postingTerms, problem)
	if problems > 10 {
		report("mailbox %q: search index: %d problems in all", mb.Name, problems)
	}
}

// checkDictionary compares the mailbox's dictionaries with the terms its postings have.
func checkDictionary(tx *bolt.Tx, mb Mailbox, postingTerms map[string]bool, problem func(string, ...any)) {
	prefix := u64key(mb.ID)
	seen := map[string]bool{}
	dc := tx.Bucket(bucketIndexTerms).Cursor()
	for k, v := dc.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = dc.Next() {
		if len(k) != len(prefix)+1+4 || len(v) < 2 || v[0] != 0 || v[len(v)-1] != 0 {
			problem("malformed dictionary chunk %x", k)
			continue
		}
		for _, term := range bytes.Split(v[1:len(v)-1], []byte{0}) {
			key := fieldTermKey(indexField(k[len(prefix)]), term)
			if seen[key] || !postingTerms[key] {
				problem("dictionary term %q of field %c: listed twice or without postings", term, k[len(prefix)])
			}
			seen[key] = true
		}
	}
	for key := range postingTerms {
		if !seen[key] {
			problem("term %q of field %c: postings, but not in the dictionary", key[1:], key[0])
		}
	}
}

// segmentPostings reads the mailbox's recent segments (indexrecent.go) into the UIDs of each field and term, and
// reports segments that are malformed, that reach past the indexed UIDs, or that the index state does not count.
func segmentPostings(tx *bolt.Tx, mb Mailbox, st indexState, problem func(string, ...any)) map[string][]uint32 {
	out := map[string][]uint32{}
	for _, f := range indexFields {
		segs, err := fieldSegments(tx, mb.ID, f, 0)
		if err != nil {
			problem("field %c: %v", f, err)
			continue
		}
		for _, sg := range segs {
			err := sg.each(func(term []byte, i int) error {
				key := fieldTermKey(f, term)
				var err error
				out[key], err = sg.uids(i, out[key])
				if n := len(out[key]); err == nil && n > 0 && out[key][n-1] > st.IndexedUID {
					err = fmt.Errorf("term %q holds UID %d, past the indexed %d", term, out[key][n-1], st.IndexedUID)
				}
				return err
			})
			if err != nil {
				problem("segment of field %c from UID %d: %v", f, sg.base+1, err)
			}
		}
	}
	if n := len(segmentStarts(tx, mb.ID)); n != int(st.Segments) {
		problem("%d segments, the index record counts %d", n, st.Segments)
	}
	return out
}
