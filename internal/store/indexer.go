package store

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"maps"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"mailserver/internal/message"
)

// The indexer writes the postings in the background, never in a delivery's transaction: a 20 KiB message has
// hundreds of distinct terms, and as many scattered B+tree writes per delivery would cost several times the message
// itself. A mailbox's messages above its IndexedUID (its tail) are indexed once the tail holds indexThreshold
// messages or its oldest has waited Options.IndexDelay, or as soon as writes have been quiet for quietAfter: while
// deliveries flow, small tails wait to be indexed together, but once they stop no tail is left for every search
// to scan (a tail of thousands cost a SEARCH of a 100,000-message mailbox seconds). Batches hold at most
// batchMessages messages and batchTerms distinct terms, each written in one transaction (updateBackground: it
// shares the commit of the deliveries queued with it): a mailbox's first into its postings, the next ones as
// segments merged into them later (indexrecent.go); the texts are read and split before it, in a read
// transaction. A batch is computed from a read of the mailbox's index state and written only if that state is
// unchanged when its transaction runs, so two indexers (the background one and a reindex, say) never mix their
// work, and the transaction can run again unchanged. Merge steps follow the same rule.
//
// Expunges leave the postings alone (rewriting them would put as many writes on an EXPUNGE): searches keep only
// the live UIDs. When the stale postings of a mailbox outnumber its indexed live messages, the mailbox is rebuilt:
// its postings dropped and indexed again. A deleted mailbox's postings are dropped by the indexer too.
const (
	indexThreshold  = 256
	batchMessages   = 256
	batchTerms      = 4 << 10 // 16k terms made a 20–30 ms write transaction (BenchmarkDeliveryWithIndexer)
	batchTextBytes  = 4 << 20
	dropBatch       = 4096
	defaultDelay    = 10 * time.Second
	quietAfter      = 500 * time.Millisecond
	rescanInterval  = 5 * time.Minute
	minStaleRebuild = 1024
	// postingsFill is how full the indexer packs the leaves of the postings. A batch puts its terms in key order,
	// and a mailbox's first batch puts every key of that mailbox in order at the end of its range: at bbolt's default
	// of a half, every leaf it fills stays half empty. 0.9 leaves room for the next batches' appends to a term's last
	// block, which grow values in place (1.0 makes a third less from the same mail than the default, 0.9 a little
	// more still, since those appends then split fewer leaves).
	postingsFill = 0.9
)

type indexer struct {
	s        *Store
	delay    time.Duration
	wake     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}

	mu       sync.Mutex
	tails    map[uint64]*tail // mailboxes with unindexed messages; guarded by mu
	drops    map[uint64]bool  // mailboxes whose postings are to be dropped; guarded by mu
	expunged map[uint64]bool  // mailboxes that lost messages since their stale count was last looked at
	merges   map[uint64]bool  // mailboxes whose segments a merge left unfinished (found by rescan); guarded by mu
	// headers is set while bodies stored after the header copier's watermark may wait for their copy (headercopy.go),
	// counted by the messages appended since; they are copied by the same rule as a tail is indexed.
	headers *tail
	hints   []appendHint // appends since the copier's last batch, up to maxKnownBodies messages; guarded by mu
	hinted  int          // messages in hints
	known   knownBodies  // what the copier knows of the bodies after its watermark; its goroutine's own

	batches      atomic.Int64 // index transactions committed (tests)
	longestBatch atomic.Int64 // the longest index write transaction so far, in nanoseconds
}

// tail is what the indexer knows of a mailbox's unindexed messages.
type tail struct {
	since time.Time // when the oldest arrived; zero: index at once
	count int
	last  uint32 // the highest UID appended, as far as the indexer has been told
}

// settle updates the tail after a batch that indexed messages of it up to upTo, done if the batch reached the end
// of the tail as it read it: the tail is gone if that end is the last UID it knows of (reports whether so).
// Otherwise what is left waits by the usual rule, counted anew: the messages appended while the batch ran (or past
// a batch's bound) must not make a batch of their own at once, a transaction that rewrites the last block of each
// of their hundreds of terms for a few messages (in a mailbox of 100,000 these are hundreds of scattered pages);
// they wait for more, or for the writes to go quiet. A tail found by a rescan (since zero) is worked off at once.
func (t *tail) settle(done bool, messages int, upTo uint32) (gone bool) {
	if done && upTo >= t.last {
		return true
	}
	t.count = max(1, t.count-messages)
	if !t.since.IsZero() {
		t.since = time.Now()
	}
	return false
}

