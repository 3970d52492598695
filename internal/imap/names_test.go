package imap

import (
	"strings"
	"testing"
)

// TestDialogListPatternsThatMatchNothing: a LIST pattern that is not valid modified UTF-7, or holds a control
// character, can match no mailbox name, so LIST lists nothing and succeeds (RFC 9051 6.3.9) instead of failing
// with NO [SERVERBUG]. The first pattern is the one imaptest's atoms script sends (every atom-special but "%*").
func TestDialogListPatternsThatMatchNothing(t *testing.T) {
	ts := newTestServer(t)
	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	rc.ok(`CREATE "Báo cáo tuần"`)
	for _, pattern := range []string{
		"!#$&'+,-.0123456789:;<=>?@^_`|[}%*",
		`"&Jjo"`,
		`"&AAA-*"`,
		"{3+}\r\na\x00*",
	} {
		lines, status := rc.cmd(`LIST "" %s`, pattern)
		if status != "OK LIST completed" || len(lines) != 0 {
			t.Errorf("LIST %q: %q %s", pattern, lines, status)
		}
		lines, status = rc.cmd(`LSUB "" %s`, pattern)
		if status != "OK LSUB completed" || len(lines) != 0 {
			t.Errorf("LSUB %q: %q %s", pattern, lines, status)
		}
	}
	// With other patterns, those that can match still list.
	lines := rc.ok(`LIST "" ("&Jjo" INBOX "B&AOE-o c&AOE-o tu&Hqc-n")`)
	if len(lines) != 2 || !containsLine(lines, `"/" INBOX`) || !containsLine(lines, `"B&AOE-o c&AOE-o tu&Hqc-n"`) {
		t.Errorf("LIST with one pattern that matches nothing: %q", lines)
	}
	// Quoted patterns with spaces are ordinary patterns.
	if lines := rc.ok(`LIST "" "B&AOE-o c&AOE-o *"`); len(lines) != 1 {
		t.Errorf(`LIST "B&AOE-o c&AOE-o *": %q`, lines)
	}
}

// TestDialogInvalidMailboxNames: a name that is not valid modified UTF-7 gets NO with its reason, one with a NUL
// or another control character BAD; neither is a server error, and the session goes on.
func TestDialogInvalidMailboxNames(t *testing.T) {
	ts := newTestServer(t)
	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	for _, cmd := range []string{"SELECT", "EXAMINE", "CREATE", "DELETE", "SUBSCRIBE", "STATUS"} {
		suffix := ""
		if cmd == "STATUS" {
			suffix = " (MESSAGES)"
		}
		_, status := rc.cmd("%s \"!#$&'+,-.\"%s", cmd, suffix)
		if status != "NO [CANNOT] Mailbox name is not valid modified UTF-7" {
			t.Errorf("%s of a name that is not modified UTF-7: %s", cmd, status)
		}
		for _, name := range []string{"{3+}\r\na\x00b", "{3+}\r\na\x01b", `"&AAA-"`} {
			_, status = rc.cmd("%s %s%s", cmd, name, suffix)
			if !strings.HasPrefix(status, "BAD ") || !strings.Contains(status, "control characters") {
				t.Errorf("%s %q: %s", cmd, name, status)
			}
		}
	}
	_, status := rc.cmd(`RENAME INBOX "&Jjo"`)
	if !strings.HasPrefix(status, "NO [CANNOT]") {
		t.Errorf("RENAME to a name that is not modified UTF-7: %s", status)
	}
	rc.ok("NOOP")
}
