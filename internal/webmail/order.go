package webmail

import (
	"cmp"
	"slices"
	"sync"

	"mailserver/internal/message"
	"mailserver/internal/store"
)

// orderCache keeps the recently listed folders' messages in each sort order. Ordering a 10,000-message folder
// reads and decodes every message's sort record and sorts them all: 38 ms for one page of 50, and 270 ms once
// twenty readers asked at once (docs/benchmarks.md). A folder's order changes only when a message arrives or goes,
// which moves its UIDNEXT or its message count: the cache is keyed by both, so it is never stale.
type orderCache struct {
	mu      sync.Mutex
	folders map[uint64]*folderOrder // by mailbox id; guarded by mu
	entries int                     // messages held in all; guarded by mu
}

type folderOrder struct {
	uidNext, messages uint32
	items             []sortable          // the messages' sort keys, by UID
	sorted            map[string][]uint32 // UIDs in each order asked so far
}

// maxOrderEntries bounds the messages the cache holds (some 100 bytes each): past it, it starts afresh.
const maxOrderEntries = 500_000

func newOrderCache() *orderCache { return &orderCache{folders: map[uint64]*folderOrder{}} }

// ordered returns the UIDs of the folder mb in order; load reads its sort keys when the cache has none of this
// state of the folder.
func (c *orderCache) ordered(mb store.Mailbox, order string, load func() ([]sortable, error)) ([]uint32, error) {
	c.mu.Lock()
	f := c.folders[mb.ID]
	if f != nil && (f.uidNext != mb.UIDNext || f.messages != mb.Messages) {
		c.entries -= len(f.items)
		delete(c.folders, mb.ID)
		f = nil
	}
	if f != nil {
		if uids, ok := f.sorted[order]; ok {
			c.mu.Unlock()
			return uids, nil
		}
	}
	c.mu.Unlock()
	if f == nil {
		items, err := load()
		if err != nil {
			return nil, err
		}
		f = &folderOrder{uidNext: mb.UIDNext, messages: mb.Messages, items: items, sorted: map[string][]uint32{}}
	}
	uids := sortUIDs(f.items, order)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries+len(f.items) > maxOrderEntries {
		clear(c.folders)
		c.entries = 0
	}
	if _, held := c.folders[mb.ID]; !held {
		c.entries += len(f.items)
	}
	f.sorted[order] = uids
	c.folders[mb.ID] = f
	return uids, nil
}

// sortUIDs orders items by order, ties newest arrival first.
func sortUIDs(items []sortable, order string) []uint32 {
	sorted := slices.Clone(items)
	compare := sortOrders[order]
	slices.SortStableFunc(sorted, func(a, b sortable) int {
		if r := compare(&a, &b); r != 0 {
			return r
		}
		return cmp.Compare(b.uid, a.uid)
	})
	uids := make([]uint32, len(sorted))
	for i, it := range sorted {
		uids[i] = it.uid
	}
	return uids
}

// sortKeys reads the sort keys of the messages uids (ascending) of a folder.
func (h *Handler) sortKeys(mailboxID uint64, uids []uint32) ([]sortable, error) {
	items := make([]sortable, 0, len(uids))
	err := h.store.EachSortRecord(mailboxID, uids, func(it store.SortItem, record []byte) error {
		s := sortable{uid: it.UID, date: it.InternalDate, size: it.Size}
		if rec, err := message.DecodeSortRecord(record); record != nil && err == nil {
			if !rec.Date.IsZero() {
				s.date = rec.Date
			}
			s.from, s.subject = rec.DisplayFrom, rec.Subject
		}
		items = append(items, s)
		return nil
	})
	return items, err
}
