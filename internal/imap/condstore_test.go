package imap

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailserver/internal/store"
)

// filledInbox appends n small messages to INBOX and returns the mailbox as the store has it then.
func filledInbox(t *testing.T, ts *testServer, n int) store.Mailbox {
	t.Helper()
	fillInbox(t, ts.client(t, nil), n)
	inbox, err := ts.st.Mailbox(ts.account.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return inbox
}

var highestModSeqCode = regexp.MustCompile(`\[HIGHESTMODSEQ (\d+)\]`)

// highestModSeqIn returns the HIGHESTMODSEQ response code's value in lines, failing the test without one.
func highestModSeqIn(t *testing.T, lines []string) uint64 {
	t.Helper()
	for _, l := range lines {
		if m := highestModSeqCode.FindStringSubmatch(l); m != nil {
			v, _ := strconv.ParseUint(m[1], 10, 64)
			return v
		}
	}
	t.Fatalf("no HIGHESTMODSEQ in %q", lines)
	return 0
}

// TestDialogQResyncAfterChangesElsewhere: a client caches INBOX, another session changes a flag and expunges a
// message, and the first client's next SELECT (QRESYNC ...) gets exactly that before the tagged OK.
func TestDialogQResyncAfterChangesElsewhere(t *testing.T) {
	ts := newTestServer(t)
	inbox := filledInbox(t, ts, 5)
	rc := dialLoggedIn(t, ts)
	if lines := rc.ok("CAPABILITY"); !containsLine(lines, " CONDSTORE") || !containsLine(lines, " QRESYNC") {
		t.Fatalf("CAPABILITY: %q", lines)
	}
	if lines := rc.ok("ENABLE QRESYNC"); !containsLine(lines, "* ENABLED QRESYNC") {
		t.Fatalf("ENABLE QRESYNC: %q", lines)
	}
	cached := highestModSeqIn(t, rc.ok("SELECT INBOX"))
	if cached != inbox.HighestModSeq {
		t.Fatalf("SELECT reports HIGHESTMODSEQ %d, the store %d", cached, inbox.HighestModSeq)
	}
	rc.ok("LOGOUT")

	other := dialLoggedIn(t, ts)
	other.ok("SELECT INBOX")
	other.ok(`UID STORE 2 +FLAGS (\Seen)`)
	other.ok(`UID STORE 3 +FLAGS (\Deleted)`)
	other.ok("EXPUNGE")

	rc = dialLoggedIn(t, ts)
	if _, status := rc.cmd("SELECT INBOX (QRESYNC (%d %d))", inbox.UIDValidity, cached); !strings.HasPrefix(status, "BAD") {
		t.Errorf("QRESYNC before ENABLE QRESYNC: %s, want BAD (RFC 7162 3.2.5)", status)
	}
	rc.ok("ENABLE QRESYNC")
	lines := rc.ok("SELECT INBOX (QRESYNC (%d %d 1:5))", inbox.UIDValidity, cached)
	if !containsLine(lines, "* VANISHED (EARLIER) 3") {
		t.Errorf("no VANISHED (EARLIER) 3: %q", lines)
	}
	if !containsLine(lines, `* 2 FETCH (UID 2 FLAGS (\Seen) MODSEQ (`) {
		t.Errorf("no FETCH of the changed message 2: %q", lines)
	}
	if n := countContaining(lines, " FETCH "); n != 1 {
		t.Errorf("%d FETCH responses, want only the changed message's: %q", n, lines)
	}
	if highestModSeqIn(t, lines) <= cached {
		t.Errorf("HIGHESTMODSEQ did not grow: %q", lines)
	}

	if lines := rc.ok("FETCH 1 (FLAGS)"); !containsLine(lines, "* 1 FETCH (UID 1 FLAGS") {
		t.Errorf("FETCH with QRESYNC enabled: %q, want the UID in every FETCH response", lines)
	}
	lines = rc.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)", cached)
	if !containsLine(lines, "* VANISHED (EARLIER) 3") || countContaining(lines, " FETCH ") != 1 ||
		!containsLine(lines, `UID 2`) {
		t.Errorf("UID FETCH (CHANGEDSINCE VANISHED): %q", lines)
	}
	if _, status := rc.cmd("FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)", cached); !strings.HasPrefix(status, "BAD") {
		t.Errorf("VANISHED in a FETCH by sequence numbers: %s, want BAD (RFC 7162 3.2.6)", status)
	}

	// Live: with QRESYNC enabled, another session's expunge arrives as VANISHED, flag changes with MODSEQ.
	other.ok(`UID STORE 4 +FLAGS (\Flagged)`)
	other.ok(`UID STORE 5 +FLAGS (\Deleted)`)
	other.ok("EXPUNGE")
	lines = rc.ok("NOOP")
	if !containsLine(lines, "* VANISHED 5") || containsLine(lines, "EXPUNGE") {
		t.Errorf("expunge with QRESYNC enabled: %q, want VANISHED 5 (RFC 7162 3.2.10)", lines)
	}
	if !containsLine(lines, `FLAGS (\Flagged) MODSEQ (`) {
		t.Errorf("flag change with CONDSTORE enabled lacks MODSEQ: %q", lines)
	}
	rc.ok(`UID STORE 1 +FLAGS.SILENT (\Deleted)`)
	if lines := rc.ok("UID EXPUNGE 1"); !containsLine(lines, "* VANISHED 1") {
		t.Errorf("UID EXPUNGE with QRESYNC enabled: %q", lines)
	}
	rc.ok("CREATE Kho")
	if lines := rc.ok("UID MOVE 2 Kho"); !containsLine(lines, "* VANISHED 2") || containsLine(lines, "EXPUNGE") {
		t.Errorf("UID MOVE with QRESYNC enabled: %q, want VANISHED 2", lines)
	}
	if lines := rc.ok("SEARCH RETURN (ALL) MODSEQ 1"); !containsLine(lines, "ALL 1 MODSEQ ") {
		t.Errorf("ESEARCH with MODSEQ: %q", lines)
	}
	if lines := rc.ok("SELECT INBOX"); !containsLine(lines, "[CLOSED]") {
		t.Errorf("SELECT with a mailbox selected: %q, want OK [CLOSED] first", lines)
	}
}

