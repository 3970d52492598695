package store

import (
	"fmt"
	bolt "go.etcd.io/bbolt"
	"testing"
	"time"
)

func importMessage(folder string, n int, flags ...string) ImportMessage {
	msg := testMessage(n)
	msg.InternalDate = time.Date(2019, 3, 4, 5, 6, 7, 0, time.FixedZone("", 7*3600))
	return ImportMessage{Folder: folder, Message: msg, Flags: flags, Key: fmt.Appendf(nil, "<%d@example.gov.vn>", n)}
}

func outcomes(rs []ImportResult) []ImportOutcome {
	out := make([]ImportOutcome, len(rs))
	for i, r := range rs {
		out[i] = r.Outcome
	}
	return out
}

func TestImportBatchCreatesFoldersKeepsFlagsAndDate(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an.nv@example.gov.vn")
	batch := []ImportMessage{
		importMessage("Lưu trữ/2019/Công văn", 1, `\Seen`, "$Label1"),
		importMessage("INBOX", 2),
		importMessage("Lưu trữ/2019/Công văn", 3, `\Flagged`),
	}
	rs, err := s.ImportBatch(a.ID, batch, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomes(rs); fmt.Sprint(got) != fmt.Sprint([]ImportOutcome{Imported, Imported, Imported}) {
		t.Fatalf("outcomes %v", got)
	}
	parent := mustMailbox(t, s, a, "Lưu trữ/2019")
	if parent.NoSelect || parent.Messages != 0 {
		t.Errorf("parent folder %+v", parent)
	}
	mb := mustMailbox(t, s, a, "Lưu trữ/2019/Công văn")
	if mb.Messages != 2 || mb.Unseen != 1 {
		t.Errorf("folder counters %+v", mb)
	}
	msgs, err := s.Messages(mb.ID, []uint32{1, 2}, FetchOptions{})
	if err != nil || len(msgs) != 2 {
		t.Fatalf("messages %v %v", msgs, err)
	}
	if fmt.Sprint(msgs[0].Flags) != `[\Seen $Label1]` || fmt.Sprint(msgs[1].Flags) != `[\Flagged]` {
		t.Errorf("flags %v %v", msgs[0].Flags, msgs[1].Flags)
	}
	if !msgs[0].InternalDate.Equal(batch[0].Message.InternalDate) {
		t.Errorf("internal date %v, want %v", msgs[0].InternalDate, batch[0].Message.InternalDate)
	}
	acct, _ := s.AccountByID(a.ID)
	want := int64(len(batch[0].Message.Body) + len(batch[1].Message.Body) + len(batch[2].Message.Body))
	if acct.Used != want {
		t.Errorf("used %d, want %d", acct.Used, want)
	}
}

func TestImportBatchSkipsDuplicates(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an.nv@example.gov.vn")
	batch := []ImportMessage{importMessage("Archive", 1), importMessage("Archive", 2), importMessage("Archive", 1)}
	rs, err := s.ImportBatch(a.ID, batch, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(outcomes(rs)); got != fmt.Sprint([]ImportOutcome{Imported, Imported, Duplicate}) {
		t.Fatalf("first run %v", got)
	}
	again := []ImportMessage{importMessage("Archive", 1), importMessage("Archive", 2), importMessage("Other", 1)}
	rs, err = s.ImportBatch(a.ID, again, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(outcomes(rs)); got != fmt.Sprint([]ImportOutcome{Duplicate, Duplicate, Imported}) {
		t.Fatalf("second run %v", got)
	}
	// An expunged message is no longer there: importing it again brings it back.
	mb := mustMailbox(t, s, a, "Archive")
	if _, err := s.SetFlags(mb.ID, []uint32{1}, FlagsAdd, []string{`\Deleted`}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Expunge(mb.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	rs, err = s.ImportBatch(a.ID, again[:1], ImportOptions{})
	if err != nil || rs[0].Outcome != Imported {
		t.Fatalf("after expunge %v %v", rs, err)
	}
}

func TestImportBatchFailsOneMessageNotTheBatch(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an.nv@example.gov.vn")
	size := int64(len(importMessage("INBOX", 1).Message.Body))
	if _, err := s.UpdateAccount(a.Address, func(acct *Account) error { acct.Quota = size + size/2; return nil }); err != nil {
		t.Fatal(err)
	}
	batch := []ImportMessage{importMessage("INBOX", 1), importMessage("bad//name", 2), importMessage("INBOX", 3)}
	rs, err := s.ImportBatch(a.ID, batch, ImportOptions{EnforceQuota: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(outcomes(rs)); got != fmt.Sprint([]ImportOutcome{Imported, Failed, Failed}) {
		t.Fatalf("outcomes %v", rs)
	}
	if rs[1].Reason == "" || rs[2].Reason == "" {
		t.Errorf("failures without a reason: %+v", rs)
	}
	// Without enforcement the quota is not counted against an import.
	rs, err = s.ImportBatch(a.ID, batch[2:], ImportOptions{})
	if err != nil || rs[0].Outcome != Imported {
		t.Fatalf("without enforcement %v %v", rs, err)
	}
}

func TestDeleteMailboxDropsItsImportKeys(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an.nv@example.gov.vn")
	if _, err := s.ImportBatch(a.ID, []ImportMessage{importMessage("Archive", 1), importMessage("Archive", 2)}, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMailbox(a.ID, "Archive"); err != nil {
		t.Fatal(err)
	}
	err := s.view(func(tx *bolt.Tx) error {
		if n := tx.Bucket(bucketImportKeys).Stats().KeyN; n != 0 {
			t.Errorf("%d import keys left after the folder was deleted", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestImportMarksCommitWithTheirBatch(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an.nv@example.gov.vn")
	const src = "imap://an@old.example.gov.vn:993"
	opts := ImportOptions{Source: src, Marks: []SourceMark{{Folder: "INBOX", UIDValidity: 7, LastUID: 2}}}
	if _, err := s.ImportBatch(a.ID, []ImportMessage{importMessage("INBOX", 1), importMessage("INBOX", 2)}, opts); err != nil {
		t.Fatal(err)
	}
	// A batch that fails stores neither its messages nor its marks.
	bad := ImportOptions{Source: "bad\x00source", Marks: []SourceMark{{Folder: "INBOX", UIDValidity: 7, LastUID: 3}}}
	if _, err := s.ImportBatch(a.ID, []ImportMessage{importMessage("INBOX", 3)}, bad); err == nil {
		t.Fatal("a source name with NUL was accepted")
	}
	// A batch of no messages still moves the marks on (the last messages of a folder were all too large).
	more := ImportOptions{Source: src, Marks: []SourceMark{{Folder: "Sent Items", UIDValidity: 9, LastUID: 40}}}
	if _, err := s.ImportBatch(a.ID, nil, more); err != nil {
		t.Fatal(err)
	}
	marks, err := s.SourceMarks(a.ID, src)
	if err != nil {
		t.Fatal(err)
	}
	want := []SourceMark{{"INBOX", 7, 2}, {"Sent Items", 9, 40}}
	if fmt.Sprint(marks) != fmt.Sprint(want) {
		t.Fatalf("marks %v, want %v", marks, want)
	}
	if mb := mustMailbox(t, s, a, "INBOX"); mb.Messages != 2 {
		t.Errorf("INBOX holds %d messages, want 2", mb.Messages)
	}
	if other, _ := s.SourceMarks(a.ID, src+"x"); len(other) != 0 {
		t.Errorf("another source sees marks %v", other)
	}
	if err := s.RemoveAccount(a.Address); err != nil {
		t.Fatal(err)
	}
	if left, _ := s.SourceMarks(a.ID, src); len(left) != 0 {
		t.Errorf("marks outlive their account: %v", left)
	}
}

func TestSyncSourceFlagsMergesBothSides(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an.nv@example.gov.vn")
	const src = "imap://an@old.example.gov.vn:993"
	one, two := importMessage("INBOX", 1), importMessage("INBOX", 2, "$Label1")
	one.From = &SourceRef{Folder: "INBOX", UIDValidity: 7, UID: 11}
	two.From = &SourceRef{Folder: "INBOX", UIDValidity: 7, UID: 12, Flags: []string{"$Label1"}}
	if _, err := s.ImportBatch(a.ID, []ImportMessage{one, two}, ImportOptions{Source: src}); err != nil {
		t.Fatal(err)
	}
	inbox := mustMailbox(t, s, a, "INBOX")
	// The user flags the first copy here; meanwhile it is read on the old server and the label of the second
	// is removed there.
	if _, err := s.SetFlags(inbox.ID, []uint32{1}, FlagsAdd, []string{`\Flagged`}, nil); err != nil {
		t.Fatal(err)
	}
	there := []SourceFlags{{UID: 11, Flags: []string{`\Seen`, `\Recent`}}, {UID: 12, Flags: nil}, {UID: 13, Flags: []string{`\Seen`}}}
	if n, err := s.SyncSourceFlags(a.ID, src, "INBOX", 7, there); err != nil || n != 2 {
		t.Fatalf("sync changed %d (%v), want 2", n, err)
	}
	msgs, err := s.Messages(inbox.ID, []uint32{1, 2}, FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(msgs[0].Flags) != `[\Seen \Flagged]` || len(msgs[1].Flags) != 0 {
		t.Errorf("flags after the sync %v %v", msgs[0].Flags, msgs[1].Flags)
	}
	if mb := mustMailbox(t, s, a, "INBOX"); mb.Unseen != 1 {
		t.Errorf("unseen %d, want 1", mb.Unseen)
	}
	// Nothing changed there since: nothing changes here, even what the user changes here.
	if _, err := s.SetFlags(inbox.ID, []uint32{1}, FlagsRemove, []string{`\Seen`}, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := s.SyncSourceFlags(a.ID, src, "INBOX", 7, there); err != nil || n != 0 {
		t.Errorf("a repeated sync changed %d (%v)", n, err)
	}
	// Under another UIDVALIDITY the UIDs name other messages.
	if n, err := s.SyncSourceFlags(a.ID, src, "INBOX", 8, []SourceFlags{{UID: 12, Flags: []string{`\Deleted`}}}); err != nil || n != 0 {
		t.Errorf("a sync under another UIDVALIDITY changed %d (%v)", n, err)
	}
}
