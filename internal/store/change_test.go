package store

import (
	"slices"
	"testing"
)

// Creating (with parents), renaming (with children), subscribing and deleting mailboxes are announced as list
// changes of the account, for IMAP NOTIFY.
func TestListChangesAreAnnounced(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	var got []ListChange
	defer s.Subscribe(func(c Change) {
		if c.List != nil && c.AccountID == a.ID {
			got = append(got, *c.List) // announced before the write returns: no race with the test
		}
	})()
	steps := []func() error{
		func() error { _, err := s.CreateMailbox(a.ID, "Dự án/2026/Q1", ""); return err },
		func() error { return s.RenameMailbox(a.ID, "Dự án/2026", "Lưu trữ/2026") },
		func() error { return s.SetSubscribed(a.ID, "Lưu trữ/2026", false) },
		func() error { return s.SetSubscribed(a.ID, "Lưu trữ/2026", true) },
		func() error { return s.DeleteMailbox(a.ID, "Lưu trữ/2026/Q1") },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	want := []ListChange{
		{Kind: ListCreated, Name: "Dự án"},
		{Kind: ListCreated, Name: "Dự án/2026"},
		{Kind: ListCreated, Name: "Dự án/2026/Q1"},
		{Kind: ListRenamed, Name: "Lưu trữ/2026", OldName: "Dự án/2026"},
		{Kind: ListRenamed, Name: "Lưu trữ/2026/Q1", OldName: "Dự án/2026/Q1"},
		{Kind: ListCreated, Name: "Lưu trữ"},
		{Kind: ListUnsubscribed, Name: "Lưu trữ/2026"},
		{Kind: ListSubscribed, Name: "Lưu trữ/2026"},
		{Kind: ListDeleted, Name: "Lưu trữ/2026/Q1"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("list changes:\n got %+v\nwant %+v", got, want)
	}
}
