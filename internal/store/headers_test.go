package store

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"mailserver/internal/message"
)

// TestHeaderCopies: a body stored with its parse result gets, once the copier has run, a copy of its root header
// without the trace and signature fields, which ViewMessages hands out with the header's place, once for all the
// messages sharing the body; a header too long for a copy, and a body without one yet, read from the chunks as
// before; Check finds a copy that differs from its body and one whose body is gone, and releasing a body deletes
// its copy.
func TestHeaderCopies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.db")
	ps := copierTestStore(t, path)
	s := *ps
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	raw := "Received: from mx1.example.gov.vn\r\n\tby mail.example.gov.vn; Mon, 02 Feb 2026 09:29:58 +0700\r\n" +
		"From: a@example.gov.vn\r\nDKIM-Signature: v=1; d=example.gov.vn;\r\n b=AAAA\r\nSubject: x\r\n\r\nbody\r\n"
	short := "From: a@example.gov.vn\r\nSubject: x\r\n\r\n"
	long := "From: a@example.gov.vn\r\nX-Long: " + strings.Repeat("a", maxHeaderCopy) + "\r\n\r\nbody\r\n"
	for _, body := range []string{raw, long} {
		msg := NewMessage{Body: []byte(body), Meta: message.Parse([]byte(body)).Meta()}
		if _, err := s.Append(inbox.ID, msg, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	msg := NewMessage{Body: []byte(raw), Meta: message.Parse([]byte(raw)).Meta()}
	if _, err := s.Deliver(msg, []Copy{{AccountID: a.ID, Trace: []byte("Return-Path: <a@example.gov.vn>\r\n")}}); err != nil {
		t.Fatal(err)
	}
	none := map[uint32]string{1: "", 2: "", 3: ""}
	if got := shortHeaders(t, s, inbox.ID); fmt.Sprint(got) != fmt.Sprint(none) {
		t.Errorf("short headers before the copier ran %v, want none", got)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("store whose copies are not written yet: %v", err)
	}
	copyHeadersNow(t, s)
	want := map[uint32]string{1: short, 2: "", 3: short}
	if got := shortHeaders(t, s, inbox.ID); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("short headers %v, want %v", got, want)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("healthy store: %v", err)
	}

	// A copy that differs from its body, and one whose body has no record.
	update(t, s, func(tx *bolt.Tx) error {
		headers := tx.Bucket(bucketHeaders)
		if err := headers.Put(u64key(1), []byte{headerCopyVersion, 'X'}); err != nil {
			return err
		}
		return headers.Put(u64key(99), []byte{headerCopyVersion})
	})
	problems := s.Check()
	if problems == nil || !strings.Contains(problems.Error(), "header copy of 2 bytes differs") ||
		!strings.Contains(problems.Error(), "header copy 0000000000000063: orphan") {
		t.Errorf("Check output lacks the wrong and the orphan copy: %v", problems)
	}

	// A store written before header copies: the bucket is made at open, the old bodies have none and read as
	// before until the copier, which has no watermark there, reaches them.
	reopenWithoutHeaderCopies(t, ps, path)
	s = *ps
	if got := shortHeaders(t, s, inbox.ID); fmt.Sprint(got) != fmt.Sprint(none) {
		t.Errorf("short headers of a store without copies %v, want none", got)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("store without copies: %v", err)
	}
	copyHeadersNow(t, s)
	if got := shortHeaders(t, s, inbox.ID); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("short headers of a store without copies, after the copier ran: %v, want %v", got, want)
	}

	// Releasing the last reference deletes the copy with the body record.
	other := NewMessage{Body: []byte("From: b@example.gov.vn\r\n\r\nb\r\n"), Meta: message.Parse([]byte("From: b@example.gov.vn\r\n\r\nb\r\n")).Meta()}
	if _, err := s.Append(inbox.ID, other, []string{`\Deleted`}, nil); err != nil {
		t.Fatal(err)
	}
	copyHeadersNow(t, s)
	if got := shortHeaders(t, s, inbox.ID)[4]; got != "From: b@example.gov.vn\r\n\r\n" {
		t.Errorf("short header of a body stored after reopening: %q", got)
	}
	if _, err := s.Expunge(inbox.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		if n := tx.Bucket(bucketHeaders).Stats().KeyN; n != 1 {
			t.Errorf("%d header copies left after one of two bodies with one was released, want 1", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("after the expunge: %v", err)
	}
}

// shortHeaders reads the short header of every message of a mailbox ("" for none), checking that each one's
// header place is known.
func shortHeaders(t *testing.T, s *Store, mailboxID uint64) map[uint32]string {
	t.Helper()
	uids, err := s.UIDs(mailboxID)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := s.Messages(mailboxID, uids, FetchOptions{Header: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint32]string{}
	for _, m := range msgs {
		if !m.HasHeader {
			t.Errorf("uid %d: header place unknown", m.UID)
		}
		got[m.UID] = string(m.ShortHeader)
	}
	return got
}

// copyHeadersNow runs the header copier until every body stored so far has been looked at.
func copyHeadersNow(t testing.TB, s *Store) {
	t.Helper()
	if _, err := s.CopyHeadersPending(); err != nil {
		t.Fatal(err)
	}
}

func update(t *testing.T, s *Store, fn func(tx *bolt.Tx) error) {
	t.Helper()
	if err := s.db.Update(fn); err != nil {
		t.Fatal(err)
	}
}
