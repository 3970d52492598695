package store

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// commitCount is how many write transactions s has committed.
func commitCount(s *Store) uint64 { return s.CommitStats().Commits }

// waitBound bounds every wait of these tests for another goroutine: far beyond what the work needs, so that only a
// hang (the failure being tested for) reaches it.
const waitBound = 20 * time.Second

// eventually polls cond until it holds, failing the test after waitBound.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(waitBound); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
	}
}

// queued is how many callers wait in the commit queue behind the batch in progress.
func (s *Store) queued() int {
	s.queue.mu.Lock()
	defer s.queue.mu.Unlock()
	return len(s.queue.pending)
}

// commitGate parks the next commit (just before it is written) until it is opened, so that callers queue behind it.
type commitGate struct {
	parked chan struct{} // closed when a commit is parked
	open   chan error    // what the parked commit returns
	once   sync.Once
}

// gateNextCommit installs a gate on s's next commit; later commits pass. It stops the background sweep, whose
// writes would queue among the test's.
func gateNextCommit(s *Store) *commitGate {
	s.stopSweeper()
	g := &commitGate{parked: make(chan struct{}), open: make(chan error, 1)}
	var first sync.Once
	s.queue.beforeCommit = func(*bolt.Tx) error {
		var err error
		first.Do(func() {
			close(g.parked)
			err = <-g.open
		})
		return err
	}
	return g
}

// start runs fn on a goroutine once the gated commit is parked and waits until fn's write has queued (queued says
// how many writes wait then), so that the writes started one after another arrive in that order.
func (g *commitGate) start(t *testing.T, s *Store, queued int, fn func() error) <-chan error {
	t.Helper()
	<-g.parked
	done := make(chan error, 1)
	go func() { done <- fn() }()
	eventually(t, fmt.Sprintf("%d queued writes", queued), func() bool { return s.queued() == queued })
	return done
}

// release lets the parked commit go on with err as its outcome.
func (g *commitGate) release(err error) { g.once.Do(func() { g.open <- err }) }

func wait(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(waitBound):
		t.Fatal("a write never returned")
		return nil
	}
}

// TestConcurrentDeliveriesShareCommits: deliveries that arrive while a commit is in progress go together in the
// next transaction, and every one of them is stored.
func TestConcurrentDeliveriesShareCommits(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	const n = 40
	gate := gateNextCommit(s)
	first := make(chan error, 1)
	go func() { _, err := s.Deliver(testMessage(0), []Copy{{AccountID: a.ID}}); first <- err }()
	before := s.CommitStats()
	var dones []<-chan error
	for i := 1; i < n; i++ {
		dones = append(dones, gate.start(t, s, i, func() error {
			_, err := s.Deliver(testMessage(i), []Copy{{AccountID: a.ID}})
			return err
		}))
	}
	gate.release(nil)
	for _, done := range append(dones, first) {
		if err := wait(t, done); err != nil {
			t.Fatal(err)
		}
	}
	after := s.CommitStats()
	if commits := after.Commits - before.Commits; commits >= n || commits > 2 {
		t.Errorf("%d deliveries took %d commits; want the %d queued behind the first to share one", n, commits, n-1)
	}
	if callers := after.Callers - before.Callers; callers != n {
		t.Errorf("commits held %d callers, want %d", callers, n)
	}
	uids, err := s.UIDs(mustMailbox(t, s, a, "INBOX").ID)
	if err != nil || len(uids) != n || uids[n-1] != n {
		t.Errorf("INBOX holds %v (%v), want UIDs 1 to %d", uids, err, n)
	}
}