// IndexStats are counters of the search index.
type IndexStats struct {
	Batches int64 // index transactions committed since Open
	Pending int   // mailboxes with messages waiting to be indexed
	// LongestBatch is the longest an index batch's write transaction took since Open, commit included: the
	// longest a delivery can have waited behind one.
	LongestBatch time.Duration
}

// IndexStats reports the background indexer's counters.
func (s *Store) IndexStats() IndexStats {
	ix := s.indexer
	if ix == nil {
		return IndexStats{}
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return IndexStats{Batches: ix.batches.Load(), Pending: len(ix.tails), LongestBatch: time.Duration(ix.longestBatch.Load())}
}

func newIndexer(s *Store, delay time.Duration) *indexer {
	if delay <= 0 {
		delay = defaultDelay
	}
	return &indexer{s: s, delay: delay, wake: make(chan struct{}, 1), stop: make(chan struct{}),
		done: make(chan struct{}), tails: map[uint64]*tail{}, drops: map[uint64]bool{}, expunged: map[uint64]bool{},
		merges: map[uint64]bool{},
		known:  knownBodies{}}
}

// start subscribes to the store's changes and runs the indexer until stopIndexer.
func (ix *indexer) start() {
	cancel := ix.s.Subscribe(ix.observe)
	go func() {
		defer close(ix.done)
		defer cancel()
		ix.run()
	}()
}

func (ix *indexer) stopAndWait() {
	close(ix.stop)
	<-ix.done
}

// observe notes what a commit means for the index. It runs as a subscriber, on the committing goroutine: memory only.
func (ix *indexer) observe(c Change) {
	if c.MailboxID == 0 || len(c.Appended) == 0 && len(c.Expunged) == 0 && !c.Deleted {
		return
	}
	ix.mu.Lock()
	switch {
	case c.Deleted:
		delete(ix.tails, c.MailboxID)
		ix.drops[c.MailboxID] = true
	case len(c.Appended) > 0:
		t := ix.tails[c.MailboxID]
		if t == nil {
			t = &tail{since: time.Now()}
			ix.tails[c.MailboxID] = t
		}
		t.count += len(c.Appended)
		t.last = max(t.last, slices.Max(c.Appended))
		ix.noteHeaderCopies(len(c.Appended))
		if ix.hinted+len(c.Appended) <= maxKnownBodies {
			ix.hints = append(ix.hints, appendHint{mailboxID: c.MailboxID, uids: c.Appended})
			ix.hinted += len(c.Appended)
		}
	default:
		ix.expunged[c.MailboxID] = true
	}
	ix.mu.Unlock()
	select {
	case ix.wake <- struct{}{}:
	default:
	}
}

// noteHeaderCopies notes that n messages were appended, whose bodies may need a header copy. ix.mu is held.
func (ix *indexer) noteHeaderCopies(n int) {
	if ix.headers == nil {
		ix.headers = &tail{since: time.Now()}
	}
	ix.headers.count += n
}

func (ix *indexer) run() {
	if err := ix.rescan(); err != nil {
		slog.Error("search index: finding unindexed mailboxes", "err", err)
	}
	lastScan := time.Now()
	for {
		worked, next := ix.step()
		if worked {
			select {
			case <-ix.stop:
				return
			default:
				continue
			}
		}
		if time.Since(lastScan) > rescanInterval {
			if err := ix.rescan(); err != nil {
				slog.Error("search index: finding unindexed mailboxes", "err", err)
			}
			lastScan = time.Now()
			continue
		}
		timer := time.NewTimer(min(next, rescanInterval))
		select {
		case <-ix.stop:
			timer.Stop()
			return
		case <-ix.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// step does one batch of the most pressing work, and says whether it did any; if not, how long until a tail is due.
func (ix *indexer) step() (worked bool, next time.Duration) {
	mailboxID, drop, expunged, merge, headers, next := ix.pick()
	var err error
	switch {
	case headers:
		worked = true
		ix.copyHeaders()
	case drop:
		worked = true
		var done bool
		if done, err = ix.s.dropIndexBatch(mailboxID); done || err != nil {
			ix.mu.Lock()
			delete(ix.drops, mailboxID)
			ix.mu.Unlock()
		}
	case expunged:
		worked = true
		err = ix.s.rebuildIfStale(mailboxID)
	case merge:
		worked = true
		_, err = untilDone(ix.s.mergeStep, mailboxID)
	case mailboxID != 0:
		worked = true
		var b indexBatchOutcome
		if b, err = ix.s.indexNextBatch(mailboxID); err == nil && b.merge {
			_, err = untilDone(ix.s.mergeStep, mailboxID)
		}
		ix.mu.Lock()
		if t := ix.tails[mailboxID]; t != nil && (err != nil || t.settle(b.done, b.messages, b.upTo)) {
			delete(ix.tails, mailboxID)
		}
		ix.mu.Unlock()
		ix.batches.Add(1)
	}
	if err != nil {
		slog.Error("search index", "mailbox", mailboxID, "err", err)
	}
	return worked, next
}

// pick chooses the next work: a drop, a stale check, an unfinished merge, a tail that is due, or header copies that
// are.
func (ix *indexer) pick() (mailboxID uint64, drop, expunged, merge, headers bool, next time.Duration) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for id := range ix.drops {
		return id, true, false, false, false, 0
	}
	for id := range ix.expunged {
		delete(ix.expunged, id)
		return id, false, true, false, false, 0
	}
	for id := range ix.merges {
		delete(ix.merges, id)
		return id, false, false, true, false, 0
	}
	next = ix.delay
	now := time.Now()
	untilQuiet := quietAfter - ix.s.writesQuietFor()
	for id, t := range ix.tails {
		wait := min(ix.delay-now.Sub(t.since), untilQuiet)
		if t.count >= indexThreshold || t.since.IsZero() || wait <= 0 {
			return id, false, false, false, false, 0
		}
		next = min(next, wait)
	}
	if t := ix.headers; t != nil {
		wait := min(ix.delay-now.Sub(t.since), untilQuiet)
		if t.count >= copyBatchBodies || t.since.IsZero() || wait <= 0 {
			return 0, false, false, false, true, 0
		}
		next = min(next, wait)
	}
	return 0, false, false, false, false, next
}

// copyYield is the longest the header copier waits for deliveries before each batch: a backfill of a large store
// goes on under a steady stream of them, a batch at a time.
const copyYield = 50 * time.Millisecond

// copyHeaders writes one batch of header copies. Appends noted while it runs leave their own note; one not done
// stays due at once.
func (ix *indexer) copyHeaders() {
	ix.mu.Lock()
	ix.headers = nil
	hints := ix.hints
	ix.hints, ix.hinted = nil, 0
	ix.mu.Unlock()
	ix.s.YieldToWriters(copyYield)
	done, _, err := ix.s.copyHeaderBatch(ix.known, hints)
	if err != nil {
		slog.Error("store: header copies", "err", err)
		return
	}
	if !done {
		ix.mu.Lock()
		ix.noteHeaderCopies(0)
		ix.headers.since = time.Time{}
		ix.mu.Unlock()
	}
}

// rescan finds every mailbox with an unindexed tail, an unfinished merge or an index to drop, from the stored
// records. It reads them without the indexer's lock, which every commit takes to tell the indexer what it did
// (observe): a walk over a province's mailboxes takes a good part of a second.
func (ix *indexer) rescan() error {
	var tails, drops, merges []uint64
	headers := false
	err := ix.s.view(func(tx *bolt.Tx) error {
		exists := map[uint64]bool{}
		err := eachMailboxTx(tx, func(m Mailbox) error {
			exists[m.ID] = true
			st, err := getIndexState(tx, m.ID)
			switch {
			case err != nil:
				return err
			case st.Dropping:
				drops = append(drops, m.ID)
				return nil
			case st.MergeUpTo != 0 || st.Segments >= mergeAt:
				merges = append(merges, m.ID)
			}
			if m.Messages > 0 && st.IndexedUID < m.UIDNext-1 {
				tails = append(tails, m.ID)
			}
			return nil
		})
		if err != nil {
			return err
		}
		headers = headerCopiesPending(tx)
		return tx.Bucket(bucketIndexState).ForEach(func(k, _ []byte) error {
			if id := binary.BigEndian.Uint64(k); !exists[id] {
				drops = append(drops, id)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, id := range drops {
		ix.drops[id] = true
	}
	for _, id := range merges {
		ix.merges[id] = true
	}
	for _, id := range tails {
		if ix.tails[id] == nil {
			ix.tails[id] = &tail{}
		}
	}
	if headers && ix.headers == nil {
		ix.headers = &tail{}
	}
	return nil
}

// IndexPending indexes every unindexed message and drops every index marked for it, now, and returns how many
// index batches it committed. The background indexer does the same over time; this is for `mailserver reindex`
// and tests.
func (s *Store) IndexPending() (int, error) {
	ix := newIndexer(s, 0)
	if err := ix.rescan(); err != nil {
		return 0, err
	}
	batches := 0
	for id := range ix.drops {
		n, err := untilDone(s.dropIndexBatch, id)
		if batches += n; err != nil {
			return batches, err
		}
	}
	for id := range ix.merges {
		n, err := untilDone(s.mergeStep, id)
		if batches += n; err != nil {
			return batches, err
		}
	}
	for id := range ix.tails {
		n, err := untilDone(s.indexBatch, id)
		if batches += n; err != nil {
			return batches, err
		}
	}
	return batches, nil
}

// untilDone runs batch (indexBatch, dropIndexBatch) on the mailbox until it says it is done, and returns how many
// of its runs succeeded.
func untilDone(batch func(mailboxID uint64) (done bool, err error), mailboxID uint64) (int, error) {
	for n := 0; ; {
		done, err := batch(mailboxID)
		if err != nil {
			return n, err
		}
		if n++; done {
			return n, nil
		}
	}
}

// indexBatch indexes the next messages of the mailbox's tail in one transaction, and says whether the tail is done.
// A batch that makes the mailbox's segments mergeAt is followed by their merge.
func (s *Store) indexBatch(mailboxID uint64) (done bool, err error) {
	b, err := s.indexNextBatch(mailboxID)
	if err == nil && b.merge {
		_, err = untilDone(s.mergeStep, mailboxID)
	}
	return b.done, err
}

// indexBatchOutcome is what one index batch did.
type indexBatchOutcome struct {
	done     bool   // the tail as it was when the batch read it is indexed (or there is no index to extend)
	messages int    // messages indexed
	upTo     uint32 // the mailbox's IndexedUID after the batch
	merge    bool   // the mailbox has mergeAt segments: merge them (mergeStep)
}

// indexNextBatch is indexBatch, saying how far it went.
func (s *Store) indexNextBatch(mailboxID uint64) (indexBatchOutcome, error) {
	b, err := s.readIndexBatch(mailboxID)
	if err != nil || b == nil {
		return indexBatchOutcome{done: true}, err
	}
	applied, merge := false, false
	var began time.Time
	err = s.updateBackground(func(tx *bolt.Tx, _ *changes) error {
		applied, merge, began = false, false, time.Now()
		st, err := getIndexState(tx, mailboxID)
		if err != nil {
			return err
		}
		if st != b.from || tx.Bucket(bucketMboxIDs).Get(u64key(mailboxID)) == nil {
			return nil // changed meanwhile (another indexer, a rebuild, a deletion): read again
		}
		next := st
		next.IndexedUID, next.Indexed = b.upTo, st.Indexed+uint32(b.messages)
		switch {
		case len(b.postings) == 0:
		case st.IndexedUID == 0: // the mailbox's first batch: its keys are all new, in order
			if err := b.write(tx, mailboxID); err != nil {
				return err
			}
		default:
			if err := b.writeSegments(tx, mailboxID); err != nil {
				return err
			}
			next.Segments++
		}
		applied, merge = true, next.Segments >= mergeAt
		return putIndexState(tx, mailboxID, next)
	})
	if err != nil {
		return indexBatchOutcome{done: true}, fmt.Errorf("index mailbox #%d: %w", mailboxID, err)
	}
	s.noteIndexBatch(time.Since(began))
	if !applied {
		return indexBatchOutcome{}, nil
	}
	return indexBatchOutcome{done: b.last, messages: b.messages, upTo: b.upTo, merge: merge}, nil
}

// noteIndexBatch keeps the longest index write transaction for IndexStats.
func (s *Store) noteIndexBatch(took time.Duration) {
	if ix := s.indexer; ix != nil {
		raiseTo(&ix.longestBatch, int64(took))
	}
}

// raiseTo sets a to v if v is more.
func raiseTo(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// indexBatchData is one batch's postings, computed before its transaction.
type indexBatchData struct {
	from     indexState
	upTo     uint32 // the new IndexedUID
	last     bool   // the batch reaches the end of the tail
	messages int
	postings map[indexField]map[string]int32 // field → term → its postings, an index in lists
	lists    []batchList                     // one per term of the batch
	chain    postingChain                    // every posting of the batch, chained per term
	terms    int
	keys     termArena // the memory of the postings' keys
	recent   termCache // the lists of terms seen lately
}

// batchList is one term's UIDs in a batch: a chain through indexBatchData.chain, ascending. The postings of every
// term share the chain's memory, so a term costs the batch no allocation of its own, however many messages have it.
type batchList struct {
	first, last int32  // indexes in chain
	lastUID     uint32 // the UID at last
	term        string
}

// postingChain holds a batch's postings in chunks of chainChunk, each posting numbered by its place: a batch has
// tens of thousands, and one slice grown by append would copy them over and over.
type postingChain struct {
	chunks [][]chainedUID
	n      int32
}

// chainedUID is one posting of a batch and the number of the next of its term (unset at the term's last).
type chainedUID struct {
	uid  uint32
	next int32
}

const chainChunk = 1024

// add appends a posting of uid and returns its number.
func (c *postingChain) add(uid uint32) int32 {
	if c.n%chainChunk == 0 {
		c.chunks = append(c.chunks, make([]chainedUID, 0, chainChunk))
	}
	last := &c.chunks[len(c.chunks)-1]
	*last = append(*last, chainedUID{uid: uid})
	c.n++
	return c.n - 1
}

// at is posting number n.
func (c *postingChain) at(n int32) *chainedUID { return &c.chunks[n/chainChunk][n%chainChunk] }

// addPosting appends uid to the list of term i, unless uid ends it already.
func (b *indexBatchData) addPosting(i int32, uid uint32) {
	l := &b.lists[i]
	if l.lastUID == uid {
		return
	}
	n := b.chain.add(uid)
	b.chain.at(l.last).next, l.last, l.lastUID = n, n, uid
}

// newList starts the list of a term the batch has not had yet, with uid, and returns its index in lists.
func (b *indexBatchData) newList(term string, uid uint32) int32 {
	n := b.chain.add(uid)
	if len(b.lists) == cap(b.lists) { // double it: append grows a long slice by a quarter, copying it over and over
		b.lists = slices.Grow(b.lists, len(b.lists)+1)
	}
	b.lists = append(b.lists, batchList{first: n, last: n, lastUID: uid, term: term})
	b.terms++
	return int32(len(b.lists) - 1)
}

// listUIDs appends the UIDs of list i to out.
func (b *indexBatchData) listUIDs(out []uint32, i int32) []uint32 {
	for n := b.lists[i].first; ; n = b.chain.at(n).next {
		out = append(out, b.chain.at(n).uid)
		if n == b.lists[i].last {
			return out
		}
	}
}

// readIndexBatch reads and splits the next messages of the tail; nil if the mailbox has no index to extend.
func (s *Store) readIndexBatch(mailboxID uint64) (*indexBatchData, error) {
	var b *indexBatchData
	err := s.view(func(tx *bolt.Tx) error {
		mb, err := getMailboxByID(tx, mailboxID)
		if err != nil {
			return nil // deleted: its drop comes
		}
		st, err := getIndexState(tx, mailboxID)
		if err != nil || st.Dropping {
			return err
		}
		msgs, err := messagesBucket(tx, mailboxID)
		if err != nil {
			return err
		}
		b = &indexBatchData{from: st, upTo: st.IndexedUID, postings: map[indexField]map[string]int32{}}
		return b.read(tx, msgs, mb)
	})
	return b, err
}

func (b *indexBatchData) read(tx *bolt.Tx, msgs *bolt.Bucket, mb Mailbox) error {
	texts := storedTexts{b: tx.Bucket(bucketTexts), buf: newTextBuffer()}
	defer texts.buf.release()
	var textBytes int
	c := msgs.Cursor()
	k, v := c.Seek(u32key(b.from.IndexedUID + 1))
	for ; k != nil; k, v = c.Next() {
		if b.messages >= batchMessages || b.terms >= batchTerms || textBytes >= batchTextBytes {
			return nil
		}
		uid := uidOf(k)
		e, err := decodeEntry(v)
		if err != nil {
			return fmt.Errorf("uid %d: %w", uid, err)
		}
		rec, err := bodyRecordOf(tx, e.body, true)
		if err != nil {
			return fmt.Errorf("uid %d: %w", uid, err)
		}
		text, err := texts.get(rec.seq)
		if err != nil {
			return fmt.Errorf("uid %d: %w", uid, err)
		}
		textBytes += len(text)
		b.addMessage(text, rec.meta, uid)
		b.messages++
		b.upTo = uid
	}
	// Every message of the tail is in the batch: the index covers the mailbox up to its last UID so far, whether
	// the last messages are live or expunged.
	b.last = true
	b.upTo = max(b.upTo, mb.UIDNext-1)
	return nil
}

// addMessage adds the terms of message uid, which is above every UID of the batch so far. Terms go straight into
// the batch's postings: a string is made only of a term the batch has not had yet.
func (b *indexBatchData) addMessage(text, meta []byte, uid uint32) {
	eachMessageTerm(text, meta, func(f indexField, t []byte) {
		slot := b.recent.slot(f, t)
		if slot.field != f || slot.term != string(t) {
			*slot = b.listOf(f, t, uid)
		}
		b.addPosting(slot.list, uid)
	})
}

// listOf is the list of term t of field f, started with uid if the batch has not had the term yet.
func (b *indexBatchData) listOf(f indexField, t []byte, uid uint32) cachedTerm {
	m := b.fieldPostings(f)
	i, ok := m[string(t)]
	if !ok {
		i = b.newList(b.keys.intern(t), uid)
		m[b.lists[i].term] = i
	}
	return cachedTerm{term: b.lists[i].term, list: i, field: f}
}

// termCache remembers the lists of the terms a batch met lately, in slots chosen by a hash of the term that is
// cheaper than a map's: a message repeats most of its terms (the folded text of a 20 KiB letter has some 1,700
// terms, 180 of them distinct), and looking each one up in the batch's maps took about a third of the CPU of
// splitting a message (BenchmarkAddMessage). A term whose slot holds another is looked up in the maps.
type termCache [termCacheSize]cachedTerm

// cachedTerm is a term of a field and the index of its list in the batch.
type cachedTerm struct {
	term  string
	list  int32
	field indexField // 0: an empty slot
}

const (
	termCacheBits = 10
	termCacheSize = 1 << termCacheBits
)

// slot is the slot of term t of field f: a multiplicative hash of the field, the length and the first and last 8
// bytes (a short term's bytes all).
func (c *termCache) slot(f indexField, t []byte) *cachedTerm {
	h := uint64(f) ^ uint64(len(t))<<56
	if len(t) >= 8 {
		h ^= binary.LittleEndian.Uint64(t) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(t[len(t)-8:]), 31)
	} else {
		for _, ch := range t {
			h = h<<8 ^ uint64(ch)
		}
	}
	return &c[(h*0x9E3779B97F4A7C15)>>(64-termCacheBits)]
}

// termArena makes strings of terms in shared chunks of memory, rather than one allocation per term.
type termArena struct{ chunk strings.Builder }

// termArenaChunk is the size of a termArena's chunks: a batch of batchTerms terms takes a few.
const termArenaChunk = 4 << 10

// intern is t as a string. The strings stay valid as the arena grows: a Builder never changes what it has written.
func (a *termArena) intern(t []byte) string {
	if a.chunk.Cap()-a.chunk.Len() < len(t) {
		a.chunk = strings.Builder{}
		a.chunk.Grow(max(termArenaChunk, len(t)))
	}
	start := a.chunk.Len()
	a.chunk.Write(t)
	return a.chunk.String()[start:]
}

// fieldPostings is the batch's postings of field f.
func (b *indexBatchData) fieldPostings(f indexField) map[string]int32 {
	m := b.postings[f]
	if m == nil {
		m = map[string]int32{}
		b.postings[f] = m
	}
	return m
}

// messageTerms is what one message is indexed under, by field (see eachMessageTerm), as sets.
func messageTerms(text, meta []byte) map[indexField]map[string]struct{} {
	out := map[indexField]map[string]struct{}{}
	eachMessageTerm(text, meta, func(f indexField, t []byte) {
		set := out[f]
		if set == nil {
			set = map[string]struct{}{}
			out[f] = set
		}
		addTerm(set, t)
	})
	return out
}

// eachMessageTerm calls fn with each term one message is indexed under, by field, as many times as it has it: the
// terms of its stored search text and of its envelope (an unreadable parse result gives no envelope terms, as
// SEARCH then matches no envelope key). t is only valid during the call.
func eachMessageTerm(text, meta []byte, fn func(f indexField, t []byte)) {
	header, body := message.SplitSearchText(text)
	eachIndexTerm(header, func(t []byte) { fn(fieldHeader, t) })
	eachIndexTerm(body, func(t []byte) { fn(fieldBody, t) })
	m, err := message.DecodeMeta(meta)
	if err != nil || m == nil || m.Envelope == nil {
		return
	}
	for _, ef := range envelopeFields {
		for _, text := range message.EnvelopeSearchTexts(m.Envelope, ef.name) {
			eachIndexTerm([]byte(text), func(t []byte) { fn(ef.field, t) })
		}
	}
}

// write puts the batch's postings, one write per term, in key order, and adds its new terms to the dictionaries.
func (b *indexBatchData) write(tx *bolt.Tx, mailboxID uint64) error {
	postings := tx.Bucket(bucketPostings)
	postings.FillPercent = postingsFill
	var uids []uint32
	for _, f := range slices.Sorted(maps.Keys(b.postings)) {
		terms := b.postings[f]
		var fresh []string
		for _, t := range slices.Sorted(maps.Keys(terms)) {
			uids = b.listUIDs(uids[:0], terms[t])
			isNew, err := appendPostings(postings, termPrefix(mailboxID, f, []byte(t)), uids)
			if err != nil {
				return err
			}
			if isNew {
				fresh = append(fresh, t)
			}
		}
		if err := addDictionaryTerms(tx, mailboxID, f, fresh); err != nil {
			return err
		}
	}
	return nil
}

// dropIndexBatch deletes some of the mailbox's postings and dictionary and says whether none is left; the first
// batch marks the index as being dropped, so no search trusts it from then on.
func (s *Store) dropIndexBatch(mailboxID uint64) (done bool, err error) {
	err = s.updateAlone(func(tx *bolt.Tx, _ *changes) error {
		done = false
		if tx.Bucket(bucketIndexState).Get(u64key(mailboxID)) == nil {
			done = true
			return nil
		}
		if err := putIndexState(tx, mailboxID, indexState{Dropping: true}); err != nil {
			return err
		}
		n, err := deleteRange(tx.Bucket(bucketPostings), u64key(mailboxID), dropBatch)
		if err != nil || n > 0 {
			return err
		}
		if n, err = deleteRange(tx.Bucket(bucketIndexRecent), u64key(mailboxID), dropBatch); err != nil || n > 0 {
			return err
		}
		if n, err = deleteRange(tx.Bucket(bucketIndexTerms), u64key(mailboxID), dropBatch); err != nil || n > 0 {
			return err
		}
		done = true
		return tx.Bucket(bucketIndexState).Delete(u64key(mailboxID))
	})
	if err != nil {
		return true, fmt.Errorf("drop the search index of mailbox #%d: %w", mailboxID, err)
	}
	return done, nil
}

// rebuildIfStale drops the mailbox's postings, for the indexer to build them again, when its stale postings
// outnumber its live ones.
func (s *Store) rebuildIfStale(mailboxID uint64) error {
	stale, live, err := s.indexStaleness(mailboxID)
	if err != nil || stale < minStaleRebuild || stale <= live {
		return err
	}
	slog.Info("search index: rebuilding a mailbox whose postings are mostly of expunged messages",
		"mailbox", mailboxID, "stale", stale, "live", live)
	return s.dropIndex(mailboxID)
}

// indexStaleness counts the messages the mailbox's postings hold that are expunged, and the live ones they hold.
func (s *Store) indexStaleness(mailboxID uint64) (stale, live int, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		mb, err := getMailboxByID(tx, mailboxID)
		if err != nil {
			return nil
		}
		st, err := getIndexState(tx, mailboxID)
		if err != nil {
			return err
		}
		msgs, err := messagesBucket(tx, mailboxID)
		if err != nil {
			return err
		}
		live = int(mb.Messages) - countUnindexedIn(msgs, st)
		stale = int(st.Indexed) - live
		return nil
	})
	return stale, live, err
}

// dropIndex drops the mailbox's postings until none is left; the indexer builds them again.
func (s *Store) dropIndex(mailboxID uint64) error {
	_, err := untilDone(s.dropIndexBatch, mailboxID)
	if ix := s.indexer; ix != nil && err == nil {
		ix.mu.Lock()
		ix.tails[mailboxID] = &tail{}
		ix.mu.Unlock()
	}
	return err
}