// TestDialogQResyncWithUIDValidityChangedSendsNothing: a cache of another UIDVALIDITY is worthless, and the
// client gets a plain SELECT (RFC 7162 3.2.5.1).
func TestDialogQResyncWithUIDValidityChangedSendsNothing(t *testing.T) {
	ts := newTestServer(t)
	inbox := filledInbox(t, ts, 3)
	rc := dialLoggedIn(t, ts)
	rc.ok("ENABLE QRESYNC")
	lines := rc.ok("SELECT INBOX (QRESYNC (%d 1 1:3))", inbox.UIDValidity+1)
	if containsLine(lines, "VANISHED") || containsLine(lines, "FETCH") {
		t.Errorf("resync against another UIDVALIDITY: %q", lines)
	}
}

func countContaining(lines []string, substr string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

// TestCondStoreThroughClient drives CONDSTORE with go-imap's client: modseqs in SELECT, FETCH, STORE, SEARCH and
// STATUS, FETCH CHANGEDSINCE, and MODSEQ in another session's flag update.
func TestCondStoreThroughClient(t *testing.T) {
	ts := newTestServer(t)
	inbox := filledInbox(t, ts, 3)
	live := make(chan *imapclient.FetchMessageBuffer, 10) // unsolicited FETCH responses
	c := ts.client(t, &imapclient.UnilateralDataHandler{Fetch: func(msg *imapclient.FetchMessageData) {
		if buf, err := msg.Collect(); err == nil {
			live <- buf
		}
	}})
	if !c.Caps().Has(imap.CapCondStore) || !c.Caps().Has(imap.CapQResync) {
		t.Fatalf("capabilities %v lack CONDSTORE or QRESYNC", c.Caps())
	}
	data, err := c.Select("INBOX", &imap.SelectOptions{CondStore: true}).Wait()
	if err != nil || data.HighestModSeq != inbox.HighestModSeq {
		t.Fatalf("SELECT (CONDSTORE): HIGHESTMODSEQ %d, %v; the store has %d", data.HighestModSeq, err, inbox.HighestModSeq)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1, 2, 3), &imap.FetchOptions{UID: true, ModSeq: true}).Collect()
	if err != nil || len(msgs) != 3 || msgs[0].ModSeq == 0 || msgs[0].ModSeq >= msgs[1].ModSeq || msgs[2].ModSeq != data.HighestModSeq {
		t.Fatalf("FETCH MODSEQ: %+v, %v", msgs, err)
	}
	stored, err := c.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}}, nil).Collect()
	if err != nil || len(stored) != 1 || stored[0].ModSeq != data.HighestModSeq+1 {
		t.Fatalf("STORE with CONDSTORE enabled: %+v, %v; want MODSEQ %d", stored, err, data.HighestModSeq+1)
	}
	changed, err := c.Fetch(imap.SeqSetNum(1, 2, 3), &imap.FetchOptions{Flags: true, ChangedSince: data.HighestModSeq}).Collect()
	if err != nil || len(changed) != 1 || changed[0].SeqNum != 2 || changed[0].ModSeq != stored[0].ModSeq {
		t.Fatalf("FETCH (CHANGEDSINCE %d): %+v, %v; want message 2 only", data.HighestModSeq, changed, err)
	}
	found, err := c.Search(&imap.SearchCriteria{ModSeq: &imap.SearchCriteriaModSeq{ModSeq: data.HighestModSeq + 1}}, nil).Wait()
	if err != nil || !slices.Equal(found.AllSeqNums(), []uint32{2}) || found.ModSeq != stored[0].ModSeq {
		t.Fatalf("SEARCH MODSEQ: %v (MODSEQ %d), %v", found.AllSeqNums(), found.ModSeq, err)
	}
	status, err := c.Status("INBOX", &imap.StatusOptions{HighestModSeq: true}).Wait()
	if err != nil || status.HighestModSeq != stored[0].ModSeq {
		t.Fatalf("STATUS HIGHESTMODSEQ: %+v, %v", status, err)
	}

	other := ts.client(t, nil)
	selectBox(t, other, "INBOX", false)
	if _, err := other.Store(imap.SeqSetNum(3), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Collect(); err != nil {
		t.Fatal(err)
	}
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	select {
	case buf := <-live:
		if buf.SeqNum != 3 || buf.ModSeq != stored[0].ModSeq+1 {
			t.Errorf("another session's flag change arrived as %+v, want message 3 with MODSEQ %d", buf, stored[0].ModSeq+1)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no FETCH for another session's flag change")
	}
}

// TestDialogStoreUnchangedSince: a conditional STORE changes the messages unchanged since the given modseq and
// reports the others as MODIFIED, leaving them alone (RFC 7162 3.1.3).
func TestDialogStoreUnchangedSince(t *testing.T) {
	ts := newTestServer(t)
	inbox := filledInbox(t, ts, 3)
	rc := dialLoggedIn(t, ts)
	rc.ok("SELECT INBOX")
	rc.ok(`STORE 2 +FLAGS.SILENT (\Seen)`) // message 2 now has a modseq above inbox.HighestModSeq
	lines, status := rc.cmd(`STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS (\Flagged)`, inbox.HighestModSeq)
	if !strings.HasPrefix(status, "OK [MODIFIED 2]") {
		t.Errorf("conditional STORE: %s, want OK [MODIFIED 2]", status)
	}
	if countContaining(lines, "FETCH") != 2 || containsLine(lines, "* 2 FETCH") || !containsLine(lines, "MODSEQ (") {
		t.Errorf("conditional STORE responses: %q, want FETCH with MODSEQ for 1 and 3 only", lines)
	}
	if lines := rc.ok("FETCH 2 (FLAGS)"); !containsLine(lines, `FLAGS (\Seen \Recent) MODSEQ`) {
		t.Errorf("message 2 after a STORE that had to leave it alone: %q", lines)
	}
	if lines := rc.ok("FETCH 3 (BODY[TEXT])"); !containsLine(lines, `* 3 FETCH (UID 3 FLAGS (\Seen \Flagged \Recent) MODSEQ (`) {
		t.Errorf("FETCH setting \\Seen with CONDSTORE enabled: %q, want UID, FLAGS and MODSEQ (RFC 7162 3.1)", lines)
	}
	if lines, status := rc.cmd(`UID STORE 1:3 (UNCHANGEDSINCE 1) -FLAGS.SILENT (\Flagged)`); !strings.HasPrefix(status, "OK [MODIFIED 1:3]") ||
		countContaining(lines, "FETCH") != 0 {
		t.Errorf("UID STORE (UNCHANGEDSINCE 1): %s %q, want OK [MODIFIED 1:3] and no FETCH", status, lines)
	}
}

// TestDialogQResyncOnMigratedSchema2Store opens the store of the previous release (../store/testdata/schema2.db,
// see the store's migration test), which migrates, and resynchronises with QRESYNC: from before the migration the
// expunge log cannot answer, so VANISHED (EARLIER) is worked out from the UIDs that still exist (13:15 were
// expunged under schema 2); from after it, the log answers exactly.
func TestDialogQResyncOnMigratedSchema2Store(t *testing.T) {
	fixture, err := os.ReadFile("../store/testdata/schema2.db")
	if err != nil {
		t.Fatal(err)
	}
	ts := serverOnStoreFile(t, fixture)
	inbox, err := ts.st.Mailbox(ts.account.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	rc := dialLoggedIn(t, ts)
	rc.ok("ENABLE QRESYNC")
	lines := rc.ok("SELECT INBOX (QRESYNC (%d 20 1:20))", inbox.UIDValidity)
	if highestModSeqIn(t, lines) != 27 || !containsLine(lines, "* VANISHED (EARLIER) 13:15") {
		t.Errorf("resync from before the migration: %q, want HIGHESTMODSEQ 27 and VANISHED (EARLIER) 13:15", lines)
	}
	for _, want := range []string{"UID 1 FLAGS", "UID 2 FLAGS", "UID 3 FLAGS", `UID 16 FLAGS (\Flagged \Deleted \Recent) MODSEQ (27)`} {
		if !containsLine(lines, want) {
			t.Errorf("resync lacks %q: %q", want, lines)
		}
	}
	if n := countContaining(lines, " FETCH "); n != 4 {
		t.Errorf("%d FETCH responses, want 4 (uids 1, 2, 3, 16): %q", n, lines)
	}
	if lines := rc.ok("EXPUNGE"); !containsLine(lines, "* VANISHED 16") {
		t.Errorf("EXPUNGE: %q", lines)
	}
	lines = rc.ok("EXAMINE INBOX (QRESYNC (%d 27 1:20))", inbox.UIDValidity)
	if !containsLine(lines, "* VANISHED (EARLIER) 16") || containsLine(lines, "13:15") || countContaining(lines, " FETCH ") != 0 {
		t.Errorf("resync from after the migration: %q, want VANISHED (EARLIER) 16 only", lines)
	}
}

// TestDialogNoStaleFlagUpdateAfterOwnStore: another session's flag change is queued, then this session's STORE
// answers with the newer state; the queued update must not follow and take the client's flags and MODSEQ back.
func TestDialogNoStaleFlagUpdateAfterOwnStore(t *testing.T) {
	ts := newTestServer(t)
	filledInbox(t, ts, 1)
	rc := dialLoggedIn(t, ts)
	rc.ok("SELECT INBOX (CONDSTORE)")
	other := dialLoggedIn(t, ts)
	other.ok("SELECT INBOX")
	other.ok(`STORE 1 +FLAGS (\Flagged)`)
	lines := rc.ok(`STORE 1 +FLAGS (\Seen)`)
	last := ""
	for _, l := range lines {
		if strings.HasPrefix(l, "* 1 FETCH") {
			last = l
		}
	}
	if !strings.Contains(last, `FLAGS (\Seen \Flagged \Recent)`) {
		t.Errorf("the last FETCH of message 1 is %q, want its current flags (\\Seen \\Flagged); all: %q", last, lines)
	}
}

// TestDialogVanishedGrouped: with QRESYNC enabled, expunges made together by another session arrive as one
// VANISHED naming them all (RFC 7162 3.2.10), not one line per message.
func TestDialogVanishedGrouped(t *testing.T) {
	ts := newTestServer(t)
	filledInbox(t, ts, 6)
	rc := dialLoggedIn(t, ts)
	rc.ok("ENABLE QRESYNC")
	rc.ok("SELECT INBOX")
	other := dialLoggedIn(t, ts)
	other.ok("SELECT INBOX")
	other.ok(`UID STORE 2:4,6 +FLAGS.SILENT (\Deleted)`)
	other.ok("EXPUNGE")
	lines := rc.ok("NOOP")
	var vanished []string
	for _, l := range lines {
		if set, ok := strings.CutPrefix(l, "* VANISHED "); ok {
			vanished = append(vanished, set)
		}
	}
	if len(vanished) != 1 {
		t.Fatalf("expunge of four messages: %q, want one VANISHED", lines)
	}
	got := expandSet(t, vanished[0])
	slices.Sort(got)
	if !slices.Equal(got, []uint32{2, 3, 4, 6}) {
		t.Errorf("VANISHED %s, want UIDs 2:4,6", vanished[0])
	}

	// The session's own EXPUNGE is reported the same way.
	rc.ok(`UID STORE 1,5 +FLAGS.SILENT (\Deleted)`)
	lines = rc.ok("EXPUNGE")
	if n := countContaining(lines, "* VANISHED "); n != 1 || !containsLine(lines, "* VANISHED 1,5") && !containsLine(lines, "* VANISHED 5,1") {
		t.Errorf("own EXPUNGE of two messages: %q, want one VANISHED 1,5", lines)
	}
}