// TestFailingWriteFailsAlone: in a shared transaction, a function that fails or panics gets its error, none of its
// effects stay, and the others commit without it.
func TestFailingWriteFailsAlone(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	gate := gateNextCommit(s)
	go func() { _ = s.SetSubscribed(a.ID, "Sent", true) }() // the parked commit
	deliver := func(i int) func() error {
		return func() error { _, err := s.Deliver(testMessage(i), []Copy{{AccountID: a.ID}}); return err }
	}
	refused := errors.New("refused")
	failing := func(fail func() error) func() error {
		return func() error {
			return s.update(func(tx *bolt.Tx, _ *changes) error {
				if err := tx.Bucket(bucketMeta).Put([]byte("failed write"), []byte("must not stay")); err != nil {
					return err
				}
				return fail()
			})
		}
	}
	first := gate.start(t, s, 1, deliver(1))
	failed := gate.start(t, s, 2, failing(func() error { return refused }))
	second := gate.start(t, s, 3, deliver(2))
	panicked := gate.start(t, s, 4, failing(func() error { panic("a bug") }))
	third := gate.start(t, s, 5, deliver(3))
	gate.release(nil)

	for i, done := range []<-chan error{first, second, third} {
		if err := wait(t, done); err != nil {
			t.Errorf("delivery %d: %v", i+1, err)
		}
	}
	if err := wait(t, failed); !errors.Is(err, refused) {
		t.Errorf("the failing write returned %v, want its own error", err)
	}
	if err := wait(t, panicked); err == nil {
		t.Error("the panicking write returned no error")
	}
	_ = s.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta).Get([]byte("failed write")) != nil {
			t.Error("a failed write's change was committed")
		}
		return nil
	})
	if uids, _ := s.UIDs(inbox.ID); !slices.Equal(uids, []uint32{1, 2, 3}) {
		t.Errorf("INBOX holds %v, want the three deliveries", uids)
	}
	if st := s.CommitStats(); st.Reruns == 0 {
		t.Error("no function ran again after the failures")
	}
	if _, err := s.Deliver(testMessage(4), []Copy{{AccountID: a.ID}}); err != nil { // the loop goes on
		t.Fatal(err)
	}
}

// TestNoAcknowledgementBeforeCommit: a write returns only once its transaction has been committed, and fails when
// the commit fails, leaving nothing behind.
func TestNoAcknowledgementBeforeCommit(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	gate := gateNextCommit(s)
	done := make(chan error, 1)
	go func() { _, err := s.Deliver(testMessage(1), []Copy{{AccountID: a.ID}}); done <- err }()
	<-gate.parked
	select {
	case err := <-done:
		t.Fatalf("the delivery returned (%v) while its commit had not been written", err)
	default:
	}
	diskFull := errors.New("no space left on device")
	gate.release(diskFull)
	if err := wait(t, done); !errors.Is(err, diskFull) {
		t.Fatalf("delivery whose commit failed returned %v", err)
	}
	if uids, _ := s.UIDs(inbox.ID); len(uids) != 0 {
		t.Errorf("a delivery whose commit failed left %v", uids)
	}
	if m := mustMailbox(t, s, a, "INBOX"); m.UIDNext != 1 {
		t.Errorf("UIDNEXT %d after a failed commit", m.UIDNext)
	}
}

