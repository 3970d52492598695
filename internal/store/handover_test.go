package store

import (
	"errors"
	"testing"
)

func TestHandoverCopiesEveryFolderSharingBodies(t *testing.T) {
	s := newTestStore(t)
	old := mustAccount(t, s, "an@example.gov.vn")
	heir := mustAccount(t, s, "binh@example.gov.vn")
	if _, err := s.CreateMailbox(old.ID, "Dự án/2026", ""); err != nil {
		t.Fatal(err)
	}
	project := mustMailbox(t, s, old, "Dự án/2026")
	inbox := mustMailbox(t, s, old, "INBOX")
	for i := 0; i < 3; i++ {
		if _, err := s.Append(inbox.ID, testMessage(i), []string{`\Seen`}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Append(project.ID, testMessage(9), []string{`\Flagged`}, nil); err != nil {
		t.Fatal(err)
	}
	res, err := s.Handover(old.Address, heir.Address)
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != 4 || res.Mailboxes != 8 {
		t.Errorf("result %+v", res)
	}
	copied := mustMailbox(t, s, heir, "Bàn giao/an@example.gov.vn/Dự án/2026")
	msgs, _ := s.Messages(copied.ID, []uint32{1}, FetchOptions{})
	if len(msgs) != 1 || msgs[0].Flags[0] != `\Flagged` {
		t.Errorf("copied message %+v", msgs)
	}
	if m := mustMailbox(t, s, heir, "Bàn giao/an@example.gov.vn/INBOX"); m.Messages != 3 || m.Unseen != 0 {
		t.Errorf("copied INBOX %+v", m)
	}
	if _, err := s.Handover(old.Address, heir.Address); !errors.Is(err, ErrMailboxExists) {
		t.Errorf("second handover: %v", err)
	}
	// The predecessor can now go: the successor's copies keep the bodies alive.
	if err := s.RemoveAccount(old.Address); err != nil {
		t.Fatal(err)
	}
	msgs, _ = s.Messages(copied.ID, []uint32{1}, FetchOptions{})
	if len(msgs) != 1 {
		t.Fatal("copy lost with the predecessor")
	}
}
