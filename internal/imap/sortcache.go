package imap

import (
	"sync/atomic"
	"time"

	"mailserver/internal/message"
	"mailserver/internal/store"
)

// The sort cache keeps what SORT and THREAD read of each message of a selected mailbox (sortEntry) with the
// mailbox's live state, so that repeated SORTs (a webmail sorts on every page view) read the store only for
// messages they have not seen yet. An entry belongs to a UID and never changes: the sort record is the body's,
// INTERNALDATE and size are the message's, and UIDs are never reused. Entries are filled on demand, dropped when
// the state learns of their expunge, and go with the state when the last session leaves.
//
// maxSortCache bounds the entries of one mailbox. An entry (sortEntry, the decoded SortRecord with its strings, the
// map slot) took 645 bytes on average in the 10,000-message benchmark mailbox, more for messages with long
// References (at most 64 ids are kept), so a full cache is some 65-100 MB. A mailbox with more messages than this
// is sorted as without a cache, from the store each time. A variable for tests.
var maxSortCache = 100_000

// maxSortCacheTotal bounds the entries of all mailboxes together (sortBudget): some 260-400 MB, room for about
// forty 10,000-message folders sorted at once. Past it, SORT works as without a cache. A variable for tests.
var maxSortCacheTotal int64 = 400_000

// sortBudget counts the sort cache entries of every mailbox of a server against maxSortCacheTotal.
type sortBudget struct{ used atomic.Int64 }

// take reserves n entries, or reports that they do not fit.
func (b *sortBudget) take(n int) bool {
	if b.used.Add(int64(n)) > maxSortCacheTotal {
		b.used.Add(-int64(n))
		return false
	}
	return true
}

// give returns n entries.
func (b *sortBudget) give(n int) { b.used.Add(-int64(n)) }

// dropSortCacheLocked empties the cache and returns its entries to the budget.
func (st *mailboxState) dropSortCacheLocked() {
	st.budget.give(len(st.sorts))
	st.sorts = nil
}

// sortEntry is what SORT and THREAD compare of one message besides its numbers.
type sortEntry struct {
	sent    time.Time // the Date header, or INTERNALDATE when it has none (RFC 5256 section 2.2)
	arrival time.Time // INTERNALDATE
	size    int64
	rec     *message.SortRecord
}

// cachedSortEntries returns the cached entry of each of refs (nil where there is none) and the UIDs missing,
// ascending. A mailbox over the bound loses its cache and reports everything missing.
func (st *mailboxState) cachedSortEntries(refs []msgRef) (entries []*sortEntry, missing []uint32) {
	entries = make([]*sortEntry, len(refs))
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.uids) > maxSortCache {
		st.dropSortCacheLocked()
	}
	for i, r := range refs {
		if entries[i] = st.sorts[r.uid]; entries[i] == nil {
			missing = append(missing, r.uid)
		}
	}
	return entries, missing
}

// rememberSortEntries caches the entries read for uids (nil: expunged meanwhile). Only UIDs still in the mailbox
// are kept: one whose expunge was applied while the store was read must not come back, as nothing would drop it.
func (st *mailboxState) rememberSortEntries(uids []uint32, entries []*sortEntry) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.uids) > maxSortCache {
		return
	}
	keep := 0
	for i, uid := range uids {
		if _, ok := st.indexLocked(uid); ok && entries[i] != nil && st.sorts[uid] == nil {
			keep++
		}
	}
	if !st.budget.take(keep) {
		return // the server's cache is full: these are read from the store each time
	}
	if st.sorts == nil {
		st.sorts = make(map[uint32]*sortEntry, keep)
	}
	for i, uid := range uids {
		if _, ok := st.indexLocked(uid); ok && entries[i] != nil && st.sorts[uid] == nil {
			st.sorts[uid] = entries[i]
		}
	}
}

// forgetSortEntriesLocked drops the entries of expunged UIDs.
func (st *mailboxState) forgetSortEntriesLocked(uids []uint32) {
	for _, uid := range uids {
		if _, ok := st.sorts[uid]; ok {
			delete(st.sorts, uid)
			st.budget.give(1)
		}
	}
}

// loadSortEntries reads the entries of uids (ascending) from the store in one read transaction; an entry is nil
// where the message was expunged meanwhile.
func (s *session) loadSortEntries(mailboxID uint64, uids []uint32) ([]*sortEntry, error) {
	entries := make([]*sortEntry, len(uids))
	next := 0 // EachSortRecord keeps the order of uids and skips messages expunged meanwhile
	err := s.srv.store.EachSortRecord(mailboxID, uids, func(it store.SortItem, record []byte) error {
		for uids[next] != it.UID {
			next++
		}
		e := &sortEntry{arrival: it.InternalDate, size: it.Size, rec: s.decodeSortRecord(it.UID, record)}
		e.sent = e.rec.Date
		if e.sent.IsZero() {
			e.sent = it.InternalDate
		}
		entries[next] = e
		return nil
	})
	if err != nil {
		return nil, s.storeError("sort", err)
	}
	return entries, nil
}

// sortEntries returns the entry of each of refs, from the cache, reading the missing ones from the store and
// caching them; nil where a message was expunged meanwhile. No lock is held while the store is read: two sessions
// filling at once read the same entries, and either may keep them.
func (s *session) sortEntries(sel *selection, refs []msgRef) ([]*sortEntry, error) {
	entries, missing := sel.state.cachedSortEntries(refs)
	if len(missing) == 0 {
		return entries, nil
	}
	loaded, err := s.loadSortEntries(sel.mailbox.ID, missing)
	if err != nil {
		return nil, err
	}
	sel.state.rememberSortEntries(missing, loaded)
	next := 0 // missing lists the UIDs of the nil entries, in the same order
	for i := range entries {
		if entries[i] == nil {
			entries[i] = loaded[next]
			next++
		}
	}
	return entries, nil
}
