package imap

import (
	"fmt"
	"io"
	"strings"
	"testing"
)

// catenateBase is the message the URLs of these tests point at: INBOX UID 1, a multipart message.
const catenateBase = "From: an@example.gov.vn\r\nSubject: base\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
	"--b\r\nContent-Type: text/plain\r\n\r\nphần một\r\n--b\r\nContent-Type: text/plain\r\n\r\nphần hai\r\n--b--\r\n"

// literal is a LITERAL+ literal of s.
func literal(s string) string { return fmt.Sprintf("{%d+}\r\n%s", len(s), s) }

// fetchBody returns BODY[] of message seq of the selected mailbox, read from its literal.
func (rc *rawConn) fetchBody(seq int) string {
	rc.t.Helper()
	rc.tag++
	tag := fmt.Sprintf("T%d", rc.tag)
	fmt.Fprintf(rc.c, "%s FETCH %d BODY.PEEK[]\r\n", tag, seq)
	line := rc.readLine()
	var n int
	if i := strings.LastIndexByte(line, '{'); i < 0 {
		rc.t.Fatalf("FETCH: %s", line)
	} else if _, err := fmt.Sscanf(line[i:], "{%d}", &n); err != nil {
		rc.t.Fatalf("FETCH: %s", line)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(rc.r, body); err != nil {
		rc.t.Fatal(err)
	}
	for !strings.HasPrefix(rc.readLine(), tag+" ") {
	}
	return string(body)
}

func TestDialogCatenate(t *testing.T) {
	ts := newTestServer(t)
	rc := dialLoggedIn(t, ts)
	rc.ok("APPEND INBOX %s", literal(catenateBase))
	lines := rc.ok("SELECT INBOX")
	var uidValidity uint32
	for _, l := range lines {
		fmt.Sscanf(l, "* OK [UIDVALIDITY %d]", &uidValidity)
	}
	if lines := rc.ok("CAPABILITY"); !containsLine(lines, " CATENATE") {
		t.Errorf("CAPABILITY: %q", lines)
	}
	rc.ok("CREATE Dest")
	header := "From: an@example.gov.vn\r\nSubject: base\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
	for _, c := range []struct{ parts, want string }{
		{`URL "/INBOX/;uid=1/;section=HEADER" TEXT ` + literal("thân\r\n"), header + "thân\r\n"},
		{fmt.Sprintf(`URL "/INBOX;UIDVALIDITY=%d/;UID=1/;SECTION=HEADER" TEXT %s`, uidValidity, literal("b\r\n")), header + "b\r\n"},
		{`TEXT ` + literal("Subject: x\r\n\r\n") + ` URL "/INBOX/;uid=1/;section=2"`, "Subject: x\r\n\r\nphần hai"},
		{`TEXT ` + literal("Subject: y\r\n\r\n") + ` URL "imap://an@localhost/INBOX/;uid=1/;section=1.MIME"`, "Subject: y\r\n\r\nContent-Type: text/plain\r\n\r\n"},
		{`URL "/INBOX/;uid=1/;section=HEADER.FIELDS%20(SUBJECT)" TEXT ` + literal("z\r\n"), "Subject: base\r\n\r\nz\r\n"},
		{`URL "/INBOX/;uid=1/;partial=0.5" TEXT ` + literal(" x\r\n\r\n"), "From: x\r\n\r\n"},
		{`URL "/INBOX/;uid=1"`, catenateBase},
	} {
		rc.ok("APPEND Dest CATENATE (%s)", c.parts)
		var n int
		for _, l := range rc.ok("EXAMINE Dest") {
			if k, ok := strings.CutSuffix(l, " EXISTS"); ok {
				fmt.Sscanf(k, "* %d", &n)
			}
		}
		if got := rc.fetchBody(n); got != c.want {
			t.Errorf("CATENATE (%s): %q, want %q", c.parts, got, c.want)
		}
	}
}

func TestDialogCatenateErrors(t *testing.T) {
	ts := newTestServer(t, func(c *testConfig) { c.opts.AppendLimit = 1000 })
	rc := dialLoggedIn(t, ts)
	rc.ok("APPEND INBOX %s", literal(catenateBase))
	rc.ok("CREATE Dest")
	for _, c := range []struct{ cmd, want string }{
		{`APPEND Dest CATENATE (TEXT ` + literal("a: 1\r\n\r\n") + ` URL "/INBOX;UIDVALIDITY=12345/;UID=1/;SECTION=HEADER" TEXT ` + literal("b\r\n") + `)`,
			`NO [BADURL "/INBOX;UIDVALIDITY=12345/;UID=1/;SECTION=HEADER"]`},
		{`APPEND Dest CATENATE (URL "/INBOX/;UID=99")`, `NO [BADURL "/INBOX/;UID=99"]`},
		{`APPEND Dest CATENATE (URL "/Nowhere/;UID=1")`, `NO [BADURL "/Nowhere/;UID=1"]`},
		{`APPEND Dest CATENATE (URL "/INBOX/;UID=1/;SECTION=9")`, `NO [BADURL `},
		{`APPEND Dest CATENATE (URL "/INBOX/;UID=1/;URLAUTH=anonymous")`, `NO [BADURL `},
		{`APPEND Nowhere CATENATE (URL "/INBOX;UIDVALIDITY=12345/;UID=1" TEXT ` + literal("x\r\n") + `)`, "NO [TRYCREATE]"},
		{`APPEND Dest CATENATE (` + strings.Repeat(`URL "/INBOX/;UID=1" `, 6) + `TEXT ` + literal("x") + `)`, "NO [TOOBIG]"},
		{`APPEND Dest CATENATE (TEXT {2000}`, "NO [TOOBIG]"},
	} {
		if _, status := rc.cmd("%s", c.cmd); !strings.HasPrefix(status, c.want) {
			t.Errorf("%s: %s, want %s", c.cmd, status, c.want)
		}
	}
	// Nothing was appended, and the session is in step.
	if lines := rc.ok("STATUS Dest (MESSAGES)"); !containsLine(lines, "MESSAGES 0") {
		t.Errorf("after the refusals: %q", lines)
	}

	// A syntax error among the parts leaves no telling where the command ends (a non-synchronizing literal later
	// on its line would be read as commands): BAD, then BYE.
	for _, cmd := range []string{`APPEND Dest CATENATE ()`, `APPEND Dest CATENATE (FILE "x")`} {
		rc := dialLoggedIn(t, ts)
		if _, status := rc.cmd("%s", cmd); !strings.HasPrefix(status, "BAD") {
			t.Errorf("%s: %s, want BAD", cmd, status)
		}
		if rest := rc.readUntilClosed(); !containsLine(rest, "* BYE") {
			t.Errorf("%s: after BAD %q, want BYE and the end of the connection", cmd, rest)
		}
	}
}

// TestDialogCatenateInMultiAppend: a CATENATE message among the messages of a MULTIAPPEND is stored with them in
// one commit, and a bad URL in any of them stores none (RFC 4469 section 5, RFC 3502).
func TestDialogCatenateInMultiAppend(t *testing.T) {
	ts := newTestServer(t)
	rc := dialLoggedIn(t, ts)
	rc.ok("APPEND INBOX %s", literal(catenateBase))
	rc.ok("CREATE Dest")

	_, status := rc.cmd(`APPEND Dest %s (\Seen) CATENATE (TEXT %s URL "/INBOX/;uid=1/;section=1") %s`,
		literal("Subject: one\r\n\r\nmột\r\n"), literal("Subject: two\r\n\r\n"), literal("Subject: three\r\n\r\nba\r\n"))
	if !strings.HasPrefix(status, "OK [APPENDUID ") || !strings.Contains(status, " 1:3]") {
		t.Errorf("MULTIAPPEND with CATENATE: %s, want OK with the APPENDUID of UIDs 1:3", status)
	}
	rc.ok("EXAMINE Dest")
	if got, want := rc.fetchBody(2), "Subject: two\r\n\r\nphần một"; got != want {
		t.Errorf("the catenated message: %q, want %q", got, want)
	}

	_, status = rc.cmd(`APPEND Dest %s CATENATE (TEXT %s URL "/INBOX/;uid=99")`,
		literal("Subject: four\r\n\r\n"), literal("Subject: five\r\n\r\n"))
	if !strings.HasPrefix(status, `NO [BADURL "/INBOX/;uid=99"]`) {
		t.Errorf("a bad URL in the second message: %s, want NO [BADURL]", status)
	}
	if lines := rc.ok("STATUS Dest (MESSAGES)"); !containsLine(lines, "MESSAGES 3") {
		t.Errorf("after the refused MULTIAPPEND: %q, want the 3 messages of the first only", lines)
	}
}
