package store

import (
	"cmp"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Group commit. Every write goes through update, which queues the caller's function and returns once the
// transaction holding it has committed (fsync included) and its changes have been announced. Callers that arrive
// while a transaction commits gather in the queue and share the next transaction and its one fsync.
//
// The loop is a leader/follower scheme rather than bbolt's DB.Batch: DB.Batch waits up to MaxBatchDelay for
// company even when a caller is alone, runs the functions of a failed batch again one transaction each, and knows
// nothing of announcements, audit records or of work that must run alone (the sweep). Here a caller that finds
// nobody committing leads at once when nobody else is preparing a write (no added latency when alone), or after
// waiting a little for those who are (gatherPrepared); one that finds a commit in progress queues, and
// the leader, having committed and announced its batch, hands the lead to the first queued caller, which takes
// every caller queued by then (up to maxBatchCallers and maxBatchBytes) into one transaction. So a caller waits
// for at most the transaction in progress and its own, and a leader never serves more than one batch. Background
// work (index batches, header copies) shares the batch it queues with (updateBackground), one in a batch: a
// transaction of its own would be one more commit for every caller queued behind it.
//
// Functions run in arrival order in the shared transaction. One that fails (or panics) is dropped with its error,
// the transaction is rolled back and the others run again in a new one: a function may run more than once, so it
// must have no effect outside the transaction and the changes it records (see doc.go).

// Bounds of one batch: a transaction grows with what its callers write, and every caller waits for all of it.
const (
	maxBatchCallers = 128
	maxBatchBytes   = 8 << 20
)

// ErrClosed is returned by writes made after Close began; it wraps bbolt's error for reads of a closed store.
var ErrClosed = fmt.Errorf("store closed: %w", bolt.ErrDatabaseNotOpen)

// commitRequest is one update call waiting for its function to be committed.
type commitRequest struct {
	fn       func(tx *bolt.Tx, ch *changes) error
	audit    []AuditRecord
	describe []func([]Change) []AuditRecord
	size     int  // roughly what fn writes (message bodies), to bound a batch
	alone    bool // never shares a transaction (the sweep: a delivery must not carry its work)
	// background: work nobody waits for (index batches, header copies), not counted as a write (ExpectWrite). It
	// rides with the writes queued with it, at most one in a transaction, rather than costing them a commit.
	background bool

	prepared *PreparedWrite // the caller's PrepareWrite, if it made one: queued once r is

	ch   changes   // what fn recorded in its last run
	err  error     // final once wake has been sent false
	wake chan bool // true: lead the next batch; false: done
}

// commitQueue is the state of the commit loop.
type commitQueue struct {
	mu      sync.Mutex
	pending []*commitRequest // guarded by mu
	leading bool             // guarded by mu: a caller is running a batch or is being handed the lead
	closed  bool             // guarded by mu: Close began; new callers are refused
	idle    sync.Cond        // signalled when leading ends with nothing pending (Close waits for it)

	// writers counts the writes being prepared (ExpectWrite) and the callers between queueing and their outcome,
	// but background work: a bulk read gives way to them (YieldToWriters). lastWrite is when the last of them had its outcome, in
	// Unix nanoseconds: the indexer works on small tails once writes have gone quiet (writesQuietFor).
	writers   atomic.Int64
	lastWrite atomic.Int64
	begun     atomic.Uint64 // writes counted so far: a paced read tells from it whether others began meanwhile (pace.go)
	// preparing counts the writes prepared (PrepareWrite) that have not queued yet: a leader that finds the loop
	// idle waits for them a little (gatherPrepared). lastCommit is how long the last commit took, in nanoseconds.
	preparing  atomic.Int64
	lastCommit atomic.Int64
	maxGather  time.Duration // bounds that wait; set by tests before use, else defaultMaxGather

	commits atomic.Uint64 // transactions committed
	callers atomic.Uint64 // callers whose function those transactions committed
	reruns  atomic.Uint64 // functions run again after another one in their batch failed

	// beforeCommit, set by tests before the store is used, runs after the batch's functions, just before the
	// commit: an error fails the whole batch as a failed commit would.
	beforeCommit func(*bolt.Tx) error
}

// CommitStats counts the work of the commit loop since Open.
type CommitStats struct {
	Commits uint64 // write transactions committed
	Callers uint64 // writes they held: Callers/Commits callers shared each commit on average
	Reruns  uint64 // functions run again because another in the same batch failed
}

// CommitStats reads the commit loop's counters.
func (s *Store) CommitStats() CommitStats {
	return CommitStats{Commits: s.queue.commits.Load(), Callers: s.queue.callers.Load(), Reruns: s.queue.reruns.Load()}
}

// update runs fn in a write transaction, possibly shared with other callers', and returns once that transaction
// has committed and the changes fn recorded have been announced. fn may run more than once.
func (s *Store) update(fn func(tx *bolt.Tx, ch *changes) error) error {
	return s.commit(&commitRequest{fn: fn})
}

// updateSized is update for a function that writes about size bytes (a message), so that a batch stays bounded.
func (s *Store) updateSized(size int, fn func(tx *bolt.Tx, ch *changes) error) error {
	return s.commit(&commitRequest{fn: fn, size: size})
}

// updateAlone is update in a transaction of its own, for background work no caller should wait behind more than
// one of.
func (s *Store) updateAlone(fn func(tx *bolt.Tx, ch *changes) error) error {
	return s.commit(&commitRequest{fn: fn, alone: true, background: true})
}

// updateBackground is update for bounded background work (an index batch, header copies) that may share the
// transaction of the writes queued with it, one such function in a transaction. Each commit is an fsync or two
// that every caller queued behind it waits for: under a stream of deliveries, a batch of its own made those
// queued behind it wait for two commits, where sharing costs them only its writes.
func (s *Store) updateBackground(fn func(tx *bolt.Tx, ch *changes) error) error {
	return s.commit(&commitRequest{fn: fn, background: true})
}

// commit queues r and waits for its outcome, leading a batch when nobody else is.
func (s *Store) commit(r *commitRequest) error {
	r.audit, r.describe, r.wake = s.audit, s.describe, make(chan bool, 1)
	q := &s.queue
	if !r.background {
		defer s.ExpectWrite()()
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	q.pending = append(q.pending, r)
	r.prepared.markQueued()
	lead := !q.leading
	q.leading = true
	q.mu.Unlock()
	if lead {
		s.gatherPrepared()
		s.lead()
	} else if <-r.wake {
		s.lead()
	}
	return r.err
}

// defaultMaxGather bounds how long a leader that found the loop idle waits for prepared writes to queue.
const defaultMaxGather = 5 * time.Millisecond

// gatherPrepared lets the writes being prepared join the batch of a leader that found the loop idle, waiting for
// them at most as long as the last commit took (and defaultMaxGather). Deliveries come in waves: the replies of one
// commit send their clients' next messages, which reach the store one after another as their parses end. The
// first would otherwise commit alone, and every other of the wave wait for its commit and then their own; the
// wait costs the first at most one commit's time and saves the others as much. A write prepared and never queued
// (a delivery refused after its parse) ends the wait when it is done.
func (s *Store) gatherPrepared() {
	q := &s.queue
	if q.preparing.Load() <= 0 {
		return
	}
	limit := min(time.Duration(q.lastCommit.Load()), cmp.Or(q.maxGather, defaultMaxGather))
	for deadline := time.Now().Add(limit); q.preparing.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(gatherPoll)
	}
}

// gatherPoll is how often gatherPrepared looks whether the prepared writes have queued.
const gatherPoll = 100 * time.Microsecond

// lead commits the next batch (which holds the leader's own request, first in the queue), then hands the lead to
// the first caller queued meanwhile, or ends it.
func (s *Store) lead() {
	q := &s.queue
	q.mu.Lock()
	batch := q.takeBatchLocked()
	q.mu.Unlock()

	s.commitBatch(batch)

	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 {
		q.leading = false
		q.idle.Broadcast()
		return
	}
	q.pending[0].wake <- true
}

// takeBatchLocked removes the next batch from the queue: the callers in arrival order up to the bounds and the
// first background one, or one caller that must run alone. q.mu is held.
func (q *commitQueue) takeBatchLocked() []*commitRequest {
	n, size, background := 0, 0, false
	for n < len(q.pending) {
		r := q.pending[n]
		if r.alone {
			if n == 0 {
				n = 1
			}
			break
		}
		if n > 0 && (n == maxBatchCallers || size+r.size > maxBatchBytes || r.background && background) {
			break
		}
		size += r.size
		background = background || r.background
		n++
	}
	batch := slices.Clone(q.pending[:n])
	q.pending = slices.Delete(q.pending, 0, n)
	return batch
}

// commitBatch commits the batch's functions in one transaction, dropping each one that fails and running the
// others again, and wakes every caller with its outcome.
func (s *Store) commitBatch(batch []*commitRequest) {
	live := batch
	defer func() {
		s.endCommit()                 // announced or failed: no reader waits for this batch any more
		if p := recover(); p != nil { // a bug in the loop itself: fail the callers rather than leave them waiting
			slog.Error("store: commit loop panicked", "panic", p, "stack", string(debug.Stack()))
			for _, r := range live {
				r.err = fmt.Errorf("store: commit failed: %v", p)
			}
		}
		for _, r := range batch {
			r.wake <- false
		}
	}()
	for len(live) > 0 {
		failed, err := s.tryBatch(live)
		if failed >= 0 {
			s.queue.reruns.Add(uint64(failed))
			live = slices.Delete(slices.Clone(live), failed, failed+1)
			continue
		}
		if err != nil {
			for _, r := range live {
				r.err = err
			}
			return
		}
		s.queue.commits.Add(1)
		s.queue.callers.Add(uint64(len(live)))
		s.announceBatch(live)
		return
	}
}

// tryBatch runs the functions of live in one transaction and commits it. If a function fails, its caller gets the
// error, the transaction is rolled back, and failed is its index; otherwise failed is -1 and err is the outcome
// of the commit.
func (s *Store) tryBatch(live []*commitRequest) (failed int, err error) {
	tx, err := s.db.Begin(true)
	if err != nil {
		return -1, fmt.Errorf("begin write: %w", err)
	}
	committed := false
	defer func() {
		if !committed { // a failed function, a failed hook, or a panic: never leave the writer lock held
			_ = tx.Rollback()
		}
	}()
	commit := uint64(tx.ID())
	for i, r := range live {
		if r.err = s.runRequest(tx, r, commit); r.err != nil {
			return i, nil
		}
	}
	freed := hasFreedBodies(tx)
	if hook := s.queue.beforeCommit; hook != nil {
		if err := hook(tx); err != nil {
			return -1, fmt.Errorf("commit: %w", err)
		}
	}
	committed = true      // Commit rolls back itself when it fails
	s.startCommit(commit) // ended by commitBatch, once the batch has been announced or has failed
	began := time.Now()
	if err := tx.Commit(); err != nil {
		return -1, fmt.Errorf("commit: %w", err)
	}
	s.queue.lastCommit.Store(int64(time.Since(began)))
	if freed {
		s.wakeSweeper()
	}
	return -1, nil
}

// runRequest runs one caller's function and writes its audit records, in tx. A panic fails this caller only.
func (s *Store) runRequest(tx *bolt.Tx, r *commitRequest, commit uint64) (err error) {
	defer func() {
		if p := recover(); p != nil {
			slog.Error("store: write panicked", "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("store: write failed: %v", p)
		}
	}()
	r.ch = changes{}
	if err := r.fn(tx, &r.ch); err != nil {
		return err
	}
	for i := range r.ch.list {
		r.ch.list[i].Commit = commit
	}
	return s.writeAudit(tx, r)
}

// writeAudit writes the caller's audit records, those given and those described from its changes.
func (s *Store) writeAudit(tx *bolt.Tx, r *commitRequest) error {
	records := r.audit
	for _, describe := range r.describe {
		records = append(slices.Clone(records), describe(r.ch.list)...)
	}
	for _, rec := range records {
		if rec.Time.IsZero() {
			rec.Time = s.now()
		}
		if err := putAudit(tx, rec); err != nil {
			return fmt.Errorf("write audit record: %w", err)
		}
	}
	return nil
}

// announceBatch tells the subscribers about the committed batch's changes, caller by caller in arrival order, and
// wakes the queue worker if the queue changed. commitBatch then records the commit as announced (readers wait for
// that, see view).
func (s *Store) announceBatch(batch []*commitRequest) {
	queued := false
	s.subMu.Lock()
	for _, r := range batch {
		s.announceLocked(r.ch.list)
		queued = queued || r.ch.queued
	}
	s.subMu.Unlock()
	if queued {
		s.signalQueue()
	}
}

// drainCommits refuses new writes and waits until every queued one has been committed or failed.
func (s *Store) drainCommits() {
	q := &s.queue
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	for q.leading {
		q.idle.Wait()
	}
}

// announcedState tells readers whether the commit they saw is still being announced (view waits for that).
type announcedState struct {
	mu   sync.Mutex
	done sync.Cond
	// inflight is the commit being written or announced by the commit loop, 0 when none: a read that saw it
	// waits until its changes have been announced. Commits made outside the loop (migrations at Open, the
	// free-page list at Close) are never in flight, so no reader waits for them.
	inflight uint64
}

// startCommit marks commit as in flight, before it is written.
func (s *Store) startCommit(commit uint64) {
	a := &s.announced
	a.mu.Lock()
	a.inflight = commit
	a.mu.Unlock()
}

// endCommit marks commit as announced, or failed: readers that saw it may go on.
func (s *Store) endCommit() {
	a := &s.announced
	a.mu.Lock()
	a.inflight = 0
	a.mu.Unlock()
	a.done.Broadcast()
}

// awaitAnnounced waits until the changes of commit, which a read saw, have been announced: a commit's
// announcement follows it at once, so this waits for subscribers to be told, never for a write to be made.
func (s *Store) awaitAnnounced(commit uint64) {
	a := &s.announced
	a.mu.Lock()
	defer a.mu.Unlock()
	for a.inflight != 0 && a.inflight <= commit {
		a.done.Wait()
	}
}

// ExpectWrite counts a write from the moment its caller starts preparing it (a delivery parsing the message it
// will commit) until the returned function is called: bulk reads yield to it (YieldToWriters) and the indexer
// does not take the store for quiet (writesQuietFor) meanwhile. A delivery spends most of its CPU before it
// queues for the commit; a bulk read that gave way only to queued commits would still take that CPU from it.
// Every write through the commit loop is counted this way while it waits for its outcome.
func (s *Store) ExpectWrite() (done func()) {
	q := &s.queue
	q.writers.Add(1)
	q.begun.Add(1)
	return func() {
		q.lastWrite.Store(time.Now().UnixNano())
		q.writers.Add(-1)
	}
}

// PreparedWrite is a write being prepared: a delivery from its parse on. Until Done it counts as ExpectWrite does,
// and until it queues for its commit (passed in Delivery.Prepared) a leader that finds the commit loop idle may
// wait for it to join its batch (gatherPrepared).
type PreparedWrite struct {
	q            *commitQueue
	queued, done atomic.Bool
}

// PrepareWrite counts a write from the moment its caller starts preparing it until Done.
func (s *Store) PrepareWrite() *PreparedWrite {
	q := &s.queue
	q.writers.Add(1)
	q.begun.Add(1)
	q.preparing.Add(1)
	return &PreparedWrite{q: q}
}

// Done ends the write's count, whether it was committed, failed or never queued. It may be called more than once.
func (p *PreparedWrite) Done() {
	if p == nil || !p.done.CompareAndSwap(false, true) {
		return
	}
	p.markQueued()
	p.q.lastWrite.Store(time.Now().UnixNano())
	p.q.writers.Add(-1)
}

// markQueued notes that the write has queued for its commit (or will never): leaders stop waiting for it.
func (p *PreparedWrite) markQueued() {
	if p != nil && p.queued.CompareAndSwap(false, true) {
		p.q.preparing.Add(-1)
	}
}

// yieldPoll is how often YieldToWriters looks whether the writes it waits for are done.
const yieldPoll = 200 * time.Microsecond

// YieldToWriters waits while a write is being prepared (ExpectWrite), queued or committed, for at most limit, and says how long it
// waited. A bulk read (a FETCH of a whole mailbox) calls it between its batches: on a server whose cores are
// busy, a delivery then gets the CPU for its commit and its reply sooner, and the read, which nobody waits for
// message by message, is late by at most limit a batch. Background writes (updateAlone, updateBackground) are not waited for.
func (s *Store) YieldToWriters(limit time.Duration) time.Duration {
	q := &s.queue
	if q.writers.Load() == 0 {
		return 0
	}
	start := time.Now()
	for q.writers.Load() > 0 {
		waited := time.Since(start)
		if waited >= limit {
			return waited
		}
		time.Sleep(min(yieldPoll, limit-waited))
	}
	return time.Since(start)
}

// writesQuietFor is how long no write but background work has been queued or committed; 0 while one is.
func (s *Store) writesQuietFor() time.Duration {
	q := &s.queue
	if q.writers.Load() > 0 {
		return 0
	}
	return time.Since(time.Unix(0, q.lastWrite.Load()))
}
