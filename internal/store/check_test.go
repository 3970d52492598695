package store

import (
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"mailserver/internal/message"
)

// TestCheckFindsViolations corrupts a store on purpose and expects Check to name each problem.
func TestCheckFindsViolations(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "mail.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AddDomain("example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	a, err := s.AddAccount(Account{Address: "an@example.gov.vn"})
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := s.Mailbox(a.ID, "INBOX")
	if _, err := s.Append(inbox.ID, testMessage(1), nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("healthy store: %v", err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		mb, _ := getMailboxByID(tx, inbox.ID)
		mb.Messages, mb.UIDNext = 7, 1
		if err := putMailbox(tx, mb); err != nil {
			return err
		}
		if _, err := tx.Bucket(bucketMessages).CreateBucket(u64key(999)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketUnitMembers).Put([]byte("ghost\x00nobody@example.gov.vn"), nil); err != nil {
			return err
		}
		if err := tx.Bucket(bucketGrants).Put(append(u64key(1), u64key(2)...), []byte{1}); err != nil {
			return err
		}
		return tx.Bucket(bucketChunks).Put(chunkKey(1<<40, 0), []byte("orphan"))
	})
	if err != nil {
		t.Fatal(err)
	}
	problems := s.Check()
	if problems == nil {
		t.Fatal("Check found nothing in a corrupted store")
	}
	for _, want := range []string{"UIDNEXT 1 not above highest UID 1", "counters (messages 7", "orphan", "its mailbox no longer exists",
		"unit index: nobody@example.gov.vn listed in ghost", "the grantee index disagrees"} {
		if !strings.Contains(problems.Error(), want) {
			t.Errorf("Check output lacks %q:\n%v", want, problems)
		}
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		var e encoder
		e.uint(SchemaVersion + 1)
		return tx.Bucket(bucketMeta).Put(keySchema, e.b)
	})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{NoSync: true}); err == nil || !strings.Contains(err.Error(), "newer than this program") {
		t.Fatalf("open of a newer schema: %v", err)
	}
}

// TestCheckFindsSenderIndexProblems drops and invents alias-target and group-sender index entries.
func TestCheckFindsSenderIndexProblems(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "mail.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustAccount(t, s, "an@example.gov.vn")
	if _, err := s.AddAlias("a@example.gov.vn", "an@example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddGroup(Group{Address: "g@example.gov.vn", Senders: []string{"an@example.gov.vn"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("healthy store: %v", err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketAliasTargets).Delete(indexKey("an@example.gov.vn", "a@example.gov.vn")); err != nil {
			return err
		}
		if err := tx.Bucket(bucketAliasTargets).Put(indexKey("an@example.gov.vn", "ghost@example.gov.vn"), nil); err != nil {
			return err
		}
		if err := tx.Bucket(bucketGroupSenders).Delete(indexKey("an@example.gov.vn", "g@example.gov.vn")); err != nil {
			return err
		}
		return tx.Bucket(bucketGroupSenders).Put(indexKey("x@example.gov.vn", "g@example.gov.vn"), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	problems := s.Check()
	if problems == nil {
		t.Fatal("Check found nothing in corrupted sender indexes")
	}
	for _, want := range []string{"alias a@example.gov.vn: missing from the alias index",
		"alias index: ghost@example.gov.vn listed", "group g@example.gov.vn: sender an@example.gov.vn missing",
		"senders index: x@example.gov.vn listed as a sender of g@example.gov.vn"} {
		if !strings.Contains(problems.Error(), want) {
			t.Errorf("Check output lacks %q:\n%v", want, problems)
		}
	}
}

// A damaged file is reported, not crashed on: a queue record with a wrong body size fails to read and Check names
// it; a short index value is reported by Check.
func TestDamagedRecordsAreReported(t *testing.T) {
	s := newTestStore(t)
	mustAccount(t, s, "an@example.gov.vn")
	msg := testMessage(1)
	if _, err := s.DeliverMessage(Delivery{Message: msg,
		Outbound: &Outbound{ID: "q1", From: "an@example.gov.vn", Recipients: []string{"x@remote.example"}}}); err != nil {
		t.Fatal(err)
	}
	setBodySize := func(n int64) {
		t.Helper()
		if err := s.db.Update(func(tx *bolt.Tx) error {
			m, err := getQueued(tx, "q1")
			if err != nil {
				return err
			}
			m.BodySize = n
			return tx.Bucket(bucketQueue).Put([]byte("q1"), encodeQueued(m))
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, size := range []int64{-1 << 40, 1 << 50} {
		setBodySize(size)
		if _, err := s.QueuedBody("q1"); err == nil {
			t.Errorf("QueuedBody with a body size of %d: no error", size)
		}
		if err := s.Check(); err == nil || !strings.Contains(err.Error(), "queue q1: records a body of") {
			t.Errorf("Check with a body size of %d: %v", size, err)
		}
	}
	setBodySize(int64(len(msg.Body)))

	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMboxIDs).Put(u64key(999), []byte{1, 2}) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err == nil || !strings.Contains(err.Error(), "points at a missing mailbox") {
		t.Errorf("Check with a short index value: %v", err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMboxIDs).Delete(u64key(999)) }); err != nil {
		t.Fatal(err)
	}
}

// TestEntriesRecordTheirBodyPlace checks that appended, delivered and copied entries record where their body is
// stored, and that Check names an entry whose record disagrees with the body record.
func TestEntriesRecordTheirBodyPlace(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "mail.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	raw := "From: a@example.gov.vn\r\nSubject: x\r\n\r\nbody\r\n"
	msg := NewMessage{Body: []byte(raw), Meta: message.Parse([]byte(raw)).Meta()}
	if _, err := s.Append(inbox.ID, msg, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeliverMessage(Delivery{Message: msg, Copies: []Copy{{AccountID: a.ID}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Copy(inbox.ID, []uint32{1}, inbox.ID, nil); err != nil {
		t.Fatal(err)
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		b, _ := messagesBucket(tx, inbox.ID)
		return b.ForEach(func(k, v []byte) error {
			e, err := decodeEntry(v)
			if err != nil {
				return err
			}
			if v[0] != 2 || e.place.seq != 1 || !e.place.header || e.place.headerEnd != int64(strings.Index(raw, "\r\n\r\n")+4) {
				t.Errorf("uid %d: version %d, place %+v", uidOf(k), v[0], e.place)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("healthy store: %v", err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b, _ := messagesBucket(tx, inbox.ID)
		e, err := decodeEntry(b.Get(u32key(2)))
		if err != nil {
			return err
		}
		e.place.seq = 7
		return b.Put(u32key(2), encodeEntry(e))
	})
	if err != nil {
		t.Fatal(err)
	}
	if problems := s.Check(); problems == nil || !strings.Contains(problems.Error(), "uid 2: body") ||
		!strings.Contains(problems.Error(), "recorded at sequence 7") {
		t.Errorf("Check output lacks the wrong sequence: %v", problems)
	}
}
