package imap

import (
	"fmt"
	"strings"
	"testing"
)

// A non-synchronizing literal over 4,096 bytes outside APPEND is refused, and its bytes, which the client sends
// without waiting, are never read as commands: the connection ends after a tagged BAD (third_party/go-imap
// PATCHES.md). Before, "SEARCH TEXT {5000+}" followed by a literal holding "c CREATE INJECTED" created the folder.
func TestDialogOversizedNonSyncLiteralRunsNothing(t *testing.T) {
	ts := newTestServer(t)
	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	payload := "x\r\nc CREATE INJECTED\r\n"
	payload += strings.Repeat("y", 5000-len(payload))
	if _, err := fmt.Fprintf(rc.c, "b SEARCH TEXT {5000+}\r\n%s\r\nd NOOP\r\n", payload); err != nil {
		t.Fatal(err)
	}
	lines := rc.readUntilClosed()
	if !containsLine(lines, "b BAD [TOOBIG]") || !containsLine(lines, "* BYE") {
		t.Errorf("replies: %q; want a tagged BAD [TOOBIG], then BYE and the end of the connection", lines)
	}
	if containsLine(lines, "c OK") || containsLine(lines, "d OK") {
		t.Errorf("commands after the refused literal ran: %q", lines)
	}
	other := dialRaw(t, ts.addr)
	other.ok("LOGIN %s %q", testUser, testPassword)
	if list := other.ok(`LIST "" "INJECTED"`); containsLine(list, "INJECTED") {
		t.Errorf("the literal's bytes ran as a command: %q", list)
	}
}

// A synchronizing literal over 4,096 bytes gets a tagged NO [TOOBIG] instead of the continuation request, and the
// session stays in step: the client sends nothing more of that command, and its next command is answered.
func TestDialogOversizedSyncLiteralKeepsTheSessionInStep(t *testing.T) {
	ts := newTestServer(t)
	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	_, status := rc.cmd("SEARCH TEXT {5000}")
	if !strings.HasPrefix(status, "NO [TOOBIG]") {
		t.Fatalf("SEARCH with a 5,000-byte literal: %q; want NO [TOOBIG] and no continuation", status)
	}
	rc.ok("CREATE Next")
	if list := rc.ok(`LIST "" "Next"`); !containsLine(list, "Next") {
		t.Errorf("the command after the refused literal was lost: %q", list)
	}
}

// Before login too: a huge literal gets its answer instead of silence.
func TestDialogHugeLiteralBeforeLogin(t *testing.T) {
	ts := newTestServer(t)
	rc := dialRaw(t, ts.addr)
	_, status := rc.cmd("LOGIN {999999999}")
	if !strings.HasPrefix(status, "NO [TOOBIG]") {
		t.Fatalf("LOGIN {999999999}: %q; want NO [TOOBIG]", status)
	}
	rc.ok("LOGIN %s %q", testUser, testPassword)
}
