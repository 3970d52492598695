package imap

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailserver/internal/message"
	"mailserver/internal/store"
)

func TestTwoSessionsSeeEachOther(t *testing.T) {
	ts := newTestServer(t)
	ua, ub := newUpdates(), newUpdates()
	a, b := ts.client(t, ua.handler()), ts.client(t, ub.handler())
	fillInbox(t, a, 3)
	selectBox(t, a, "INBOX", false)
	selectBox(t, b, "INBOX", false)

	// A flag change by A reaches B as FETCH FLAGS; A gets only its own STORE response, no echo.
	storeFlags(t, a, imap.SeqSetNum(2), imap.StoreFlagsAdd, false, imap.FlagFlagged)
	if err := b.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	ub.waitFor(t, "FETCH FLAGS in B", func(u *updates) bool { return slices.Contains(u.flags[2], imap.FlagFlagged) })
	if err := a.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	ua.mu.Lock()
	echoed := len(ua.flags)
	ua.mu.Unlock()
	if echoed != 0 {
		t.Errorf("A got its own flag change echoed: %v", ua.flags)
	}

	// A keyword new to the mailbox reaches B as an untagged FLAGS before the FETCH that uses it.
	storeFlags(t, a, imap.SeqSetNum(3), imap.StoreFlagsAdd, true, "$DaDuyet")
	if err := b.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	ub.waitFor(t, "FLAGS with the new keyword in B", func(u *updates) bool {
		return slices.Contains(u.mboxFlag, "$DaDuyet") && slices.Contains(u.flags[3], "$DaDuyet")
	})

	// An append by B reaches A as EXISTS.
	appendMsg(t, b, "INBOX", []byte("Subject: mới\r\n\r\nthư mới\r\n"), nil)
	if err := a.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	ua.waitFor(t, "EXISTS 4 in A", func(u *updates) bool { return slices.Contains(u.exists, 4) })

	// An expunge by A reaches B as EXPUNGE; B's numbering follows.
	storeFlags(t, a, imap.SeqSetNum(1), imap.StoreFlagsAdd, true, imap.FlagDeleted)
	if err := a.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	ub.waitFor(t, "EXPUNGE 1 in B", func(u *updates) bool { return slices.Equal(u.expunges, []uint32{1}) })
	msgs, err := b.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true}).Collect()
	if err != nil || len(msgs) != 3 || msgs[0].UID != 2 || msgs[2].UID != 4 || msgs[2].SeqNum != 3 {
		t.Fatalf("B after the expunge: %v %v", msgs, err)
	}
}

// TestPendingExpungeKeepsNumbering checks that before an EXPUNGE is reported, the client's sequence numbers still
// mean what they meant (FETCH, STORE and SEARCH do not deliver expunges).
func TestPendingExpungeKeepsNumbering(t *testing.T) {
	ts := newTestServer(t)
	a := ts.client(t, nil)
	fillInbox(t, a, 3)
	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	rc.ok("SELECT INBOX")
	rc.ok("FETCH 1 (UID)") // no pending updates yet

	selectBox(t, a, "INBOX", false)
	storeFlags(t, a, imap.SeqSetNum(2), imap.StoreFlagsAdd, true, imap.FlagDeleted)
	if err := a.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	appendMsg(t, a, "INBOX", []byte("Subject: 4\r\n\r\nbốn\r\n"), nil)

	lines := rc.ok("FETCH 1:* (UID)")
	// Message 2 is gone (RFC 2180 4.1.2 allows leaving it out); the flag change queued before its expunge is
	// flushed after the FETCH, the expunge and the new message are not.
	want := []string{"* 1 FETCH (UID 1)", "* 3 FETCH (UID 3)", "* 2 FETCH (UID 2 FLAGS (\\Deleted))"}
	if !slices.Equal(lines, want) {
		t.Errorf("FETCH 1:* with a pending expunge and append: %q, want %q", lines, want)
	}
	lines = rc.ok("NOOP")
	// This session selected INBOX first: the new message is \Recent in it (RFC 3501 2.3.2), as are 1 and 3.
	if !slices.Equal(lines, []string{"* 2 EXPUNGE", "* 3 EXISTS", "* 3 RECENT"}) {
		t.Errorf("NOOP: %q", lines)
	}
	if lines = rc.ok("FETCH 3 (UID)"); !slices.Equal(lines, []string{"* 3 FETCH (UID 4)"}) {
		t.Errorf("FETCH 3 after NOOP: %q", lines)
	}
}

