package imap

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"mailserver/internal/store"
)

func TestDialogNotifyStatusOfOtherMailboxes(t *testing.T) {
	ts := newTestServer(t)
	a, b := dialLoggedIn(t, ts), dialLoggedIn(t, ts)
	if lines := a.ok("CAPABILITY"); !containsLine(lines, " NOTIFY") {
		t.Errorf("CAPABILITY: %q", lines)
	}
	a.ok("CREATE Work")
	lines := a.ok("NOTIFY SET STATUS (personal (MessageNew MessageExpunge FlagChange))")
	if !containsLine(lines, `* STATUS "Work" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY `) || !containsLine(lines, "* STATUS INBOX (") {
		t.Errorf("NOTIFY SET STATUS: %q", lines)
	}

	b.ok("APPEND Work {12+}\r\nSubject: x\r\n")
	lines = a.ok("NOOP")
	if !containsLine(lines, `* STATUS "Work" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY `) || len(lines) != 1 {
		t.Errorf("after an APPEND by another session: %q", lines)
	}
	b.ok("SELECT Work")
	b.ok(`STORE 1 +FLAGS.SILENT (\Seen)`)
	if lines = a.ok("NOOP"); !containsLine(lines, "HIGHESTMODSEQ ") {
		t.Errorf("after a flag change: %q", lines)
	}

	// The selected mailbox gets its usual updates, no STATUS.
	a.ok("SELECT INBOX")
	b.ok("APPEND INBOX {12+}\r\nSubject: y\r\n")
	if lines = a.ok("NOOP"); !slices.Contains(lines, "* 1 EXISTS") || containsLine(lines, "STATUS") {
		t.Errorf("new mail in the selected mailbox: %q", lines)
	}

	a.ok("NOTIFY NONE")
	b.ok("APPEND Work {12+}\r\nSubject: z\r\n")
	if lines = a.ok("NOOP"); len(lines) != 0 {
		t.Errorf("after NOTIFY NONE: %q", lines)
	}
}

func TestDialogNotifyMailboxNamesAndSubscriptions(t *testing.T) {
	ts := newTestServer(t)
	a, b := dialLoggedIn(t, ts), dialLoggedIn(t, ts)
	a.ok("NOTIFY SET (subtree Projects (MailboxName SubscriptionChange)) (mailboxes Other (MessageNew MessageExpunge))")
	for _, c := range []struct{ cmd, want string }{
		{"CREATE Projects/A", `* LIST () "/" "Projects/A"`},
		{"RENAME Projects/A Projects/B", `* LIST () "/" "Projects/B" (OLDNAME ("Projects/A"))`},
		{"UNSUBSCRIBE Projects/B", `* LIST () "/" "Projects/B"`},
		{"SUBSCRIBE Projects/B", `* LIST (\Subscribed) "/" "Projects/B"`},
		{"DELETE Projects/B", `* LIST (\NonExistent) "/" "Projects/B"`},
	} {
		b.ok("%s", c.cmd)
		if lines := a.ok("NOOP"); !slices.Contains(lines, c.want) {
			t.Errorf("%s: %q, want %q", c.cmd, lines, c.want)
		}
	}
	// Outside the filter: nothing.
	b.ok("CREATE Other")
	if lines := a.ok("NOOP"); len(lines) != 0 {
		t.Errorf("CREATE outside the filter: %q", lines)
	}
	// A mailbox created after NOTIFY SET is watched once it exists.
	b.ok("APPEND Other {12+}\r\nSubject: x\r\n")
	if lines := a.ok("NOOP"); !containsLine(lines, `* STATUS "Other" (MESSAGES 1 `) {
		t.Errorf("new mail in a mailbox created after NOTIFY: %q", lines)
	}
}

func TestDialogNotifyInIdleWithoutSelection(t *testing.T) {
	ts := newTestServer(t)
	a, b := dialLoggedIn(t, ts), dialLoggedIn(t, ts)
	a.ok("NOTIFY SET (inboxes (MessageNew MessageExpunge))")
	a.startIdle()
	b.ok("APPEND INBOX {12+}\r\nSubject: x\r\n")
	if line := a.readLine(); !strings.HasPrefix(line, "* STATUS INBOX (MESSAGES 1 UIDNEXT 2 ") {
		t.Errorf("in IDLE: %s", line)
	}
	a.endIdle()
}

