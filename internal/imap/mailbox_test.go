package imap

import (
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestCreateRenameDelete(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t, nil)

	if err := c.Create("Dự án/2026/", nil).Wait(); err != nil { // trailing delimiter: children will follow
		t.Fatal(err)
	}
	wantCode(t, c.Create("Dự án/2026", nil).Wait(), imap.ResponseCodeAlreadyExists)
	wantCode(t, c.Create("inbox", nil).Wait(), imap.ResponseCodeAlreadyExists)
	wantCode(t, c.Create("a//b", nil).Wait(), imap.ResponseCodeCannot)
	for _, name := range []string{"a/../b", "./x", "x/.", "..", "Dự án/../x"} {
		err := c.Create(name, nil).Wait()
		wantCode(t, err, imap.ResponseCodeCannot)
		if err == nil || !strings.Contains(err.Error(), `"." or ".."`) {
			t.Errorf("CREATE %s: %v, want a refusal naming . and ..", name, err)
		}
	}

	if err := c.Create("Hóa đơn", &imap.CreateOptions{SpecialUse: []imap.MailboxAttr{"\\archive"}}).Wait(); err != nil {
		t.Fatalf("CREATE USE (\\Archive): %v", err)
	}
	wantCode(t, c.Create("Ảo", &imap.CreateOptions{SpecialUse: []imap.MailboxAttr{imap.MailboxAttrAll}}).Wait(), "USEATTR")
	if !hasAttr(listAll(t, c, "", "Hóa đơn", nil)["Hóa đơn"], imap.MailboxAttrArchive) {
		t.Error("created special-use mailbox lacks \\Archive")
	}

	if err := c.Rename("Dự án", "Công trình", nil).Wait(); err != nil {
		t.Fatalf("RENAME with children: %v", err)
	}
	all := listAll(t, c, "", "*", nil)
	if all["Công trình/2026"] == nil || all["Dự án"] != nil || all["Dự án/2026"] != nil {
		t.Errorf("after RENAME: %v", keys(all))
	}
	wantCode(t, c.Rename("Không có", "Mới", nil).Wait(), imap.ResponseCodeNonExistent)
	wantCode(t, c.Rename("Công trình", "Công trình/../x", nil).Wait(), imap.ResponseCodeCannot)
	wantCode(t, c.Rename("Công trình", "./Công trình", nil).Wait(), imap.ResponseCodeCannot)
	wantCode(t, c.Rename("Sent", "Drafts", nil).Wait(), imap.ResponseCodeAlreadyExists)

	// RENAME INBOX moves its messages into a new mailbox and leaves an empty INBOX (RFC 3501 6.3.5).
	appendMsg(t, c, "INBOX", []byte("Subject: cũ\r\n\r\nthư cũ\r\n"), nil)
	if err := c.Rename("INBOX", "Lưu trữ cũ", nil).Wait(); err != nil {
		t.Fatalf("RENAME INBOX: %v", err)
	}
	for name, want := range map[string]uint32{"INBOX": 0, "Lưu trữ cũ": 1} {
		st, err := c.Status(name, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil || *st.NumMessages != want {
			t.Errorf("STATUS %s after RENAME INBOX: %+v, %v; want %d messages", name, st, err, want)
		}
	}

	// DELETE of a mailbox with children leaves a \Noselect placeholder; INBOX cannot be deleted.
	if err := c.Delete("Công trình").Wait(); err != nil {
		t.Fatalf("DELETE with children: %v", err)
	}
	all = listAll(t, c, "", "*", nil)
	if !hasAttr(all["Công trình"], imap.MailboxAttrNoSelect) || all["Công trình/2026"] == nil {
		t.Errorf("after DELETE with children: %+v", all["Công trình"])
	}
	wantCode(t, c.Delete("Công trình").Wait(), imap.ResponseCodeHasChildren)
	wantCode(t, c.Delete("INBOX").Wait(), imap.ResponseCodeCannot)
	wantCode(t, c.Delete("Không có").Wait(), imap.ResponseCodeNonExistent)
	if _, err := c.Select("Công trình", nil).Wait(); err == nil {
		t.Error("SELECT of a \\Noselect placeholder succeeded")
	}
	for _, name := range []string{"Công trình/2026", "Công trình"} {
		if err := c.Delete(name).Wait(); err != nil {
			t.Fatalf("DELETE %s: %v", name, err)
		}
	}
	if all = listAll(t, c, "", "Công trình*", nil); len(all) != 0 {
		t.Errorf("left after deleting everything: %v", keys(all))
	}
}

func TestStatusAllItems(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t, nil)
	raw := []byte("Subject: a\r\n\r\nbody\r\n")
	appendMsg(t, c, "Drafts", raw, &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen, imap.FlagDeleted}})
	appendMsg(t, c, "Drafts", raw, nil)
	st, err := c.Status("Drafts", &imap.StatusOptions{NumMessages: true, UIDNext: true, UIDValidity: true,
		NumUnseen: true, NumDeleted: true, Size: true, AppendLimit: true, DeletedStorage: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if *st.NumMessages != 2 || st.UIDNext != 3 || st.UIDValidity == 0 || *st.NumUnseen != 1 || *st.NumDeleted != 1 ||
		*st.Size != 2*int64(len(raw)) || *st.AppendLimit != defaultAppendLimit ||
		*st.DeletedStorage != int64(len(raw)) {
		t.Errorf("STATUS: %+v", st)
	}
	_, err = c.Status("Không có", &imap.StatusOptions{NumMessages: true}).Wait()
	wantCode(t, err, imap.ResponseCodeNonExistent)
	if err := c.Unsubscribe("Drafts").Wait(); err != nil {
		t.Fatal(err)
	}
	wantCode(t, c.Subscribe("Không có").Wait(), imap.ResponseCodeNonExistent)
}

// TestCreateDoesNotSubscribe: CREATE leaves the subscription list alone, for the mailbox and the parents it makes
// (RFC 9051 6.3.9); a new account's own folders start subscribed.
func TestCreateDoesNotSubscribe(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t, nil)
	if err := c.Create("Dự án/2026/Quý 1", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Rename("Dự án/2026/Quý 1", "Lưu/Quý 1", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	subs, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range subs {
		names = append(names, d.Mailbox)
	}
	slices.Sort(names)
	if want := []string{"Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"}; !slices.Equal(names, want) {
		t.Errorf("subscribed after CREATE and RENAME: %q, want the default folders %q", names, want)
	}
}