// A session in IDLE sees an append by another session and a delivery at once, while another part of the server
// (metrics, say) follows the store's changes too: subscribing does not take them away from IMAP.
func TestIdleSeesAppendAndDelivery(t *testing.T) {
	ts := newTestServer(t)
	var other []uint32 // UIDs the other subscriber heard of; written before the commit's caller returns
	var otherMu sync.Mutex
	defer ts.st.Subscribe(func(c store.Change) {
		otherMu.Lock()
		other = append(other, c.Appended...)
		otherMu.Unlock()
	})()
	u := newUpdates()
	a, b := ts.client(t, nil), ts.client(t, u.handler())
	selectBox(t, b, "INBOX", false)
	idle, err := b.Idle()
	if err != nil {
		t.Fatal(err)
	}
	appendMsg(t, a, "INBOX", []byte("Subject: qua IMAP\r\n\r\nthư\r\n"), nil)
	u.waitFor(t, "EXISTS 1 during IDLE", func(u *updates) bool { return slices.Contains(u.exists, 1) })

	raw := []byte("From: vanthu@example.gov.vn\r\nSubject: =?UTF-8?Q?C=C3=B4ng_v=C4=83n?=\r\n\r\nCông văn đến.\r\n")
	p := message.Parse(raw)
	placed, err := ts.st.Deliver(store.NewMessage{Body: raw, Meta: p.Meta(), Text: p.SearchText()},
		[]store.Copy{{AccountID: ts.account.ID}})
	if err != nil || len(placed) != 1 || placed[0].UID == 0 {
		t.Fatalf("deliver: %v %+v", err, placed)
	}
	u.waitFor(t, "EXISTS 2 during IDLE", func(u *updates) bool { return slices.Contains(u.exists, 2) })
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	m := fetchOne(t, b, imap.SeqSetNum(2), &imap.FetchOptions{Envelope: true})
	if m.Envelope.Subject != "Công văn" {
		t.Errorf("delivered message envelope %+v", m.Envelope)
	}
	otherMu.Lock()
	defer otherMu.Unlock()
	if !slices.Equal(other, []uint32{1, 2}) {
		t.Errorf("the other subscriber heard of UIDs %v, want [1 2]", other)
	}
}

func TestMailboxDeletedWhileSelected(t *testing.T) {
	ts := newTestServer(t)
	u := newUpdates()
	a, b := ts.client(t, u.handler()), ts.client(t, nil)
	if err := a.Create("Tạm", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	appendMsg(t, a, "Tạm", []byte("Subject: x\r\n\r\ny\r\n"), nil)
	selectBox(t, a, "Tạm", false)
	if err := b.Delete("Tạm").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := a.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	u.waitFor(t, "EXPUNGE of the deleted mailbox's message", func(u *updates) bool { return len(u.expunges) == 1 })
	_, err := a.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{UID: true}).Collect()
	wantCode(t, err, imap.ResponseCodeNonExistent)
	_, err = a.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}}, nil).Collect()
	wantCode(t, err, imap.ResponseCodeNonExistent)
	selectBox(t, a, "INBOX", false) // the session carries on
	if err := a.Create("Tạm", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if data := selectBox(t, a, "Tạm", false); data.NumMessages != 0 {
		t.Errorf("re-created mailbox has %d messages", data.NumMessages)
	}
}

