package imap

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/store"
)

// appendPart is one message of a MULTIAPPEND: what precedes its literal (flags, date; "" for none) and its bytes.
type appendPart struct{ head, body string }

func mail(subject string) appendPart {
	return appendPart{body: "From: an@example.gov.vn\r\nSubject: " + subject + "\r\n\r\nNội dung " + subject + ".\r\n"}
}

// write sends raw bytes.
func (rc *rawConn) write(s string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc.c, s); err != nil {
		rc.t.Fatal(err)
	}
}

// multiAppend sends one APPEND of parts with synchronizing literals, each after the server's continuation
// request, and returns the tagged status. It stops at the first literal the server answers with a tagged reply
// instead of a continuation request, as a client does.
func (rc *rawConn) multiAppend(mailbox string, parts ...appendPart) string {
	rc.t.Helper()
	rc.tag++
	tag := fmt.Sprintf("T%d", rc.tag)
	line := tag + " APPEND " + mailbox
	for _, p := range parts {
		rc.write(fmt.Sprintf("%s %s{%d}\r\n", line, p.head, len(p.body)))
		reply := rc.readLine()
		if strings.HasPrefix(reply, tag+" ") {
			return strings.TrimPrefix(reply, tag+" ")
		}
		if !strings.HasPrefix(reply, "+") {
			rc.t.Fatalf("APPEND: %q instead of a continuation request", reply)
		}
		line = p.body
	}
	rc.write(line + "\r\n")
	return rc.status(tag)
}

// multiAppendNonSync sends one APPEND of parts with non-synchronizing literals (LITERAL+) in one go.
func (rc *rawConn) multiAppendNonSync(mailbox string, parts ...appendPart) (tag string) {
	rc.t.Helper()
	rc.tag++
	tag = fmt.Sprintf("T%d", rc.tag)
	var b strings.Builder
	b.WriteString(tag + " APPEND " + mailbox)
	for _, p := range parts {
		fmt.Fprintf(&b, " %s{%d+}\r\n%s", p.head, len(p.body), p.body)
	}
	rc.write(b.String() + "\r\n")
	return tag
}

// status reads up to the tagged reply of tag.
func (rc *rawConn) status(tag string) string {
	rc.t.Helper()
	for {
		if line := rc.readLine(); strings.HasPrefix(line, tag+" ") {
			return strings.TrimPrefix(line, tag+" ")
		}
	}
}