// TestAnnouncementsFollowCommitOrder: concurrent writers' changes reach a subscriber in commit order, each mailbox's
// new UIDs ascending, with commit sequences that never go back.
func TestAnnouncementsFollowCommitOrder(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	b := mustAccount(t, s, "binh@example.gov.vn")
	var mu sync.Mutex
	seen := map[uint64][]uint32{}
	var commits []uint64
	defer s.Subscribe(func(c Change) {
		mu.Lock()
		defer mu.Unlock()
		seen[c.MailboxID] = append(seen[c.MailboxID], c.Appended...)
		commits = append(commits, c.Commit)
	})()
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				to := a.ID
				if (w+i)%2 == 0 {
					to = b.ID
				}
				if _, err := s.Deliver(testMessage(w*each+i), []Copy{{AccountID: to}}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	total := 0
	for box, uids := range seen {
		if !slices.IsSorted(uids) || len(slices.Compact(slices.Clone(uids))) != len(uids) {
			t.Errorf("mailbox %d: UIDs announced out of order: %v", box, uids)
		}
		total += len(uids)
	}
	if total != writers*each {
		t.Errorf("%d appends announced, want %d", total, writers*each)
	}
	if !slices.IsSorted(commits) || commits[0] == 0 {
		t.Errorf("commit sequences announced out of order: %v", commits)
	}
}

// TestSnapshotDoesNotBlockDeliveries: while a SELECT reads a large mailbox's snapshot, deliveries go on.
func TestSnapshotDoesNotBlockDeliveries(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	if _, err := s.Deliver(testMessage(1), []Copy{{AccountID: a.ID}}); err != nil {
		t.Fatal(err)
	}
	parked, resume := make(chan struct{}), make(chan struct{})
	s.snapshotHook = func() { close(parked); <-resume }
	snapped := make(chan MailboxSnapshot, 1)
	go func() {
		snap, err := s.MailboxSnapshot(inbox.ID, true)
		if err != nil {
			t.Error(err)
		}
		snapped <- snap
	}()
	<-parked
	delivered := make(chan error, 1)
	go func() { _, err := s.Deliver(testMessage(2), []Copy{{AccountID: a.ID}}); delivered <- err }()
	err := wait(t, delivered)
	close(resume)
	if err != nil {
		t.Fatal(err)
	}
	if snap := <-snapped; !slices.Equal(snap.UIDs, []uint32{1}) || snap.Commit >= commitOf(t, s) {
		t.Errorf("snapshot taken before the delivery: UIDs %v, commit %d", snap.UIDs, snap.Commit)
	}
}

// commitOf is the sequence of the last commit.
func commitOf(t *testing.T, s *Store) uint64 {
	t.Helper()
	var id uint64
	_ = s.view(func(tx *bolt.Tx) error { id = uint64(tx.ID()); return nil })
	return id
}

// TestSweepRunsInBatchesOutsideDeliveries: after a large EXPUNGE, the next delivery deletes no chunk; the sweep
// deletes them in bounded transactions of its own, a body larger than a batch over several, and the store checks
// clean between batches.
func TestSweepRunsInBatchesOutsideDeliveries(t *testing.T) {
	s := newTestStore(t)
	s.stopSweeper() // this test runs the batches itself
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	var released int
	for i := range 30 {
		size := 3 * ChunkSize / 2
		if i == 0 {
			size = 3 * sweepBatchBytes // larger than a batch
		}
		msg := NewMessage{Body: bytes.Repeat([]byte{byte('a' + i)}, size)}
		if _, err := s.Append(inbox.ID, msg, []string{`\Deleted`}, nil); err != nil {
			t.Fatal(err)
		}
		released += int(chunkCount(int64(size)))
	}
	if _, err := s.Expunge(inbox.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deliver(testMessage(1), []Copy{{AccountID: a.ID}}); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Stats(); st.Chunks != released+1 {
		t.Fatalf("%d chunks after the delivery, want the %d released ones still there and its own", st.Chunks, released+1)
	}
	batches := 0
	for stored := chunkBytes(t, s); ; batches++ {
		more, err := s.sweepBatch()
		if err != nil {
			t.Fatal(err)
		}
		left := chunkBytes(t, s)
		if deleted := stored - left; deleted > sweepBatchBytes+ChunkSize {
			t.Fatalf("one sweep batch deleted %d bytes of chunks", deleted)
		}
		stored = left
		if err := s.Check(); err != nil {
			t.Fatalf("after sweep batch %d: %v", batches+1, err)
		}
		if !more {
			break
		}
		if batches > released {
			t.Fatal("the sweep does not end")
		}
	}
	if st, _ := s.Stats(); st.Chunks != 1 || batches < 4 {
		t.Errorf("%d chunks left after %d batches, want 1 left after at least 4", st.Chunks, batches+1)
	}
}

// chunkBytes is the size of every stored chunk together.
func chunkBytes(t *testing.T, s *Store) (n int) {
	t.Helper()
	if err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketChunks).ForEach(func(_, v []byte) error { n += len(v); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSweepInBackground: a commit that releases bodies wakes the background sweep, and a store reopened with
// released chunks left deletes them without being asked.
func TestSweepInBackground(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	for i := range 10 {
		msg := NewMessage{Body: bytes.Repeat([]byte{byte('a' + i)}, 2*ChunkSize)}
		if _, err := s.Append(inbox.ID, msg, []string{`\Deleted`}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Expunge(inbox.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the background sweep", func() bool { st, _ := s.Stats(); return st.Chunks == 0 })

	path := s.Path()
	s.stopSweeper()
	if _, err := s.Append(inbox.ID, NewMessage{Body: []byte("Subject: x\r\n\r\nx\r\n")}, []string{`\Deleted`}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Expunge(inbox.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	reopened, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	*s = *reopened // newTestStore's cleanup checks and closes it
	eventually(t, "the sweep after reopening", func() bool { st, _ := s.Stats(); return st.Chunks == 0 })
}

// TestCloseLetsQueuedWritesFinish: writes queued when Close begins commit; later ones are refused, none hangs.
func TestCloseLetsQueuedWritesFinish(t *testing.T) {
	s, err := Open(t.TempDir()+"/mail.db", Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddDomain("example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	a, err := s.AddAccount(Account{Address: "an@example.gov.vn"})
	if err != nil {
		t.Fatal(err)
	}
	gate := gateNextCommit(s)
	first := make(chan error, 1)
	go func() { _, err := s.Deliver(testMessage(0), []Copy{{AccountID: a.ID}}); first <- err }()
	var dones []<-chan error
	for i := 1; i <= 3; i++ {
		dones = append(dones, gate.start(t, s, i, func() error {
			_, err := s.Deliver(testMessage(i), []Copy{{AccountID: a.ID}})
			return err
		}))
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	eventually(t, "Close to refuse new writes", func() bool {
		s.queue.mu.Lock()
		defer s.queue.mu.Unlock()
		return s.queue.closed
	})
	if _, err := s.Deliver(testMessage(9), []Copy{{AccountID: a.ID}}); !errors.Is(err, ErrClosed) {
		t.Errorf("a write after Close began: %v", err)
	}
	gate.release(nil)
	for _, done := range append(dones, first) {
		if err := wait(t, done); err != nil {
			t.Errorf("a write queued before Close: %v", err)
		}
	}
	if err := wait(t, closed); err != nil {
		t.Fatal(err)
	}
}

// TestReadWaitsForTheAnnouncementOfWhatItSaw: a read that sees a commit returns only after that commit's changes
// have been announced, so that a session never writes a message's state from a read before the updates the same
// commit queued for it (imaptest stress: "MODSEQ dropped" when a FETCH showed a flag change before its update).
func TestReadWaitsForTheAnnouncementOfWhatItSaw(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	announcing, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var released sync.WaitGroup
	released.Add(1)
	defer s.Subscribe(func(c Change) {
		if len(c.Appended) > 0 {
			once.Do(func() { close(announcing); <-release; released.Done() })
		}
	})()
	delivered := make(chan error, 1)
	go func() { _, err := s.Deliver(testMessage(1), []Copy{{AccountID: a.ID}}); delivered <- err }()
	<-announcing // committed; its announcement is parked
	read := make(chan MailboxSnapshot, 1)
	go func() {
		snap, err := s.MailboxSnapshot(inbox.ID, true)
		if err != nil {
			t.Error(err)
		}
		read <- snap
	}()
	early := false
	select {
	case snap := <-read:
		early = true
		read <- snap
	case <-time.After(100 * time.Millisecond): // a read that does not wait would have returned by now
	}
	close(release)
	released.Wait()
	if early {
		t.Error("a read returned while the commit it saw was still being announced")
	}
	if snap := <-read; !slices.Equal(snap.UIDs, []uint32{1}) {
		t.Errorf("read %v after the announcement", snap.UIDs)
	}
	if err := wait(t, delivered); err != nil {
		t.Fatal(err)
	}
}

// A write being prepared (a delivery parsing its message before it queues) holds bulk reads back as a queued one
// does, until it is done; the indexer does not take the store for quiet meanwhile.
func TestYieldToWritersWaitsForAWriteBeingPrepared(t *testing.T) {
	s := newTestStore(t)
	done := s.ExpectWrite()
	if waited := s.YieldToWriters(time.Millisecond); waited < time.Millisecond {
		t.Errorf("yield while a write is prepared waited %v, not its bound", waited)
	}
	if quiet := s.writesQuietFor(); quiet != 0 {
		t.Errorf("writes quiet for %v while one is prepared", quiet)
	}
	done()
	if waited := s.YieldToWriters(waitBound); waited != 0 {
		t.Errorf("yield after the write was done waited %v", waited)
	}
}

// TestYieldToWritersWaitsForACommit: a bulk read that yields while a delivery is being committed goes on once the
// commit is done, and one that yields with no write in progress does not wait. A write running alone (background
// work) is not waited for.
func TestYieldToWritersWaitsForACommit(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	if waited := s.YieldToWriters(waitBound); waited != 0 {
		t.Fatalf("yield with no write in progress waited %v", waited)
	}
	gate := gateNextCommit(s)
	delivered := make(chan error, 1)
	go func() { _, err := s.Deliver(testMessage(0), []Copy{{AccountID: a.ID}}); delivered <- err }()
	<-gate.parked
	if waited := s.YieldToWriters(time.Millisecond); waited < time.Millisecond {
		t.Errorf("yield during a commit waited %v, not its bound", waited)
	}
	before := commitCount(s)
	yielded := make(chan uint64, 1)
	go func() {
		s.YieldToWriters(waitBound)
		yielded <- commitCount(s)
	}()
	gate.release(nil)
	if err := wait(t, delivered); err != nil {
		t.Fatal(err)
	}
	select {
	case after := <-yielded:
		if after <= before {
			t.Errorf("the yield returned before the delivery's commit (commits %d, then %d)", before, after)
		}
	case <-time.After(waitBound):
		t.Fatal("the yield never returned")
	}

	alone := gateNextCommit(s)
	done := make(chan error, 1)
	go func() { done <- s.updateAlone(func(*bolt.Tx, *changes) error { return nil }) }()
	<-alone.parked
	if waited := s.YieldToWriters(waitBound); waited != 0 {
		t.Errorf("yield waited %v for a background write", waited)
	}
	alone.release(nil)
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
}

// TestIndexBatchSharesTheDeliveriesCommit: an index batch queued among deliveries rides in their transaction
// instead of a commit of its own, which every delivery queued behind it would wait for on top of its own.
func TestIndexBatchSharesTheDeliveriesCommit(t *testing.T) {
	s := newTestStoreWith(t, Options{NoSync: true, NoIndexer: true})
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	for i := range 3 {
		if _, err := s.Deliver(testMessage(i), []Copy{{AccountID: a.ID}}); err != nil {
			t.Fatal(err)
		}
	}
	gate := gateNextCommit(s)
	deliver := func(n int) func() error {
		return func() error { _, err := s.Deliver(testMessage(n), []Copy{{AccountID: a.ID}}); return err }
	}
	first := make(chan error, 1)
	go func() { first <- deliver(3)() }()
	before := commitCount(s)
	dones := []<-chan error{first, gate.start(t, s, 1, deliver(4))}
	dones = append(dones, gate.start(t, s, 2, func() error { _, err := s.indexBatch(inbox.ID); return err }))
	dones = append(dones, gate.start(t, s, 3, deliver(5)))
	gate.release(nil)
	for _, done := range dones {
		if err := wait(t, done); err != nil {
			t.Fatal(err)
		}
	}
	if commits := commitCount(s) - before; commits != 2 {
		t.Errorf("the gated delivery, then two deliveries and an index batch queued together took %d commits, want 2", commits)
	}
	if st, err := s.view2IndexState(inbox.ID); err != nil || st.IndexedUID != 3 {
		t.Errorf("index state %+v (%v): want the 3 messages stored before the batch's read indexed", st, err)
	}
}

// view2IndexState reads the mailbox's index state.
func (s *Store) view2IndexState(mailboxID uint64) (st indexState, err error) {
	err = s.view(func(tx *bolt.Tx) error { st, err = getIndexState(tx, mailboxID); return err })
	return st, err
}

// queued is how many callers wait in the commit queue.
func queued(s *Store) int {
	s.queue.mu.Lock()
	defer s.queue.mu.Unlock()
	return len(s.queue.pending)
}

// TestIdleLeaderGathersPreparedWrites: a delivery that finds the commit loop idle while others are being prepared
// waits for them to queue, and they share its commit; one prepared and then dropped (refused after its parse) ends
// the wait like one that queued.
func TestIdleLeaderGathersPreparedWrites(t *testing.T) {
	s := newTestStoreWith(t, Options{NoSync: true, NoIndexer: true})
	a := mustAccount(t, s, "an@example.gov.vn")
	s.queue.lastCommit.Store(int64(time.Hour))
	s.queue.maxGather = waitBound / 2 // only the prepared writes end the wait in this test
	deliver := func(n int, p *PreparedWrite) <-chan error {
		done := make(chan error, 1)
		go func() {
			defer p.Done()
			_, err := s.DeliverMessage(Delivery{Message: testMessage(n), Copies: []Copy{{AccountID: a.ID}}, Prepared: p})
			done <- err
		}()
		return done
	}
	first, second, refused := s.PrepareWrite(), s.PrepareWrite(), s.PrepareWrite()
	before := commitCount(s)
	firstDone := deliver(1, first)
	eventually(t, "the first delivery to queue", func() bool { return queued(s) == 1 })
	secondDone := deliver(2, second)
	eventually(t, "the second delivery to queue", func() bool { return queued(s) == 2 })
	if commitCount(s) != before {
		t.Fatal("the leader committed while a write was still being prepared")
	}
	refused.Done()
	for _, done := range []<-chan error{firstDone, secondDone} {
		if err := wait(t, done); err != nil {
			t.Fatal(err)
		}
	}
	if commits := commitCount(s) - before; commits != 1 {
		t.Errorf("two deliveries of one wave took %d commits, want 1", commits)
	}
	if n := mustMailbox(t, s, a, "INBOX").Messages; n != 2 {
		t.Errorf("INBOX holds %d messages, want 2", n)
	}
}

// TestIdleLeaderWaitIsBounded: a prepared write that never queues holds a leader for at most the bound.
func TestIdleLeaderWaitIsBounded(t *testing.T) {
	s := newTestStoreWith(t, Options{NoSync: true, NoIndexer: true})
	a := mustAccount(t, s, "an@example.gov.vn")
	s.queue.lastCommit.Store(int64(time.Hour))
	s.queue.maxGather = 20 * time.Millisecond
	stuck := s.PrepareWrite()
	defer stuck.Done()
	done := make(chan error, 1)
	go func() { _, err := s.Deliver(testMessage(1), []Copy{{AccountID: a.ID}}); done <- err }()
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
}
