package store

import (
	"bytes"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// modSeqStep checks that a change raised the mailbox's HIGHESTMODSEQ by exactly want and returns the new value.
func modSeqStep(t *testing.T, s *Store, id, before, want uint64, what string) uint64 {
	t.Helper()
	mb, err := s.MailboxByID(id)
	if err != nil {
		t.Fatal(err)
	}
	if mb.HighestModSeq != before+want {
		t.Fatalf("%s: HIGHESTMODSEQ %d → %d, want +%d", what, before, mb.HighestModSeq, want)
	}
	return mb.HighestModSeq
}

func messageModSeq(t *testing.T, s *Store, mailboxID uint64, uid uint32) uint64 {
	t.Helper()
	msgs, err := s.Messages(mailboxID, []uint32{uid}, FetchOptions{})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("uid %d: %v %v", uid, msgs, err)
	}
	return msgs[0].ModSeq
}

func TestEveryChangeGetsANewModSeq(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	other, err := s.CreateMailbox(a.ID, "Lưu trữ", "")
	if err != nil {
		t.Fatal(err)
	}
	if inbox.HighestModSeq != 1 || other.HighestModSeq != 1 {
		t.Fatalf("new mailboxes start at HIGHESTMODSEQ %d, %d; want 1", inbox.HighestModSeq, other.HighestModSeq)
	}
	hms, otherHMS := uint64(1), uint64(1)

	for n := range 4 {
		p, err := s.Append(inbox.ID, testMessage(n), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		hms = modSeqStep(t, s, inbox.ID, hms, 1, "append")
		if got := messageModSeq(t, s, inbox.ID, p.UID); got != hms {
			t.Fatalf("appended uid %d has modseq %d, want %d", p.UID, got, hms)
		}
	}
	if _, err := s.Deliver(testMessage(9), []Copy{{AccountID: a.ID}}); err != nil {
		t.Fatal(err)
	}
	hms = modSeqStep(t, s, inbox.ID, hms, 1, "deliver")

	if _, err := s.SetFlags(inbox.ID, []uint32{1, 2}, FlagsAdd, []string{`\Seen`}, nil); err != nil {
		t.Fatal(err)
	}
	hms = modSeqStep(t, s, inbox.ID, hms, 2, "flag change of two messages")
	if _, err := s.SetFlags(inbox.ID, []uint32{1}, FlagsAdd, []string{`\Seen`}, nil); err != nil {
		t.Fatal(err)
	}
	hms = modSeqStep(t, s, inbox.ID, hms, 0, "a STORE that changes nothing")

	if _, err := s.Copy(inbox.ID, []uint32{1}, other.ID, nil); err != nil {
		t.Fatal(err)
	}
	hms = modSeqStep(t, s, inbox.ID, hms, 0, "copy out")
	otherHMS = modSeqStep(t, s, other.ID, otherHMS, 1, "copy in")

	beforeMove := hms
	if _, err := s.Move(inbox.ID, []uint32{2, 3}, other.ID, nil); err != nil {
		t.Fatal(err)
	}
	hms = modSeqStep(t, s, inbox.ID, hms, 2, "move out")
	otherHMS = modSeqStep(t, s, other.ID, otherHMS, 2, "move in")

	if _, err := s.SetFlags(inbox.ID, []uint32{4}, FlagsAdd, []string{`\Deleted`}, nil); err != nil {
		t.Fatal(err)
	}
	hms = modSeqStep(t, s, inbox.ID, hms, 1, "flag \\Deleted")
	beforeExpunge := hms
	if _, err := s.Expunge(inbox.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	hms = modSeqStep(t, s, inbox.ID, hms, 1, "expunge")

	for _, c := range []struct {
		since    uint64
		want     []uint32
		complete bool
	}{{0, []uint32{2, 3, 4}, true}, {beforeMove, []uint32{2, 3, 4}, true}, {beforeExpunge, []uint32{4}, true}, {hms, nil, true}} {
		got, complete, err := s.Expunged(inbox.ID, c.since)
		if err != nil || !slices.Equal(got, c.want) || complete != c.complete {
			t.Errorf("Expunged since %d = %v, %v, %v; want %v, %v", c.since, got, complete, err, c.want, c.complete)
		}
	}
}

func TestExpungeLogIsBounded(t *testing.T) {
	defer func(saved uint32) { maxExpungeLog = saved }(maxExpungeLog)
	maxExpungeLog = 8
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	for n := range 10 {
		p, err := s.Append(inbox.ID, testMessage(n), []string{`\Deleted`}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Expunge(inbox.ID, []uint32{p.UID}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// The 9th expunge went over 8 and dropped the two oldest entries (uids 1, 2): 8 are left after the 10th.
	mb := mustMailbox(t, s, a, "INBOX")
	if got, complete, _ := s.Expunged(inbox.ID, 0); complete || !slices.Equal(got, []uint32{3, 4, 5, 6, 7, 8, 9, 10}) {
		t.Errorf("Expunged since 0 = %v complete %v; want uids 3-10, incomplete", got, complete)
	}
	if got, complete, _ := s.Expunged(inbox.ID, mb.ExpungeLogFloor); !complete || len(got) != 8 {
		t.Errorf("Expunged since the floor %d = %v complete %v; want 8 uids, complete", mb.ExpungeLogFloor, got, complete)
	}
}

func TestDeletingAMailboxDropsItsExpungeLog(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	mb, err := s.CreateMailbox(a.ID, "Tạm", "")
	if err != nil {
		t.Fatal(err)
	}
	for n := range 3 {
		if _, err := s.Append(mb.ID, testMessage(n), []string{`\Deleted`}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Expunge(mb.ID, []uint32{1}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMailbox(a.ID, "Tạm"); err != nil {
		t.Fatal(err)
	}
	if n := expungeLogEntries(t, s, mb.ID); n != 0 {
		t.Errorf("%d expunge log entries left of a deleted mailbox", n)
	}
}

func TestNewUIDValiditiesDropTheExpungeLogs(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	if _, err := s.Append(inbox.ID, testMessage(1), []string{`\Deleted`}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Expunge(inbox.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.NewUIDValidities(); err != nil {
		t.Fatal(err)
	}
	after := mustMailbox(t, s, a, "INBOX")
	if got, complete, _ := s.Expunged(inbox.ID, 0); len(got) != 0 || complete {
		t.Errorf("after a restore, Expunged since 0 = %v complete %v; want nothing, incomplete", got, complete)
	}
	if after.ExpungeLogFloor != after.HighestModSeq || expungeLogEntries(t, s, inbox.ID) != 0 {
		t.Errorf("floor %d, HIGHESTMODSEQ %d, %d entries", after.ExpungeLogFloor, after.HighestModSeq, expungeLogEntries(t, s, inbox.ID))
	}
}

func expungeLogEntries(t *testing.T, s *Store, mailboxID uint64) int {
	t.Helper()
	n := 0
	err := s.view(func(tx *bolt.Tx) error {
		prefix := u64key(mailboxID)
		c := tx.Bucket(bucketExpunged).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSetFlagsUnchangedSinceLeavesNewerMessages(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	for n := range 3 {
		if _, err := s.Append(inbox.ID, testMessage(n), nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	since := mustMailbox(t, s, a, "INBOX").HighestModSeq
	if _, err := s.SetFlags(inbox.ID, []uint32{2}, FlagsAdd, []string{`\Seen`}, nil); err != nil {
		t.Fatal(err)
	}
	changed, modified, err := s.SetFlagsUnchangedSince(inbox.ID, []uint32{1, 2, 3}, FlagsAdd, []string{`\Flagged`}, since, nil)
	if err != nil || !slices.Equal(modified, []uint32{2}) || len(changed) != 2 || changed[0].UID != 1 || changed[1].UID != 3 {
		t.Fatalf("SetFlagsUnchangedSince(%d) = %+v, modified %v, %v; want 1 and 3 changed, 2 modified", since, changed, modified, err)
	}
	msgs, err := s.Messages(inbox.ID, []uint32{2}, FetchOptions{})
	if err != nil || !slices.Equal(msgs[0].Flags, []string{`\Seen`}) {
		t.Errorf("message 2 after a conditional STORE that had to leave it: %+v, %v", msgs, err)
	}
}
