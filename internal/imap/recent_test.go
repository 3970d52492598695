package imap

import (
	"slices"
	"strings"
	"testing"
)

// fetchFlagsLine is the FETCH FLAGS response for message seq.
func fetchFlagsLine(rc *rawConn, seq string) string {
	rc.t.Helper()
	lines := rc.ok("FETCH %s (FLAGS)", seq)
	for _, l := range lines {
		if strings.HasPrefix(l, "* "+seq+" FETCH") {
			return l
		}
	}
	rc.t.Fatalf("FETCH %s: %q", seq, lines)
	return ""
}

// TestDialogRecent: a message is \Recent in exactly one session, the first to SELECT the mailbox after it arrived
// (RFC 3501 2.3.2); EXAMINE and STATUS count it without taking it; a message arriving while sessions have the
// mailbox selected is recent in the first of them only, and still in none after it leaves; IMAP4rev2 sessions
// are never shown it.
func TestDialogRecent(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t, nil)
	fillInbox(t, c, 2)
	a, b := dialRaw(t, ts.addr), dialRaw(t, ts.addr)
	for _, rc := range []*rawConn{a, b} {
		rc.ok("LOGIN %s %q", testUser, testPassword)
	}
	if lines := a.ok("EXAMINE INBOX"); !slices.Contains(lines, "* 2 RECENT") {
		t.Errorf("EXAMINE: %q", lines)
	}
	if l := fetchFlagsLine(a, "1"); !strings.Contains(l, `\Recent`) {
		t.Errorf("FETCH FLAGS after EXAMINE: %s", l)
	}
	a.ok("CLOSE")
	if lines := a.ok("STATUS INBOX (RECENT)"); !containsLine(lines, "RECENT 2") {
		t.Errorf("STATUS after EXAMINE: %q", lines)
	}
	if lines := a.ok("SELECT INBOX"); !slices.Contains(lines, "* 2 RECENT") {
		t.Errorf("SELECT: %q", lines)
	}
	if lines := b.ok("SELECT INBOX"); !slices.Contains(lines, "* 0 RECENT") {
		t.Errorf("SELECT in a second session: %q", lines)
	}
	a.ok(`STORE 1 +FLAGS (\Seen)`)
	for search, want := range map[string]string{"RECENT": "* SEARCH 1 2", "NEW": "* SEARCH 2", "OLD": "* SEARCH"} {
		if lines := a.ok("SEARCH %s", search); !slices.Contains(lines, want) {
			t.Errorf("SEARCH %s: %q, want %s", search, lines, want)
		}
	}
	if lines := b.ok("SEARCH RECENT"); !slices.Contains(lines, "* SEARCH") {
		t.Errorf("SEARCH RECENT in the second session: %q", lines)
	}

	appendMsg(t, c, "INBOX", []byte("Subject: 3\r\n\r\nba\r\n"), nil)
	if lines := a.ok("NOOP"); !slices.Equal(lines, []string{"* 3 EXISTS", "* 3 RECENT"}) {
		t.Errorf("NOOP after a delivery, first session: %q", lines)
	}
	if lines := b.ok("NOOP"); !slices.Contains(lines, "* 3 EXISTS") || containsLine(lines, "RECENT") && !slices.Contains(lines, "* 0 RECENT") {
		t.Errorf("NOOP after a delivery, second session: %q", lines)
	}
	if l := fetchFlagsLine(a, "3"); !strings.Contains(l, `\Recent`) {
		t.Errorf("first session FETCH 3: %s", l)
	}
	if l := fetchFlagsLine(b, "3"); strings.Contains(l, `\Recent`) {
		t.Errorf("second session FETCH 3: %s", l)
	}
	a.ok("CLOSE")
	if lines := b.ok("STATUS INBOX (RECENT)"); !containsLine(lines, "RECENT 0") {
		t.Errorf("STATUS after the first session left: %q", lines)
	}
	b.ok("CLOSE")
	if lines := a.ok("SELECT INBOX"); !slices.Contains(lines, "* 0 RECENT") {
		t.Errorf("SELECT after everyone left: %q", lines)
	}
	a.ok("CLOSE")

	rev2 := dialRaw(t, ts.addr)
	rev2.ok("LOGIN %s %q", testUser, testPassword)
	rev2.ok("ENABLE IMAP4rev2")
	appendMsg(t, c, "INBOX", []byte("Subject: 4\r\n\r\nbon\r\n"), nil)
	if lines := rev2.ok("SELECT INBOX"); containsLine(lines, "RECENT") {
		t.Errorf("IMAP4rev2 SELECT: %q", lines)
	}
	if l := fetchFlagsLine(rev2, "4"); strings.Contains(l, `\Recent`) {
		t.Errorf("IMAP4rev2 FETCH FLAGS: %s", l)
	}
	if lines := a.ok("STATUS INBOX (RECENT)"); !containsLine(lines, "RECENT 0") {
		t.Errorf("STATUS after an IMAP4rev2 session took the new message: %q", lines)
	}
}
