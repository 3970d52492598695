package store

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"mailserver/internal/message"
)

// headerTestMessage is message n, with a header that gets a copy.
func headerTestMessage(n int) NewMessage {
	raw := fmt.Sprintf("Received: from mx1.example.gov.vn\r\nFrom: a@example.gov.vn\r\nSubject: Báo cáo %d\r\n\r\nNội dung %d\r\n", n, n)
	return NewMessage{Body: []byte(raw), Meta: message.Parse([]byte(raw)).Meta(), InternalDate: time.Unix(1700000000, 0)}
}

// appendHeaderTestMessages appends messages first to first+n-1 to the mailbox in one transaction.
func appendHeaderTestMessages(t *testing.T, s *Store, mailboxID uint64, first, n int) {
	t.Helper()
	var batch []AppendMessage
	for i := range n {
		batch = append(batch, AppendMessage{NewMessage: headerTestMessage(first + i)})
	}
	if _, err := s.AppendMany(mailboxID, batch, nil); err != nil {
		t.Fatal(err)
	}
}

// copierTestStore opens the store at path without the background indexer, whose rounds the test runs itself, and
// closes it when the test ends (the one reopenWithoutHeaderCopies made, if it did).
func copierTestStore(t *testing.T, path string) **Store {
	t.Helper()
	s, err := Open(path, Options{NoSync: true, NoIndexer: true})
	if err != nil {
		t.Fatal(err)
	}
	ps := &s
	t.Cleanup(func() { (*ps).Close() })
	return ps
}

// reopenWithoutHeaderCopies makes the store at path one written before the copier, with no copies and no
// watermark, and opens it again.
func reopenWithoutHeaderCopies(t *testing.T, ps **Store, path string) {
	t.Helper()
	update(t, *ps, func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketMeta).Delete(keyHeaderCopies); err != nil {
			return err
		}
		return tx.DeleteBucket(bucketHeaders)
	})
	if err := (*ps).Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{NoSync: true, NoIndexer: true})
	if err != nil {
		t.Fatal(err)
	}
	*ps = s
}

// headerCopyCount is how many header copies the store holds.
func headerCopyCount(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	_ = s.view(func(tx *bolt.Tx) error { n = tx.Bucket(bucketHeaders).Stats().KeyN; return nil })
	return n
}

// TestHeaderCopierBackfillsAnOldStore: a store whose bodies have no copies and which has no watermark, as one
// written before the copier, gets a copy for every body within a bounded number of the background indexer's
// rounds, found by the rescan it starts with, oldest body first, each round a bounded batch.
func TestHeaderCopierBackfillsAnOldStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.db")
	ps := copierTestStore(t, path)
	inbox := mustMailbox(t, *ps, mustAccount(t, *ps, "an@example.gov.vn"), "INBOX")
	const bodies = 2*copyBatchBodies + 10
	appendHeaderTestMessages(t, *ps, inbox.ID, 0, bodies)
	copyHeadersNow(t, *ps)
	reopenWithoutHeaderCopies(t, ps, path)
	s := *ps

	if _, err := s.IndexPending(); err != nil { // so that the indexer's rounds are all the copier's
		t.Fatal(err)
	}
	ix := newIndexer(s, time.Hour)
	if err := ix.rescan(); err != nil {
		t.Fatal(err)
	}
	const maxRounds = bodies/copyBatchBodies + 2
	for round := 0; ; round++ {
		if round == maxRounds {
			t.Fatalf("%d header copies after %d rounds, want %d", headerCopyCount(t, s), round, bodies)
		}
		if n := headerCopyCount(t, s); n > round*copyBatchBodies {
			t.Fatalf("%d header copies after %d rounds: more than a batch each", n, round)
		}
		if worked, _ := ix.step(); !worked {
			break
		}
	}
	if n := headerCopyCount(t, s); n != bodies {
		t.Errorf("%d header copies once the copier is done, want %d", n, bodies)
	}
	if got := shortHeaders(t, s, inbox.ID)[bodies]; got != fmt.Sprintf("From: a@example.gov.vn\r\nSubject: Báo cáo %d\r\n\r\n", bodies-1) {
		t.Errorf("short header of the last message: %q", got)
	}
	if err := s.Check(); err != nil {
		t.Errorf("after the backfill: %v", err)
	}
}

