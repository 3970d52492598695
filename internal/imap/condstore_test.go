package imap

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

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
	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
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

	other := dialRaw(t, ts.addr)
	other.ok("LOGIN %s %q", testUser, testPassword)
	other.ok("SELECT INBOX")
	other.ok(`UID STORE 2 +FLAGS (\Seen)`)
	other.ok(`UID STORE 3 +FLAGS (\Deleted)`)
	other.ok("EXPUNGE")

	rc = dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
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
	if lines := rc.ok("SELECT INBOX"); !containsLine(lines, "[CLOSED]") {
		t.Errorf("SELECT with a mailbox selected: %q, want OK [CLOSED] first", lines)
	}
}

// TestDialogQResyncWithUIDValidityChangedSendsNothing: a cache of another UIDVALIDITY is worthless, and the
// client gets a plain SELECT (RFC 7162 3.2.5.1).
func TestDialogQResyncWithUIDValidityChangedSendsNothing(t *testing.T) {
	ts := newTestServer(t)
	inbox := filledInbox(t, ts, 3)
	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
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
