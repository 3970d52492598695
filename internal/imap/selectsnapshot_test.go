package imap

import (
	"fmt"
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/message"
	"mailserver/internal/store"
)

// deliverTo stores a delivery of message n in the account's INBOX.
func deliverTo(t testing.TB, st *store.Store, accountID uint64, n int) {
	t.Helper()
	raw := fmt.Appendf(nil, "From: vanthu@example.gov.vn\r\nSubject: Công văn %d\r\n\r\nNội dung %d.\r\n", n, n)
	p := message.Parse(raw)
	if _, err := st.Deliver(store.NewMessage{Body: raw, Meta: p.Meta(), Text: p.SearchText()},
		[]store.Copy{{AccountID: accountID}}); err != nil {
		t.Error(err)
	}
}

// TestSelectDuringDeliveriesSeesEachMessageOnce: sessions that SELECT (or EXAMINE) INBOX while messages are being
// delivered to it, with and without another session holding it selected, end up with exactly the mailbox's messages:
// the SELECT's EXISTS and the EXISTS that follow add up, no message is missed and none counted twice.
func TestSelectDuringDeliveriesSeesEachMessageOnce(t *testing.T) {
	ts := newTestServer(t)
	inbox, err := ts.st.Mailbox(ts.account.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	keeper := ts.client(t, nil) // holds INBOX selected in odd rounds, so that SELECT joins a live state
	const rounds, perRound = 24, 20
	delivered := 0
	for round := range rounds {
		if round%2 == 1 {
			selectBox(t, keeper, "INBOX", false)
		} else if err := keeper.Unselect().Wait(); err != nil && round > 0 {
			t.Fatal(err)
		}
		c := ts.client(t, nil)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range perRound {
				deliverTo(t, ts.st, ts.account.ID, delivered+i)
			}
		}()
		selectBox(t, c, "INBOX", round%3 == 2)
		<-done
		delivered += perRound
		if err := c.Noop().Wait(); err != nil {
			t.Fatal(err)
		}
		want, err := ts.st.UIDs(inbox.ID)
		if err != nil {
			t.Fatal(err)
		}
		if n := c.Mailbox().NumMessages; int(n) != len(want) || len(want) != delivered {
			t.Fatalf("round %d: the session counts %d messages, the mailbox holds %d of %d delivered", round, n, len(want), delivered)
		}
		msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		got := make([]uint32, len(msgs))
		for i, m := range msgs {
			got[i] = uint32(m.UID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: the session's messages %v, the mailbox's %v", round, got, want)
		}
		c.Close()
	}
}

// TestAttachAppliesOnlyWhatTheSnapshotLacks drives the steps of a SELECT one by one around deliveries: a change
// committed after the session joined but held in its snapshot is not applied again, one committed after the
// snapshot is, and a snapshot older than the live state is read again.
func TestAttachAppliesOnlyWhatTheSnapshotLacks(t *testing.T) {
	ts := newTestServer(t)
	inbox, err := ts.st.Mailbox(ts.account.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	deliverTo(t, ts.st, ts.account.ID, 1)
	h := ts.srv.hub
	req := selectRequest{ref: mailboxRef{owner: ts.account.ID, name: "INBOX", rights: fullRights}, examined: true}
	snapshot := func(withUIDs bool) store.MailboxSnapshot {
		t.Helper()
		snap, err := ts.st.MailboxSnapshot(inbox.ID, withUIDs)
		if err != nil {
			t.Fatal(err)
		}
		return snap
	}

	st := h.join(inbox.ID)
	deliverTo(t, ts.st, ts.account.ID, 2) // announced while the state waits for its snapshot, and held in it
	snap := snapshot(true)
	deliverTo(t, ts.st, ts.account.ID, 3) // committed after the snapshot
	if _, _, ok := st.attach(snap, req, false); ok {
		t.Fatal("attached from a snapshot that lacks a change the state has applied")
	}
	sel, view, ok := st.attach(snapshot(false), req, false)
	if !ok {
		t.Fatal("a fresh snapshot does not match the state")
	}
	if !slices.Equal(view.uids, []uint32{1, 2, 3}) || view.mailbox.UIDNext != 4 {
		t.Errorf("view %v, UIDNEXT %d; want UIDs 1 to 3, UIDNEXT 4", view.uids, view.mailbox.UIDNext)
	}

	second := h.join(inbox.ID) // a second session joins the live state
	stale := snapshot(false)
	deliverTo(t, ts.st, ts.account.ID, 4)
	if _, _, ok := second.attach(stale, req, false); ok {
		t.Fatal("attached to a live state from a snapshot older than it")
	}
	other, view, ok := second.attach(stale, req, true) // out of attempts: shown the state, UIDNEXT above it
	if !ok || !slices.Equal(view.uids, []uint32{1, 2, 3, 4}) || view.mailbox.UIDNext != 5 {
		t.Errorf("forced attach: %v, UIDs %v, UIDNEXT %d", ok, view.uids, view.mailbox.UIDNext)
	}
	for _, s := range []*selection{sel, other} {
		h.detach(s)
	}
}

// TestSelectRecentClaimedOnce: two read-write SELECTs of a mailbox with new messages, one after the other, claim
// them once: the first shows them \Recent, the second none (RFC 3501 2.3.2).
func TestSelectRecentClaimedOnce(t *testing.T) {
	ts := newTestServer(t)
	for i := range 3 {
		deliverTo(t, ts.st, ts.account.ID, i)
	}
	for _, want := range []string{"* 3 RECENT", "* 0 RECENT"} {
		rc := dialRaw(t, ts.addr)
		rc.ok("LOGIN %s %q", testUser, testPassword)
		if lines := rc.ok("SELECT INBOX"); !slices.Contains(lines, want) || !slices.Contains(lines, "* 3 EXISTS") {
			t.Errorf("SELECT: %q, want %q", lines, want)
		}
	}
}