func TestDialogNotifyRefusals(t *testing.T) {
	ts := newTestServer(t)
	a := dialLoggedIn(t, ts)
	for _, c := range []struct{ args, want string }{
		{"SET (personal (AnnotationChange))", "NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)]"},
		{"SET (personal (MessageNew (UID FLAGS) MessageExpunge))", "BAD"},
		{"SET (personal (MessageNew))", "BAD"},
		{"SET (personal (FlagChange))", "BAD"},
		{"SET (everything (MessageNew MessageExpunge))", "BAD"},
		{"SOMETIMES", "BAD"},
	} {
		if _, status := a.cmd("NOTIFY %s", c.args); !strings.HasPrefix(status, c.want) {
			t.Errorf("NOTIFY %s: %s, want %s", c.args, status, c.want)
		}
	}
	a.ok("NOTIFY SET (personal NONE)")
}

// TestDialogNotifyOverflow: a session that does not read while more than maxNotifyBacklog changes pile up is told
// NOTIFICATIONOVERFLOW, and notifications stop.
func TestDialogNotifyOverflow(t *testing.T) {
	ts := newTestServer(t)
	a := dialLoggedIn(t, ts)
	a.ok("NOTIFY SET (personal (MailboxName MessageNew MessageExpunge))")
	for i := 0; i <= maxNotifyBacklog; i++ {
		if _, err := ts.st.CreateMailbox(ts.account.ID, fmt.Sprintf("box%d", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	lines := a.ok("NOOP")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "* OK [NOTIFICATIONOVERFLOW]") {
		t.Errorf("overflow: %d lines, first %q", len(lines), lines[:min(len(lines), 1)])
	}
	if _, err := ts.st.CreateMailbox(ts.account.ID, "later", ""); err != nil {
		t.Fatal(err)
	}
	if lines := a.ok("NOOP"); len(lines) != 0 {
		t.Errorf("after the overflow: %q", lines)
	}
}

// TestDialogNotifyFetchesNewMessages: MessageNew with fetch attributes for the selected mailbox sends them after
// the EXISTS, without marking the message read.
func TestDialogNotifyFetchesNewMessages(t *testing.T) {
	ts := newTestServer(t)
	a, b := dialLoggedIn(t, ts), dialLoggedIn(t, ts)
	b.ok("APPEND INBOX {12+}\r\nSubject: x\r\n")
	a.ok("SELECT INBOX")
	a.ok("NOTIFY SET (selected (MessageNew (UID FLAGS BODY[HEADER.FIELDS (SUBJECT)]) MessageExpunge))")
	b.ok("APPEND INBOX {14+}\r\nSubject: mới\r\n")
	lines := a.ok("NOOP")
	exists := slices.Index(lines, "* 2 EXISTS")
	fetch := slices.IndexFunc(lines, func(l string) bool {
		return strings.HasPrefix(l, `* 2 FETCH (UID 2 FLAGS (\Recent) BODY[HEADER.FIELDS ("SUBJECT")] {`)
	})
	if exists < 0 || fetch < exists || containsLine(lines, "* 1 FETCH") {
		t.Errorf("new message: %q, want EXISTS then a FETCH of message 2 only", lines)
	}
	if lines := a.ok("NOOP"); len(lines) != 0 {
		t.Errorf("second NOOP: %q", lines)
	}
	if lines := a.ok("FETCH 2 FLAGS"); !slices.Contains(lines, `* 2 FETCH (FLAGS (\Recent))`) {
		t.Errorf("the notification marked the message read: %q", lines)
	}
}

// TestDialogNotifySharedMailbox: a delivery into a shared mailbox the user may read, and a folder created there,
// are told under the shared namespace's names.
func TestDialogNotifySharedMailbox(t *testing.T) {
	f := newSharedFixture(t, 0)
	f.grant(t, testUser, store.RightRead)
	a := dialLoggedIn(t, f.testServer)
	a.ok("ENABLE UTF8=ACCEPT")
	a.ok("NOTIFY SET (subtree Shared (MessageNew MessageExpunge MailboxName))")
	f.deliver(t, "Subject: Công văn\r\n\r\nnội dung\r\n")
	if lines := a.ok("NOOP"); !containsLine(lines, fmt.Sprintf(`* STATUS "%s" (MESSAGES 1 UIDNEXT 2 `, sharedInbox)) {
		t.Errorf("delivery into the shared mailbox: %q", lines)
	}
	if _, err := f.st.CreateMailbox(f.shared.ID, "Hồ sơ", ""); err != nil {
		t.Fatal(err)
	}
	if lines := a.ok("NOOP"); !slices.Contains(lines, fmt.Sprintf(`* LIST () "/" "%s/Hồ sơ"`, sharedInbox)) {
		t.Errorf("folder created in the shared mailbox: %q", lines)
	}
}