func (ts *testServer) inboxMessages(t *testing.T) []store.Message {
	t.Helper()
	mb, err := ts.st.Mailbox(ts.account.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	uids, err := ts.st.UIDs(mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := ts.st.Messages(mb.ID, uids, store.FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// TestDialogMultiAppend: MULTIAPPEND (RFC 3502) stores every message of one APPEND, each with its own flags and
// date, and APPENDUID names all their UIDs (RFC 4315), with synchronizing and with LITERAL+ literals.
func TestDialogMultiAppend(t *testing.T) {
	ts := newTestServer(t)
	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	if caps := rc.ok("CAPABILITY"); !containsLine(caps, " MULTIAPPEND") {
		t.Errorf("capabilities lack MULTIAPPEND: %q", caps)
	}
	validity := ts.inboxValidity(t)
	first, second, third := mail("một"), mail("hai"), mail("ba")
	first.head = `(\Seen) `
	second.head = `(\Flagged $Label1) "01-Feb-2026 08:30:00 +0700" `
	status := rc.multiAppend("INBOX", first, second, third)
	if want := fmt.Sprintf("OK [APPENDUID %d 1:3]", validity); !strings.HasPrefix(status, want) {
		t.Fatalf("APPEND of three messages: %q, want %q", status, want)
	}
	status = rc.status(rc.multiAppendNonSync("INBOX", mail("bốn"), mail("năm")))
	if want := fmt.Sprintf("OK [APPENDUID %d 4:5]", validity); !strings.HasPrefix(status, want) {
		t.Fatalf("APPEND of two LITERAL+ messages: %q, want %q", status, want)
	}
	msgs := ts.inboxMessages(t)
	if len(msgs) != 5 {
		t.Fatalf("INBOX holds %d messages, want 5", len(msgs))
	}
	for i, subject := range []string{"một", "hai", "ba", "bốn", "năm"} {
		body := make([]byte, msgs[i].BodySize)
		if _, err := ts.st.Body(msgs[i].Body, msgs[i].BodySize).ReadAt(body, 0); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if !strings.Contains(string(body), "Subject: "+subject+"\r\n") {
			t.Errorf("message %d is not %q:\n%s", i+1, subject, body)
		}
	}
	if !slices.Equal(msgs[0].Flags, []string{`\Seen`}) || !slices.Contains(msgs[1].Flags, "$Label1") || len(msgs[2].Flags) != 0 {
		t.Errorf("flags %q %q %q", msgs[0].Flags, msgs[1].Flags, msgs[2].Flags)
	}
	if date := msgs[1].InternalDate; !date.Equal(time.Date(2026, 2, 1, 1, 30, 0, 0, time.UTC)) {
		t.Errorf("internal date of the second message %v", date)
	}
	rc.ok("NOOP")
}

func (ts *testServer) inboxValidity(t *testing.T) uint32 {
	t.Helper()
	mb, err := ts.st.Mailbox(ts.account.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return mb.UIDValidity
}

// TestDialogMultiAppendAllOrNothing: an APPEND refused in the middle stores none of its messages, and the session
// stays in step: over the quota for the total, a literal over APPENDLIMIT (no continuation request), the total over
// APPENDLIMIT, and LITERAL+ messages after a refusal, whose bytes are dropped, never run as commands.
func TestDialogMultiAppendAllOrNothing(t *testing.T) {
	ts := newTestServer(t, func(c *testConfig) { c.opts.AppendLimit = 1000 })
	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	one, two := mail("một"), mail("hai")

	setQuota(t, ts.st, testUser, int64(len(one.body)+len(two.body)-1)) // room for either, not for both
	if status := rc.multiAppend("INBOX", one, two); !strings.HasPrefix(status, "NO [OVERQUOTA]") {
		t.Errorf("APPEND over the quota in total: %q", status)
	}
	// An account already full is refused before the first literal is sent.
	setQuota(t, ts.st, testUser, 0)
	if status := rc.multiAppend("INBOX", one); !strings.HasPrefix(status, "OK") {
		t.Fatalf("APPEND: %q", status)
	}
	setQuota(t, ts.st, testUser, mustAccount(t, ts.st, testUser).Used)
	rc.write(fmt.Sprintf("full APPEND INBOX {%d}\r\n", len(one.body)))
	if reply := rc.readLine(); !strings.HasPrefix(reply, "full NO [OVERQUOTA]") {
		t.Errorf("APPEND to a full account: %q, want NO [OVERQUOTA] instead of a continuation request", reply)
	}
	rc.ok("NOOP")
	setQuota(t, ts.st, testUser, 0)
	expungeInbox(t, ts)

	big := appendPart{body: strings.Repeat("x", 2000)}
	if status := rc.multiAppend("INBOX", one, big); !strings.HasPrefix(status, "NO [TOOBIG]") {
		t.Errorf("APPEND with a second literal over APPENDLIMIT: %q", status)
	}
	rc.ok("NOOP")

	part := appendPart{body: "Subject: x\r\n\r\n" + strings.Repeat("y", 400)}
	if status := rc.multiAppend("INBOX", part, part, part); !strings.HasPrefix(status, "NO [LIMIT]") {
		t.Errorf("APPEND of more than APPENDLIMIT in total: %q", status)
	}

	injected := appendPart{body: "x\r\nc CREATE INJECTED\r\n"}
	if status := rc.status(rc.multiAppendNonSync("Missing", injected, injected)); !strings.HasPrefix(status, "NO [TRYCREATE]") {
		t.Errorf("LITERAL+ APPEND to a missing mailbox: %q", status)
	}
	rc.ok("NOOP")

	// After a syntax error, the rest of the line may announce a LITERAL+ literal: BAD, then BYE.
	for _, parts := range [][]appendPart{
		{one, {head: "(", body: "c CREATE INJECTED\r\n"}},
		{{head: "NOSUCHEXT ", body: "c CREATE INJECTED\r\n"}},
	} {
		bad := dialRaw(t, ts.addr)
		bad.ok("LOGIN %s %q", testUser, testPassword)
		tag := bad.multiAppendNonSync("INBOX", parts...)
		if lines := bad.readUntilClosed(); !containsLine(lines, tag+" BAD") || !containsLine(lines, "* BYE") || containsLine(lines, "c OK") {
			t.Errorf("LITERAL+ APPEND with a syntax error (%q): %q", parts[len(parts)-1].head, lines)
		}
	}
	if list := rc.ok(`LIST "" "INJECTED"`); containsLine(list, "INJECTED") {
		t.Errorf("a refused APPEND's literal ran as a command: %q", list)
	}
	if msgs := ts.inboxMessages(t); len(msgs) != 0 {
		t.Errorf("INBOX holds %d messages after refused APPENDs, want none", len(msgs))
	}
}

// TestDialogMultiAppendOversizedNonSyncLiteral: a LITERAL+ literal over APPENDLIMIT in the middle of an APPEND
// cannot be skipped (its bytes come anyway, and there is no telling where the command ends): NO [TOOBIG], BYE, and
// nothing stored.
func TestDialogMultiAppendOversizedNonSyncLiteral(t *testing.T) {
	ts := newTestServer(t, func(c *testConfig) { c.opts.AppendLimit = 1000 })
	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	payload := "x\r\nc CREATE INJECTED\r\n" + strings.Repeat("y", 2000)
	tag := rc.multiAppendNonSync("INBOX", mail("một"), appendPart{body: payload})
	lines := rc.readUntilClosed()
	if !containsLine(lines, tag+" NO [TOOBIG]") || !containsLine(lines, "* BYE") || containsLine(lines, "c OK") {
		t.Errorf("replies: %q; want NO [TOOBIG], then BYE and the end of the connection", lines)
	}
	if msgs := ts.inboxMessages(t); len(msgs) != 0 {
		t.Errorf("INBOX holds %d messages, want none", len(msgs))
	}
}

// TestDialogMultiAppendDisconnectInTheMiddle: a client that goes away in the middle of an APPEND, its first message
// sent and the second half sent, leaves nothing stored.
func TestDialogMultiAppendDisconnectInTheMiddle(t *testing.T) {
	ts := newTestServer(t)
	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	first, second := mail("một"), mail("hai")
	rc.write(fmt.Sprintf("T1 APPEND INBOX {%d}\r\n", len(first.body)))
	if reply := rc.readLine(); !strings.HasPrefix(reply, "+") {
		t.Fatalf("APPEND: %q", reply)
	}
	rc.write(fmt.Sprintf("%s {%d}\r\n", first.body, len(second.body)))
	if reply := rc.readLine(); !strings.HasPrefix(reply, "+") {
		t.Fatalf("APPEND, second message: %q", reply)
	}
	rc.write(second.body[:len(second.body)/2])
	rc.c.Close()
	ts.waitForNoSessions(t)
	if msgs := ts.inboxMessages(t); len(msgs) != 0 {
		t.Errorf("INBOX holds %d messages after the client went away in the middle of APPEND, want none", len(msgs))
	}
}

// waitForNoSessions waits, a few seconds at most, until the server has closed every session.
func (ts *testServer) waitForNoSessions(t *testing.T) {
	t.Helper()
	for range 500 {
		ts.srv.mu.Lock()
		n := len(ts.srv.sessions)
		ts.srv.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the server still has sessions open")
}

// expungeInbox removes every message of the INBOX, as a client's STORE \Deleted and EXPUNGE would.
func expungeInbox(t *testing.T, ts *testServer) {
	t.Helper()
	c := ts.client(t, nil)
	selectBox(t, c, "INBOX", false)
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	c.Logout().Wait()
}
