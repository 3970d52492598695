package store

import (
	"errors"
	"slices"
	"testing"
)

// AppendMany stores every message in one transaction, in order, with its own flags, and announces them in one
// change; over the quota in total it stores none, though each would fit alone.
func TestAppendMany(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	var changes []Change
	unsubscribe := s.Subscribe(func(c Change) { changes = append(changes, c) })
	defer unsubscribe()

	msgs := []AppendMessage{{NewMessage: testMessage(1), Flags: []string{`\Seen`}}, {NewMessage: testMessage(2)}}
	size := int64(len(msgs[0].Body) + len(msgs[1].Body))
	if _, err := s.UpdateAccount(a.Address, func(a *Account) error { a.Quota = size - 1; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendMany(inbox.ID, msgs, nil); !errors.Is(err, ErrOverQuota) {
		t.Fatalf("AppendMany over the quota in total: %v, want ErrOverQuota", err)
	}
	if mb := mustMailbox(t, s, a, "INBOX"); mb.Messages != 0 || len(changes) != 0 {
		t.Fatalf("after the refusal: %d messages, changes %+v", mb.Messages, changes)
	}

	if _, err := s.UpdateAccount(a.Address, func(a *Account) error { a.Quota = size; return nil }); err != nil {
		t.Fatal(err)
	}
	placed, err := s.AppendMany(inbox.ID, msgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(placed) != 2 || placed[0].UID != 1 || placed[1].UID != 2 || placed[1].UIDValidity != inbox.UIDValidity {
		t.Errorf("placed %+v", placed)
	}
	got, err := s.Messages(inbox.ID, []uint32{1, 2}, FetchOptions{})
	if err != nil || len(got) != 2 || !slices.Equal(got[0].Flags, []string{`\Seen`}) || len(got[1].Flags) != 0 {
		t.Errorf("messages %+v %v", got, err)
	}
	if len(changes) != 1 || !slices.Equal(changes[0].Appended, []uint32{1, 2}) {
		t.Errorf("changes %+v, want one with both UIDs", changes)
	}
	if used := s.mustUsed(t, a.Address); used != size {
		t.Errorf("used %d, want %d", used, size)
	}
}

func (s *Store) mustUsed(t *testing.T, address string) int64 {
	t.Helper()
	a, err := s.Account(address)
	if err != nil {
		t.Fatal(err)
	}
	return a.Used
}
