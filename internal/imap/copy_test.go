package imap

import (
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestCopyMoveWithCopyUID(t *testing.T) {
	ts := newTestServer(t)
	u := newUpdates()
	c := ts.client(t, u.handler())
	fillInbox(t, c, 4)
	selectBox(t, c, "INBOX", false)

	data, err := c.Copy(imap.SeqSetNum(1, 3), "Archive").Wait()
	if err != nil {
		t.Fatalf("COPY: %v", err)
	}
	if data.SourceUIDs.String() != "1,3" || data.DestUIDs.String() != "1:2" || data.UIDValidity == 0 {
		t.Errorf("COPYUID %d %s %s", data.UIDValidity, data.SourceUIDs, data.DestUIDs)
	}
	_, err = c.Copy(imap.SeqSetNum(1), "Không có").Wait()
	wantCode(t, err, imap.ResponseCodeTryCreate)

	moved, err := c.Move(imap.UIDSetNum(2, 4), "Trash").Wait()
	if err != nil {
		t.Fatalf("UID MOVE: %v", err)
	}
	if moved.SourceUIDs.String() != "2,4" || moved.DestUIDs.String() != "1:2" {
		t.Errorf("MOVE COPYUID %s %s", moved.SourceUIDs, moved.DestUIDs)
	}
	u.mu.Lock()
	expunges := slices.Clone(u.expunges)
	u.mu.Unlock()
	// UIDs 2 and 4 were sequence numbers 2 and 4: reported once each, highest first.
	if !slices.Equal(expunges, []uint32{4, 2}) {
		t.Errorf("EXPUNGE responses after MOVE: %v, want [4 2] exactly once", expunges)
	}
	if c.Mailbox().NumMessages != 2 {
		t.Errorf("client thinks INBOX has %d messages, want 2", c.Mailbox().NumMessages)
	}
	// Into the selected mailbox itself, MOVE gives the message a new UID (RFC 6851 3.3) and COPY adds a copy.
	self, err := c.Move(imap.SeqSetNum(1), "INBOX").Wait()
	if err != nil || self.SourceUIDs.String() != "1" || self.DestUIDs.String() != "5" {
		t.Fatalf("MOVE into the selected mailbox: %+v, %v", self, err)
	}
	if c.Mailbox().NumMessages != 2 {
		t.Errorf("after MOVE into itself the client thinks INBOX has %d messages, want 2", c.Mailbox().NumMessages)
	}
	if data, err := c.Copy(imap.SeqSetNum(2), "INBOX").Wait(); err != nil || data.DestUIDs.String() != "6" {
		t.Fatalf("COPY into the selected mailbox: %+v, %v", data, err)
	}
	if c.Mailbox().NumMessages != 3 {
		t.Errorf("after COPY into itself the client thinks INBOX has %d messages, want 3", c.Mailbox().NumMessages)
	}

	for name, want := range map[string]uint32{"INBOX": 3, "Archive": 2, "Trash": 2} {
		st, err := c.Status(name, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil || *st.NumMessages != want {
			t.Errorf("STATUS %s: %v %v, want %d", name, st, err, want)
		}
	}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true}).Collect()
	if err != nil || len(msgs) != 3 || msgs[0].UID != 3 || msgs[1].UID != 5 || msgs[2].UID != 6 {
		t.Fatalf("FETCH after MOVE: %v %v", msgs, err)
	}
}

func TestExpungeAndUIDExpunge(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t, nil)
	fillInbox(t, c, 5)
	selectBox(t, c, "INBOX", false)
	storeFlags(t, c, imap.SeqSetNum(1, 2, 4, 5), imap.StoreFlagsAdd, true, imap.FlagDeleted)

	// UID EXPUNGE removes only the listed UIDs among the \Deleted ones (RFC 4315).
	got, err := c.UIDExpunge(imap.UIDSetNum(2, 3)).Collect()
	if err != nil || !slices.Equal(got, []uint32{2}) {
		t.Fatalf("UID EXPUNGE 2:3: %v %v, want [2]", got, err)
	}
	got, err = c.Expunge().Collect()
	if err != nil || !slices.Equal(got, []uint32{4, 3, 1}) {
		t.Fatalf("EXPUNGE: %v %v, want [4 3 1] (each once, highest first)", got, err)
	}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].UID != 3 {
		t.Fatalf("left after expunges: %v %v", msgs, err)
	}
	// CLOSE expunges silently.
	storeFlags(t, c, imap.SeqSetNum(1), imap.StoreFlagsAdd, true, imap.FlagDeleted)
	if err := c.UnselectAndExpunge().Wait(); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != 0 {
		t.Errorf("after CLOSE: %v %v", st, err)
	}
}

func TestExamineIsReadOnly(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t, nil)
	fillInbox(t, c, 2)
	selectBox(t, c, "INBOX", false)
	storeFlags(t, c, imap.SeqSetNum(2), imap.StoreFlagsAdd, true, imap.FlagDeleted)

	data := selectBox(t, c, "INBOX", true)
	if len(data.PermanentFlags) != 0 {
		t.Errorf("EXAMINE PERMANENTFLAGS %v, want none", data.PermanentFlags)
	}
	_, err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Collect()
	wantCode(t, err, imap.ResponseCodeCannot)
	wantCode(t, c.Expunge().Close(), imap.ResponseCodeCannot)
	_, err = c.Move(imap.SeqSetNum(1), "Trash").Wait()
	wantCode(t, err, imap.ResponseCodeCannot)

	body := &imap.FetchItemBodySection{}
	m := fetchOne(t, c, imap.SeqSetNum(1), &imap.FetchOptions{Flags: true, BodySection: []*imap.FetchItemBodySection{body}})
	if slices.Contains(m.Flags, imap.FlagSeen) || len(m.FindBodySection(body)) == 0 {
		t.Errorf("BODY[] in EXAMINE: flags %v", m.Flags)
	}
	if _, err := c.Copy(imap.SeqSetNum(1), "Archive").Wait(); err != nil {
		t.Errorf("COPY from an examined mailbox: %v", err)
	}
	// CLOSE on an examined mailbox expunges nothing.
	if err := c.UnselectAndExpunge().Wait(); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true, NumUnseen: true}).Wait()
	if err != nil || *st.NumMessages != 2 || *st.NumUnseen != 2 {
		t.Errorf("after EXAMINE session: %+v %v", st, err)
	}
}
