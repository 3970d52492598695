package imap

import (
	"strconv"
	"strings"
	"testing"
)

// oddNumbers is a sequence set of n single numbers, "1,3,5,...".
func oddNumbers(n int) string {
	nums := make([]string, n)
	for i := range nums {
		nums[i] = strconv.Itoa(2*i + 1)
	}
	return strings.Join(nums, ",")
}

// inboxWithOneMessage logs in over a raw connection, with one message in INBOX, selected.
func inboxWithOneMessage(t *testing.T) *rawConn {
	ts := newTestServer(t)
	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	rc.ok("APPEND INBOX {9+}\r\nSubject: ")
	rc.ok("SELECT INBOX")
	return rc
}

// A command line over the library's 50 KiB limit (FETCH with 100,000 numbers) gets BAD [TOOBIG] and the session
// goes on with the next command, instead of NO [SERVERBUG] and a disconnect. A non-synchronizing literal at the
// end of such a line is skipped with it, never read as commands.
func TestDialogCommandLineTooLong(t *testing.T) {
	rc := inboxWithOneMessage(t)
	huge := oddNumbers(100_000)
	if _, status := rc.cmd("FETCH %s FLAGS", huge); !strings.HasPrefix(status, "BAD [TOOBIG]") {
		t.Errorf("FETCH with 100,000 numbers: %s", status)
	}
	rc.ok("NOOP")
	literal := "x\r\nc CREATE INJECTED\r\n"
	if _, status := rc.cmd("UID SEARCH UID %s TEXT {%d+}\r\n%s", huge, len(literal), literal); !strings.HasPrefix(status, "BAD [TOOBIG]") {
		t.Errorf("SEARCH with 100,000 numbers and a literal: %s", status)
	}
	if lines := rc.ok(`LIST "" INJECTED`); len(lines) != 0 {
		t.Errorf("the literal of a line too long ran as a command: %q", lines)
	}
	// Within the limit, a set of 8,000 numbers is served.
	if lines := rc.ok("FETCH %s FLAGS", oddNumbers(8_000)); len(lines) != 1 {
		t.Errorf("FETCH with 8,000 numbers: %q", lines)
	}
}

// Numbers in a set run from 1 to 4294967295 (RFC 9051 section 9, nz-number); others are a syntax error (BAD), not
// a server error, and the largest is served.
func TestDialogSequenceSetBounds(t *testing.T) {
	rc := inboxWithOneMessage(t)
	for _, set := range []string{"1:4294967295", "4294967295:1", "*:4294967295", "4294967295,1"} {
		for _, cmd := range []string{"FETCH", "UID FETCH"} {
			if lines := rc.ok("%s %s FLAGS", cmd, set); len(lines) != 1 {
				t.Errorf("%s %s: %q", cmd, set, lines)
			}
		}
	}
	for _, set := range []string{"1:4294967296", "0", "99999999999999999999", "1:0"} {
		if _, status := rc.cmd("UID FETCH %s FLAGS", set); !strings.HasPrefix(status, "BAD ") {
			t.Errorf("UID FETCH %s: %s", set, status)
		}
	}
	rc.ok("NOOP")
}

// SEARCH keys nested 5,000 parentheses deep are refused with BAD; 500 deep is served.
func TestDialogSearchNestedTooDeep(t *testing.T) {
	rc := inboxWithOneMessage(t)
	nested := func(depth int) string {
		return strings.Repeat("(", depth) + "ALL" + strings.Repeat(")", depth)
	}
	if _, status := rc.cmd("SEARCH %s", nested(5000)); !strings.HasPrefix(status, "BAD ") {
		t.Errorf("SEARCH nested 5,000 deep: %s", status)
	}
	if lines := rc.ok("SEARCH %s", nested(500)); !containsLine(lines, "* SEARCH 1") {
		t.Errorf("SEARCH nested 500 deep: %q", lines)
	}
	rc.ok("NOOP")
}