// TestConcurrentSessionsStayConsistent runs appends, flag changes and expunges from several sessions at once and
// checks that every session ends with the store's view: no tracker panic, no lost or doubled update.
func TestConcurrentSessionsStayConsistent(t *testing.T) {
	ts := newTestServer(t)
	const sessions, rounds = 4, 25
	clients := make([]*imapclient.Client, sessions)
	for i := range clients {
		clients[i] = ts.client(t, nil)
		selectBox(t, clients[i], "INBOX", false)
	}
	errs := make(chan error, sessions)
	for i, c := range clients {
		go func() {
			errs <- churn(c, i, rounds)
		}()
	}
	for range clients {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	inbox, err := ts.st.Mailbox(ts.account.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	want, err := ts.st.UIDs(inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range clients {
		if err := c.Noop().Wait(); err != nil {
			t.Fatal(err)
		}
		msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		var got []uint32
		for j, m := range msgs {
			if m.SeqNum != uint32(j+1) {
				t.Errorf("session %d: message %d has sequence number %d", i, j+1, m.SeqNum)
			}
			got = append(got, uint32(m.UID))
		}
		if !slices.Equal(got, want) || c.Mailbox().NumMessages != uint32(len(want)) {
			t.Errorf("session %d sees %v (%d), store has %v", i, got, c.Mailbox().NumMessages, want)
		}
	}
}

func churn(c *imapclient.Client, id, rounds int) error {
	for r := range rounds {
		raw := fmt.Appendf(nil, "Subject: phiên %d vòng %d\r\n\r\nx\r\n", id, r)
		cmd := c.Append("INBOX", int64(len(raw)), nil)
		cmd.Write(raw)
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			return fmt.Errorf("append: %w", err)
		}
		if err := c.Noop().Wait(); err != nil {
			return err
		}
		n := c.Mailbox().NumMessages
		if n == 0 {
			continue
		}
		flag := imap.FlagSeen
		if r%3 == id%3 {
			flag = imap.FlagDeleted
		}
		set := imap.SeqSetNum(uint32(r%int(n)) + 1)
		if _, err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{flag}}, nil).Collect(); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if r%5 == 0 {
			if err := c.Expunge().Close(); err != nil {
				return fmt.Errorf("expunge: %w", err)
			}
		}
	}
	return nil
}

// TestStoreOfAWholeMailboxReachesOtherSessions: every message a STORE 1:* changed reaches another session with
// CONDSTORE as the FETCH (UID FLAGS MODSEQ) the storing session got (but for \Recent, which is the storing
// session's), under its sequence number after an expunge; a message the STORE left as it was does not.
func TestStoreOfAWholeMailboxReachesOtherSessions(t *testing.T) {
	ts := newTestServer(t)
	filledInbox(t, ts, 8)
	a := dialLoggedIn(t, ts)
	a.ok("SELECT INBOX (CONDSTORE)")
	a.ok(`STORE 2 +FLAGS (\Deleted)`)
	a.ok("EXPUNGE")
	a.ok(`STORE 3 +FLAGS (\Seen)`) // UID 4: already seen, left alone by the STORE 1:* below
	b := dialLoggedIn(t, ts)
	b.ok("SELECT INBOX (CONDSTORE)")

	var want []string
	for _, l := range a.ok(`STORE 1:* +FLAGS (\Seen)`) {
		if strings.Contains(l, " FETCH ") && !strings.HasPrefix(l, "* 3 FETCH ") {
			want = append(want, strings.Replace(l, ` \Recent`, "", 1))
		}
	}
	var got []string
	for _, l := range b.ok("NOOP") {
		if strings.Contains(l, " FETCH ") {
			got = append(got, l)
		}
	}
	if len(want) != 6 || !slices.Equal(got, want) {
		t.Errorf("the other session got\n%q\nwant\n%q", got, want)
	}
}

// TestFlagChangesQueueNothingForTheOnlySession: a STORE in a mailbox no other session has selected queues no
// update for anyone; queueing one per message anyway, two allocations each, made a good part of
// the allocations of STORE 1:*.
func TestFlagChangesQueueNothingForTheOnlySession(t *testing.T) {
	const messages = 1000
	st := &mailboxState{id: 1}
	uids := make([]uint32, messages)
	changes := make([]store.FlagChange, messages)
	for i := range uids {
		uids[i] = uint32(i + 1)
		changes[i] = store.FlagChange{UID: uids[i], Flags: []string{`\Seen`}, ModSeq: uint64(10 + i)}
	}
	st.loadLocked(store.MailboxSnapshot{UIDs: uids, Commit: 1})
	source := st.tracker.NewSession()
	defer source.Close()
	allocs := testing.AllocsPerRun(10, func() {
		st.mu.Lock()
		st.flagsLocked(changes, source)
		st.mu.Unlock()
	})
	if allocs > 1 {
		t.Errorf("%.0f allocations for %d flag changes nobody else listens to, want at most one", allocs, messages)
	}
}