// TestHeaderCopierFollowsAppends: the background indexer, told of a burst of appends, copies their headers in
// batches once the burst holds a batch, finding the bodies from the appended entries, and nothing is left pending
// or remembered after.
func TestHeaderCopierFollowsAppends(t *testing.T) {
	s := *copierTestStore(t, filepath.Join(t.TempDir(), "mail.db"))
	inbox := mustMailbox(t, s, mustAccount(t, s, "an@example.gov.vn"), "INBOX")
	ix := newIndexer(s, time.Hour)
	if err := ix.rescan(); err != nil {
		t.Fatal(err)
	}
	defer s.Subscribe(ix.observe)()
	appendHeaderTestMessages(t, s, inbox.ID, 0, copyBatchBodies/2)
	if _, _, _, _, headers, _ := ix.pick(); headers {
		t.Errorf("header copies due after half a batch of appends, while writes are not quiet and not an hour old")
	}
	appendHeaderTestMessages(t, s, inbox.ID, copyBatchBodies/2, copyBatchBodies/2)
	for round := 0; round < 4; round++ {
		ix.step()
	}
	if n := headerCopyCount(t, s); n != copyBatchBodies {
		t.Errorf("%d header copies after a batch of appends, want %d", n, copyBatchBodies)
	}
	if len(ix.known) != 0 || len(ix.hints) != 0 {
		t.Errorf("the indexer still holds %d body ids and %d hints of bodies the copier is done with", len(ix.known), len(ix.hints))
	}
	_ = s.view(func(tx *bolt.Tx) error {
		if headerCopiesPending(tx) {
			t.Errorf("the watermark %d is short of the last body %d", headerCopiesUpTo(tx), tx.Bucket(bucketBodies).Sequence())
		}
		return nil
	})
	if err := s.Check(); err != nil {
		t.Error(err)
	}
}

// TestHeaderCopierSkipsReleasedBodies: a body released before the copier reaches it, and one released between
// the copier's read and its write, get no copy; the same bytes stored again after the release get theirs under
// the new number; Check stays clean. Alike whether the copier found the bodies by hashing them or from the entries
// of their messages, read before they were expunged.
func TestHeaderCopierSkipsReleasedBodies(t *testing.T) {
	for _, fromEntries := range []bool{false, true} {
		t.Run(fmt.Sprintf("fromEntries=%v", fromEntries), func(t *testing.T) { testHeaderCopierSkipsReleased(t, fromEntries) })
	}
}

func testHeaderCopierSkipsReleased(t *testing.T, fromEntries bool) {
	s := *copierTestStore(t, filepath.Join(t.TempDir(), "mail.db"))
	inbox := mustMailbox(t, s, mustAccount(t, s, "an@example.gov.vn"), "INBOX")
	appendHeaderTestMessages(t, s, inbox.ID, 0, 3) // uids 1-3, body seqs 1-3
	known := knownBodies{}
	if fromEntries {
		_ = s.view(func(tx *bolt.Tx) error {
			known.learn(tx, []appendHint{{mailboxID: inbox.ID, uids: []uint32{1, 2, 3}}})
			return nil
		})
		if len(known) != 3 {
			t.Fatalf("the entries told %v", known)
		}
	}
	expunge := func(uids ...uint32) {
		t.Helper()
		if _, err := s.SetFlags(inbox.ID, uids, FlagsAdd, []string{`\Deleted`}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Expunge(inbox.ID, uids, nil); err != nil {
			t.Fatal(err)
		}
	}
	expunge(1) // before the copier: its chunks wait for the sweep, which has not run
	b, err := s.readHeaderCopyBatch(known, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.jobs) != 2 || b.jobs[0].seq != 2 || b.jobs[1].seq != 3 {
		t.Fatalf("the batch holds %+v, want the bodies 2 and 3", b.jobs)
	}
	expunge(2) // between the read and the write
	if applied, err := s.writeHeaderCopyBatch(b); err != nil || !applied {
		t.Fatalf("write the batch: applied %v, %v", applied, err)
	}
	_ = s.view(func(tx *bolt.Tx) error {
		headers := tx.Bucket(bucketHeaders)
		for seq, want := range map[uint64]bool{1: false, 2: false, 3: true} {
			if got := headers.Get(u64key(seq)) != nil; got != want {
				t.Errorf("body %d: has a header copy %v, want %v", seq, got, want)
			}
		}
		return nil
	})
	if err := s.Check(); err != nil {
		t.Errorf("after copying around released bodies: %v", err)
	}

	// The bytes of body 2 stored again before the sweep took its chunks: a new body 4, which gets the copy.
	if _, err := s.Append(inbox.ID, headerTestMessage(1), nil, nil); err != nil {
		t.Fatal(err)
	}
	copyHeadersNow(t, s)
	if got := shortHeaders(t, s, inbox.ID); fmt.Sprint(got) != fmt.Sprint(map[uint32]string{
		3: "From: a@example.gov.vn\r\nSubject: Báo cáo 2\r\n\r\n", 4: "From: a@example.gov.vn\r\nSubject: Báo cáo 1\r\n\r\n"}) {
		t.Errorf("short headers %v", got)
	}
	sweepNow(t, s)
	if err := s.Check(); err != nil {
		t.Errorf("after the sweep: %v", err)
	}
}
