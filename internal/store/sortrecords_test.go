package store

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"mailserver/internal/message"
)

// sortTestMessage is a parsed message, as delivery stores it.
func sortTestMessage(n int) NewMessage {
	raw := fmt.Appendf(nil, "From: =?utf-8?q?Tr=E1=BA=A7n_B=C3=ACnh?= <binh%d@example.gov.vn>\r\nTo: an@example.gov.vn\r\n"+
		"Subject: Re: =?utf-8?q?=C4=90=E1=BB=81_ngh=E1=BB=8B?= %d\r\nDate: Mon, 2 Mar 2026 08:00:00 +0700\r\n"+
		"Message-ID: <m%d@example.gov.vn>\r\nReferences: <root@example.gov.vn>\r\n\r\nNội dung %d\r\n", n, n, n, n)
	p := message.Parse(raw)
	return NewMessage{Body: raw, Meta: p.Meta(), Text: p.SearchText(), InternalDate: time.Unix(1700000000, 0)}
}

// sortRecords reads the sort records of the mailbox's messages, by UID.
func sortRecords(t *testing.T, s *Store, mailboxID uint64) map[uint32][]byte {
	t.Helper()
	uids, err := s.UIDs(mailboxID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint32][]byte{}
	err = s.EachSortRecord(mailboxID, uids, func(it SortItem, rec []byte) error {
		out[it.UID] = bytes.Clone(rec)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// oldStore writes a store with n messages in INBOX and returns its path, the INBOX id and the sort records, after
// taking the sort records away as a store from before schema 3 lacks them.
func oldStore(t *testing.T, n int) (path string, inboxID uint64, want map[uint32][]byte) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "mail.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	an := mustAccount(t, s, "an@example.gov.vn")
	for i := range n {
		if _, err := s.Deliver(sortTestMessage(i), []Copy{{AccountID: an.ID}}); err != nil {
			t.Fatal(err)
		}
	}
	inboxID = mustMailbox(t, s, an, "INBOX").ID
	want = sortRecords(t, s, inboxID)
	for uid, rec := range want {
		if r, err := message.DecodeSortRecord(rec); err != nil || r.Subject.Key != fmt.Sprintf("DE NGHI %d", uid-1) || !r.IsReply {
			t.Fatalf("uid %d: sort record %+v, %v", uid, r, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		var e encoder
		e.uint(2)
		if err := tx.Bucket(bucketMeta).Put(keySchema, e.b); err != nil {
			return err
		}
		return tx.DeleteBucket(bucketSorts)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path, inboxID, want
}

func TestSortRecordsBackfilledAtOpen(t *testing.T) {
	path, inboxID, want := oldStore(t, 5)
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	assertSortRecords(t, s, inboxID, want)
}

// A backfill stopped between two of its transactions goes on at the next open.
func TestSortRecordsBackfillResumes(t *testing.T) {
	path, inboxID, want := oldStore(t, 5)
	db, err := bolt.Open(path, 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	half := &Store{core: &core{db: db, now: time.Now, pins: map[BodyID]int{}}}
	if after, pending, err := half.startSortBackfill(); err != nil || !pending || after != nil {
		t.Fatalf("startSortBackfill = %x, %v, %v; want a backfill from the start", after, pending, err)
	}
	if n, last, err := half.backfillSortBatch(nil, 2); err != nil || n != 2 || last == nil {
		t.Fatalf("backfillSortBatch = %d, %x, %v", n, last, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	assertSortRecords(t, s, inboxID, want)
}

func assertSortRecords(t *testing.T, s *Store, inboxID uint64, want map[uint32][]byte) {
	t.Helper()
	got := sortRecords(t, s, inboxID)
	if len(got) != len(want) {
		t.Fatalf("%d sort records after the backfill, want %d", len(got), len(want))
	}
	for uid, rec := range want {
		if !bytes.Equal(got[uid], rec) {
			t.Errorf("uid %d: sort record after the backfill differs from the one written at delivery", uid)
		}
	}
	_ = s.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta).Get(keySortBackfill) != nil {
			t.Error("the backfill mark is still there")
		}
		return nil
	})
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// The sort record goes with the body's last reference.
func TestSortRecordFreedWithItsBody(t *testing.T) {
	s := newTestStore(t)
	an := mustAccount(t, s, "an@example.gov.vn")
	if _, err := s.Deliver(sortTestMessage(1), []Copy{{AccountID: an.ID}, {AccountID: an.ID}}); err != nil {
		t.Fatal(err)
	}
	count := func() (n int) {
		_ = s.view(func(tx *bolt.Tx) error { n = tx.Bucket(bucketSorts).Stats().KeyN; return nil })
		return n
	}
	if n := count(); n != 1 {
		t.Fatalf("%d sort records for one body, want 1", n)
	}
	inbox := mustMailbox(t, s, an, "INBOX")
	for uid := uint32(1); uid <= 2; uid++ {
		if _, err := s.SetFlags(inbox.ID, []uint32{uid}, FlagsAdd, []string{`\Deleted`}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Expunge(inbox.ID, []uint32{uid}, nil); err != nil {
			t.Fatal(err)
		}
		if n, want := count(), 2-int(uid); n != want {
			t.Errorf("after expunging UID %d: %d sort records, want %d", uid, n, want)
		}
	}
}

// Check finds a body without its sort record and a sort record without its body.
func TestCheckFindsSortRecordDamage(t *testing.T) {
	s := newTestStore(t)
	an := mustAccount(t, s, "an@example.gov.vn")
	if _, err := s.Deliver(sortTestMessage(1), []Copy{{AccountID: an.ID}}); err != nil {
		t.Fatal(err)
	}
	moveSortRecord(t, s, 1, 99)
	err := s.Check()
	if err == nil || !strings.Contains(err.Error(), "no sort record") || !strings.Contains(err.Error(), "sort record 0000000000000063: orphan") {
		t.Fatalf("Check = %v; want the missing and the orphan sort record", err)
	}
	moveSortRecord(t, s, 99, 1) // repaired, so that the test's own final check passes
}

// moveSortRecord moves the sort record under body sequence number from to to.
func moveSortRecord(t *testing.T, s *Store, from, to uint64) {
	t.Helper()
	err := s.db.Update(func(tx *bolt.Tx) error {
		sorts := tx.Bucket(bucketSorts)
		rec := bytes.Clone(sorts.Get(u64key(from)))
		if err := sorts.Delete(u64key(from)); err != nil {
			return err
		}
		return sorts.Put(u64key(to), rec)
	})
	if err != nil {
		t.Fatal(err)
	}
}
